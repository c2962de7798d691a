//! SPEC §7 row rules: which rows of a table are rejected and under which
//! rule (the first one broken, in the SPEC's order), as polars
//! expressions, and the names of the columns the accounting counts them in.

use polars::prelude::*;

use crate::contract::{self, Kind};
use crate::input::{OpenTable, DAY};
use crate::pipeline::Pipeline;

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

/// Whether `c` is none of `values` (null stays null): comparisons of the
/// text's views with constants, where `is_in` hashes every row.
pub fn none_of(c: Expr, values: &[&str]) -> Expr {
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
pub fn rule_code(rules: &[(String, Expr)]) -> Expr {
    let mut it = rules.iter().enumerate().rev();
    let mut expr = lit(0u8);
    for (i, (_, cond)) in &mut it {
        expr = when(cond.clone().fill_null(lit(false)))
            .then(lit((i + 1) as u8))
            .otherwise(expr);
    }
    expr
}

/// Names of the rules of a table, in order.
pub fn rule_names(p: &Pipeline, t: &OpenTable) -> Vec<String> {
    let date = p.source(&t.table).and_then(|s| s.date_column.as_deref());
    row_rules(&t.table, &t.columns, date)
        .into_iter()
        .map(|(n, _)| n)
        .collect()
}
