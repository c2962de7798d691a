//! The metrics' stages: one grouped aggregation per event table (every
//! aggregation of the pipeline on it, as conditional aggregates over its
//! window and filter: `aggregate::expr`'s semantics), the accepted accounts
//! beside them, then the raw value of every metric (SPEC §4), a level of
//! dependencies at a time.

use super::expr;
use super::inputs::{event_sources, rows_view, DAY_COL, VALID};
use super::{Ctx, Script};
use crate::contract::TENURE_DAYS;
use crate::error::Result;
use crate::pipeline::{AccountValue, AggFunc, Aggregation, Metric, MetricDef, Operand};

/// Column of one aggregation: metric index and operand slot (0 = own or
/// numerator, 1 = denominator).
pub(super) fn agg_col(metric: usize, slot: usize) -> String {
    format!("agg_{metric}_{slot}")
}

/// The view holding every metric's raw value beside the account columns.
pub(super) const RAW_VIEW: &str = "hs_raw";

/// Writes the aggregation views, hs_wide and the raw-value views.
pub(super) fn write(ctx: &Ctx, script: &mut Script) -> Result<()> {
    for s in event_sources(ctx) {
        table_aggregates(ctx, script, &s.table)?;
    }
    wide(ctx, script);
    raw_values(ctx, script)
}

/// A short description of an aggregation, for comments.
fn describe(a: &Aggregation) -> String {
    let func = format!("{:?}", a.func).to_lowercase();
    let column = a.column.as_deref().unwrap_or("rows");
    let window = match a.window_days {
        Some(n) if a.offset_days > 0 => format!("{n} days ending {} days before D", a.offset_days),
        Some(n) => format!("{n} days ending at D"),
        None if a.offset_days > 0 => format!("all days through D - {}", a.offset_days),
        None => "all days through D".into(),
    };
    let filtered = if a.filter.is_some() { ", filtered" } else { "" };
    format!("{func}({}.{column}) over {window}{filtered}", a.table)
}

/// The SQL aggregate of one aggregation over the valid rows of its table
/// (a DOUBLE; null where `run` gives null, before the empty-window zero).
fn aggregate_sql(ctx: &Ctx, a: &Aggregation) -> Result<String> {
    let through = ctx.day - a.offset_days;
    let mut cond = vec![format!("{DAY_COL} <= {through}")];
    if let Some(n) = a.window_days {
        cond.push(format!("{DAY_COL} > {}", through - n));
    }
    if let Some(f) = &a.filter {
        cond.push(expr::predicate(
            ctx.d,
            ctx.p,
            f,
            &format!("{} filter", a.table),
        )?);
    }
    let cond = cond.join(" AND ");
    let v = match &a.column {
        Some(c) => ctx.q(c),
        None => DAY_COL.to_string(),
    };
    let masked = format!("CASE WHEN {cond} THEN {v} END");
    let e = match a.func {
        AggFunc::Count => format!("count(CASE WHEN {cond} THEN 1 END)"),
        AggFunc::Sum => format!("sum({masked})"),
        AggFunc::CountDistinct => format!("count(DISTINCT {masked})"),
        AggFunc::Mean => format!("avg({masked})"),
        AggFunc::Min => format!("min({masked})"),
        AggFunc::Max => format!("max({masked})"),
        AggFunc::DaysSince => {
            format!("{} - max(CASE WHEN {cond} THEN {DAY_COL} END)", ctx.day)
        }
        // The row of the latest (earliest) date, of those its largest
        // value: the largest (date, value) pair, or the smallest
        // (date, −value) one.
        AggFunc::Last => {
            let pair = ctx.d.pair(DAY_COL, &format!("CAST({v} AS DOUBLE)"));
            format!("max(CASE WHEN {cond} AND {v} IS NOT NULL THEN {pair} END).v")
        }
        AggFunc::First => {
            let pair = ctx.d.pair(DAY_COL, &format!("-CAST({v} AS DOUBLE)"));
            format!("-(min(CASE WHEN {cond} AND {v} IS NOT NULL THEN {pair} END).v)")
        }
    };
    Ok(format!("CAST({e} AS DOUBLE)"))
}

/// The view of a table's aggregates.
fn agg_view(ctx: &Ctx, table: &str) -> String {
    ctx.q(&format!("hs_agg_{table}"))
}

/// One table's aggregates per customer_id.
fn table_aggregates(ctx: &Ctx, script: &mut Script, table: &str) -> Result<()> {
    let mut list = vec!["customer_id".to_string()];
    for (mi, m) in ctx.p.metrics.iter().enumerate() {
        for (slot, a) in m.def.aggregations() {
            if a.table != table {
                continue;
            }
            let role = match (&m.def, slot) {
                (MetricDef::Ratio(..), 0) => " (numerator)",
                (MetricDef::Ratio(..), _) => " (denominator)",
                _ => "",
            };
            list.push(format!(
                "-- {}{role}: {}\n    {} AS {}",
                expr::comment_text(&m.name),
                expr::comment_text(&describe(a)),
                aggregate_sql(ctx, a)?,
                agg_col(mi, slot)
            ));
        }
    }
    script.view(
        &agg_view(ctx, table),
        &[format!(
            "{table}: every aggregation of the pipeline over its valid rows, per account."
        )],
        &format!(
            "SELECT\n    {}\nFROM {}\nWHERE {VALID}\nGROUP BY customer_id",
            list.join(",\n    "),
            rows_view(ctx, table)
        ),
    );
    Ok(())
}

/// hs_wide: the accepted accounts beside their aggregates (sum, count and
/// count_distinct of an empty window are 0).
fn wide(ctx: &Ctx, script: &mut Script) {
    let mut list = vec!["a.*".to_string()];
    let mut joins = Vec::new();
    for (ti, s) in event_sources(ctx).into_iter().enumerate() {
        joins.push(format!(
            "LEFT JOIN {} AS t{ti} ON t{ti}.customer_id = a.customer_id",
            agg_view(ctx, &s.table)
        ));
        for (mi, m) in ctx.p.metrics.iter().enumerate() {
            for (slot, a) in m.def.aggregations() {
                if a.table != s.table {
                    continue;
                }
                let c = format!("t{ti}.{}", agg_col(mi, slot));
                let e = if a.func.zero_when_empty() {
                    format!("coalesce({c}, 0.0e0)")
                } else {
                    c
                };
                list.push(format!("{e} AS {}", agg_col(mi, slot)));
            }
        }
    }
    script.view(
        "hs_wide",
        &["Accepted accounts with their aggregates (empty sum, count, count_distinct: 0).".into()],
        &format!(
            "SELECT\n    {}\nFROM hs_accounts AS a\n{}",
            list.join(",\n    "),
            joins.join("\n")
        ),
    );
}

/// An account value as a DOUBLE.
fn account_value(ctx: &Ctx, v: &AccountValue) -> String {
    match v {
        AccountValue::TenureDays => format!("CAST({} AS DOUBLE)", ctx.q(TENURE_DAYS)),
        AccountValue::Column(c) => format!("CAST({} AS DOUBLE)", ctx.q(c)),
    }
}

fn operand(ctx: &Ctx, metric: usize, slot: usize, o: &Operand) -> String {
    match o {
        Operand::Metric(n) => ctx.q(n),
        Operand::Aggregate(_) => agg_col(metric, slot),
        Operand::Account(v) => account_value(ctx, v),
    }
}

/// The raw value of metric `index`: a DOUBLE, null where missing.
fn raw_value(ctx: &Ctx, index: usize, m: &Metric) -> String {
    let d = ctx.d;
    match &m.def {
        MetricDef::Aggregate(_) => d.finite(&agg_col(index, 0)),
        MetricDef::Account(v) => d.finite(&account_value(ctx, v)),
        MetricDef::Same(n) => d.finite(&ctx.q(n)),
        MetricDef::Ratio(a, b) => {
            let num = operand(ctx, index, 0, a);
            let den = operand(ctx, index, 1, b);
            format!(
                "CASE WHEN {num} IS NULL OR {den} IS NULL OR {den} = 0 THEN NULL\n         ELSE {} END",
                d.finite(&format!("{num} / {den}"))
            )
        }
    }
}

/// The metrics (positions) by the longest chain of metrics they read, as
/// `score::raw_value_levels`.
fn levels(ctx: &Ctx) -> Vec<Vec<usize>> {
    let p = ctx.p;
    let position = |name: &str| p.metrics.iter().position(|m| m.name == name);
    let mut level = vec![0usize; p.metrics.len()];
    let mut levels: Vec<Vec<usize>> = Vec::new();
    for &i in &p.eval_order {
        level[i] = p.metrics[i]
            .def
            .metrics_read()
            .into_iter()
            .filter_map(position)
            .map(|j| level[j] + 1)
            .max()
            .unwrap_or(0);
        if levels.len() <= level[i] {
            levels.resize_with(level[i] + 1, Vec::new);
        }
        levels[level[i]].push(i);
    }
    for l in &mut levels {
        l.sort_unstable();
    }
    levels
}

/// hs_raw_<n> for each level of metrics, then hs_raw (the last).
fn raw_values(ctx: &Ctx, script: &mut Script) -> Result<()> {
    let levels = levels(ctx);
    let mut from = "hs_wide".to_string();
    for (n, level) in levels.iter().enumerate() {
        let mut list = vec!["*".to_string()];
        for &i in level {
            let m = &ctx.p.metrics[i];
            list.push(format!(
                "-- metric {}\n    {} AS {}",
                expr::comment_text(&m.name),
                raw_value(ctx, i, m),
                ctx.q(&m.name)
            ));
        }
        let name = format!("hs_raw_{n}");
        script.view(
            &name,
            &[format!(
                "Raw metric values (SPEC §4, null when missing){}.",
                if n == 0 {
                    String::new()
                } else {
                    format!(", level {n}: metrics reading those of level {}", n - 1)
                }
            )],
            &format!("SELECT\n    {}\nFROM {from}", list.join(",\n    ")),
        );
        from = name;
    }
    script.view(
        RAW_VIEW,
        &["Every account with every metric's raw value.".into()],
        &format!("SELECT * FROM {from}"),
    );
    Ok(())
}
