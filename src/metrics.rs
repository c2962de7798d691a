//! Per-table aggregation: one group-by per event table computes, in a
//! single pass, every metric aggregation the pipeline declares on that
//! table (conditional aggregations over their windows and filters) together
//! with the row accounting of SPEC §7 (rows read, after as-of, rejected per
//! rule). Orphans fall out of the later join with the accounts: a group
//! whose customer_id is null or unknown is counted, never scored.

use polars::prelude::*;

use crate::config::{AggFunc, Aggregation, Pipeline};
use crate::contract::{self, Kind};
use crate::error::{Error, Result};
use crate::source::{OpenTable, DAY};

/// Rows of the group; per-table total.
pub const ROWS: &str = "__rows";
/// Rows dated after D.
pub const AFTER: &str = "__after";
/// Latest valid event day.
pub const MAX_DAY: &str = "__maxday";
/// Earliest valid event day.
pub const MIN_DAY: &str = "__minday";

/// Column holding the nulls of one optional (nullable) contract column
/// among the valid rows.
pub fn nulls_column(column: &str) -> String {
    format!("__nulls_{column}")
}

/// The optional (nullable) contract columns a table reads, in contract
/// order: their null shares are reported, never rejected.
pub fn optional_columns(table: &str, columns: &[(String, Kind)]) -> Vec<String> {
    contract::table(table)
        .map(|t| {
            t.columns
                .iter()
                .filter(|c| c.nullable && columns.iter().any(|(n, _)| n == c.name))
                .map(|c| c.name.to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Column holding rejected-row counts for one rule.
pub fn rule_column(rule: &str) -> String {
    format!("__rej_{rule}")
}

/// Column of one aggregation: metric index and operand slot (0 = the
/// metric's own aggregation or a ratio's numerator, 1 = the denominator).
pub fn agg_column(metric: usize, slot: usize) -> String {
    format!("__agg_{metric}_{slot}")
}

/// Whether `c` is none of `values` (null stays null): comparisons of the
/// text's views with constants, where `is_in` hashes every row.
fn none_of(c: Expr, values: &[&str]) -> Expr {
    values
        .iter()
        .map(|v| c.clone().neq(lit(*v)))
        .reduce(Expr::and)
        .unwrap_or_else(|| lit(true))
}

/// The row rules of a table, in the order of SPEC §7 (after the orphan
/// checks): `null_<column>` in column order, then the value rules.
pub fn row_rules(
    table: &str,
    columns: &[(String, Kind)],
    date_column: Option<&str>,
) -> Vec<(String, Expr)> {
    let mut rules: Vec<(String, Expr)> = Vec::new();
    let has = |c: &str| columns.iter().any(|(n, _)| n == c);
    match contract::table(table) {
        Some(t) => {
            for c in t.columns {
                if c.name != "customer_id" && !c.nullable && has(c.name) {
                    rules.push((format!("null_{}", c.name), col(c.name).is_null()));
                }
            }
            for c in t.columns {
                let numeric = matches!(c.kind, Kind::Int | Kind::Float) && !c.nullable;
                if numeric && c.name != "score" && has(c.name) {
                    rules.push((format!("negative_{}", c.name), col(c.name).lt(lit(0))));
                }
            }
            if table == "survey_responses" {
                let kind = col("kind");
                let score = col("score");
                rules.push((
                    "nps_out_of_range".into(),
                    kind.clone()
                        .eq(lit("nps"))
                        .and(score.clone().lt(lit(0)).or(score.clone().gt(lit(10)))),
                ));
                rules.push((
                    "csat_out_of_range".into(),
                    kind.clone()
                        .eq(lit("csat"))
                        .and(score.clone().lt(lit(1)).or(score.gt(lit(5)))),
                ));
                rules.push(("unknown_kind".into(), none_of(kind, &["nps", "csat"])));
            }
            if table == "support_tickets" {
                rules.push((
                    "unknown_priority".into(),
                    none_of(col("priority"), &["low", "normal", "high", "urgent"]),
                ));
            }
        }
        None => {
            if let Some(d) = date_column {
                rules.push((format!("null_{d}"), col(DAY).is_null()));
            }
        }
    }
    rules
}

/// The first rule each row breaks, as a 1-based code (0 = valid). Only
/// meaningful for rows dated on or before D.
pub(crate) fn rule_code(rules: &[(String, Expr)]) -> Expr {
    let mut it = rules.iter().enumerate().rev();
    let mut expr = lit(0u8);
    for (i, (_, cond)) in &mut it {
        expr = when(cond.clone().fill_null(lit(false)))
            .then(lit((i + 1) as u8))
            .otherwise(expr);
    }
    expr
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

/// Names of the rules of a table, in order.
pub fn rule_names(p: &Pipeline, t: &OpenTable) -> Vec<String> {
    let date = p.source(&t.table).and_then(|s| s.date_column.as_deref());
    row_rules(&t.table, &t.columns, date)
        .into_iter()
        .map(|(n, _)| n)
        .collect()
}
