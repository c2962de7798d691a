//! Aggregations, windows and the time rules (SPEC §3, §4 "Metrics"), on
//! tiny hand-made exports and small pipelines whose helper metrics expose
//! every aggregation as an output column. D = 2026-11-24 (day number 20781);
//! "day k" below means D − k. Every expectation is worked out by hand from
//! the SPEC next to it.

use crate::common;
use crate::fixture;
use common::*;
use fixture::*;
use polars::prelude::{
    Column, DataFrame, DataType, IntoColumn, NamedFrom, Series, TimeUnit, TimeZone,
};

/// The header, one scored account metric (so a scorecard exists), the
/// given helper metrics and a catch-all scorecard.
fn pipeline(metrics: &str) -> String {
    format!(
        r#"{}
[[groups]]
name = "g"

{metrics}

[[metrics]]
name = "seats_m"
group = "g"
account = "seats"
normalize = {{ linear = [0, 100] }}

[[scorecards]]
name = "all"
weights = {{ g = 1 }}
"#,
        header(&[])
    )
}

/// A helper aggregation metric.
fn agg(name: &str, table: &str, agg: &str, column: Option<&str>, extra: &str) -> String {
    let column = column
        .map(|c| format!("column = \"{c}\"\n"))
        .unwrap_or_default();
    format!(
        "[[metrics]]\nname = \"{name}\"\ntable = \"{table}\"\nagg = \"{agg}\"\n{column}{extra}\n"
    )
}

mod further_tables;
mod time;
mod windows;
