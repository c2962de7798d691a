//! Per-table aggregation: one group-by per event table computes, in a
//! single pass, every metric aggregation the pipeline declares on that
//! table (conditional aggregations over their windows and filters) together
//! with the row accounting of SPEC §7 (rows read, after as-of, rejected per
//! rule). Orphans fall out of the later join with the accounts: a group
//! whose customer_id is null or unknown is counted, never scored.

use polars::prelude::*;

use crate::error::{Error, Result};
use crate::input::rules::{
    nulls_column, optional_columns, row_rules, rule_code, rule_column, AFTER, MAX_DAY, MIN_DAY,
    ROWS,
};
use crate::input::{OpenTable, DAY};
use crate::pipeline::{AggFunc, Aggregation, Pipeline};

/// Column of one aggregation: metric index and operand slot (0 = the
/// metric's own aggregation or a ratio's numerator, 1 = the denominator).
pub fn agg_column(metric: usize, slot: usize) -> String {
    format!("__agg_{metric}_{slot}")
}

/// The days of an aggregation's window (SPEC §3): after the first day
/// (None: no lower bound) and through the second.
pub(crate) fn window_bounds(a: &Aggregation, as_of: i32) -> (Option<i64>, i64) {
    let through = as_of as i64 - a.offset_days;
    (a.window_days.map(|n| through - n), through)
}

/// The window of an aggregation on `__day` (null days: null).
pub(crate) fn window_condition(a: &Aggregation, as_of: i32) -> Expr {
    let (after, through) = window_bounds(a, as_of);
    let mut cond = col(DAY).lt_eq(lit(through as i32));
    if let Some(after) = after {
        cond = cond.and(col(DAY).gt(lit(after as i32)));
    }
    cond
}

/// The aggregation expression, over rows where `valid` holds.
fn aggregation_expr(a: &Aggregation, valid: Expr, as_of: i32) -> Expr {
    let mut cond = valid.and(window_condition(a, as_of));
    if let Some(f) = &a.filter {
        cond = cond.and(f.expr.clone().fill_null(lit(false)));
    }
    let value = || col(a.column.as_deref().unwrap_or(DAY));
    // Row-wise masking then a plain aggregation: vectorised, and streamable.
    let masked = || when(cond.clone()).then(value()).otherwise(lit(NULL));
    match a.func {
        AggFunc::Count => cond.cast(DataType::Int64).sum(),
        AggFunc::Sum => masked().sum(),
        AggFunc::CountDistinct => {
            // n_unique counts null as a value; masked rows are null.
            let m = masked();
            m.clone().n_unique().cast(DataType::Int64)
                - m.null_count().gt(lit(0)).cast(DataType::Int64)
        }
        AggFunc::Mean => masked().mean(),
        AggFunc::Min => masked().min(),
        AggFunc::DaysSince => {
            let latest = when(cond).then(col(DAY)).otherwise(lit(NULL)).max();
            lit(f64::from(as_of)) - latest.cast(DataType::Float64)
        }
        AggFunc::Max => masked().max(),
        // The date of the first/last row; its value is taken by `edge_values`.
        AggFunc::First | AggFunc::Last => {
            let days = when(cond.and(value().is_not_null()))
                .then(col(DAY))
                .otherwise(lit(NULL));
            if a.func == AggFunc::First {
                days.min()
            } else {
                days.max()
            }
        }
    }
    .cast(DataType::Float64)
}

/// One table's group-by: counts and every aggregation of the pipeline on it.
pub fn aggregate_table(p: &Pipeline, t: &OpenTable, as_of: i32) -> Result<LazyFrame> {
    let source = p
        .source(&t.table)
        .ok_or_else(|| Error::Internal(format!("no source for {}", t.table)))?;
    let rules = row_rules(&t.table, &t.columns, source.date_column.as_deref());
    let after = col(DAY).gt(lit(as_of)).fill_null(lit(false));
    let code = col("__code");
    let valid = after.clone().not().and(code.clone().eq(lit(0u8)));
    let mut aggs: Vec<Expr> = vec![
        len().cast(DataType::Int64).alias(ROWS),
        after.clone().cast(DataType::Int64).sum().alias(AFTER),
        when(valid.clone())
            .then(col(DAY))
            .otherwise(lit(NULL))
            .max()
            .alias(MAX_DAY),
        when(valid.clone())
            .then(col(DAY))
            .otherwise(lit(NULL))
            .min()
            .alias(MIN_DAY),
    ];
    for c in optional_columns(&t.table, &t.columns) {
        aggs.push(
            valid
                .clone()
                .and(col(c.as_str()).is_null())
                .cast(DataType::Int64)
                .sum()
                .alias(nulls_column(&c)),
        );
    }
    for (i, (rule, _)) in rules.iter().enumerate() {
        aggs.push(
            after
                .clone()
                .not()
                .and(code.clone().eq(lit((i + 1) as u8)))
                .cast(DataType::Int64)
                .sum()
                .alias(rule_column(rule)),
        );
    }
    for (mi, m) in p.metrics.iter().enumerate() {
        for (slot, a) in m.def.aggregations() {
            if a.table == t.table {
                aggs.push(aggregation_expr(a, valid.clone(), as_of).alias(agg_column(mi, slot)));
            }
        }
    }
    let rows = t
        .frame
        .clone()
        .with_column(rule_code(&rules).alias("__code"));
    let grouped = rows.clone().group_by([col("customer_id")]).agg(aggs);
    Ok(edge_values(p, t, rows, grouped, valid, as_of))
}

/// first/last: the group-by found each account's first/last date (in the
/// aggregation's own column); a second pass over the rows on that date
/// takes their largest value (SPEC §4 tie rule) and replaces the date.
/// Two plain aggregations and a join are much cheaper than a filter with a
/// nested aggregation inside the group-by.
fn edge_values(
    p: &Pipeline,
    t: &OpenTable,
    rows: LazyFrame,
    mut grouped: LazyFrame,
    valid: Expr,
    as_of: i32,
) -> LazyFrame {
    for (mi, m) in p.metrics.iter().enumerate() {
        for (slot, a) in m.def.aggregations() {
            if a.table != t.table || !matches!(a.func, AggFunc::First | AggFunc::Last) {
                continue;
            }
            let name = agg_column(mi, slot);
            let v = col(a.column.as_deref().unwrap_or(DAY));
            let mut cond = valid
                .clone()
                .and(window_condition(a, as_of))
                .and(v.clone().is_not_null());
            if let Some(f) = &a.filter {
                cond = cond.and(f.expr.clone().fill_null(lit(false)));
            }
            let edge = grouped
                .clone()
                .select([col("customer_id"), col(name.as_str()).alias("__edge")]);
            let values = rows
                .clone()
                .filter(cond)
                .select([col("customer_id"), col(DAY), v.alias("__value")])
                .join(
                    edge,
                    [col("customer_id")],
                    [col("customer_id")],
                    JoinArgs::new(JoinType::Inner),
                )
                .filter(col(DAY).eq(col("__edge")))
                .group_by([col("customer_id")])
                .agg([col("__value")
                    .max()
                    .cast(DataType::Float64)
                    .alias("__edge_value")]);
            grouped = grouped
                .join(
                    values,
                    [col("customer_id")],
                    [col("customer_id")],
                    JoinArgs::new(JoinType::Left),
                )
                .with_column(col("__edge_value").alias(name.as_str()))
                .drop(cols(["__edge_value"]));
        }
    }
    grouped
}
