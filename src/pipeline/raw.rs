//! The pipeline file's TOML as written: serde structs that keep every
//! value's span, so the validator can name the line of a mistake.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// The whole pipeline file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPipeline {
    pub(super) pipeline: RawHeader,
    #[serde(default)]
    pub(super) settings: RawSettings,
    pub(super) sources: BTreeMap<String, Spanned<RawSource>>,
    #[serde(default)]
    pub(super) accounts: RawAccounts,
    pub(super) groups: Vec<Spanned<RawGroup>>,
    pub(super) metrics: Vec<Spanned<RawMetric>>,
    pub(super) scorecards: Vec<Spanned<RawScorecard>>,
    #[serde(default)]
    pub(super) bands: Option<Vec<Spanned<RawBand>>>,
}

/// `[pipeline]`: name, version and an optional description.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHeader {
    pub(super) name: Spanned<String>,
    pub(super) version: Spanned<toml::Value>,
    #[serde(default)]
    #[allow(dead_code)]
    pub(super) description: Option<String>,
}

/// `[settings]`: run settings and data guards, all optional.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSettings {
    pub(super) trend_threshold: Option<Spanned<i64>>,
    pub(super) max_rejected_share: Option<Spanned<f64>>,
    pub(super) max_orphaned_share: Option<Spanned<f64>>,
    pub(super) max_rows_drop: Option<Spanned<f64>>,
    pub(super) max_lag_days: Option<Spanned<i64>>,
    pub(super) lag_table: Option<Spanned<String>>,
    pub(super) summary_mrr_metric: Option<Spanned<String>>,
    pub(super) lowest_band_alert_points: Option<Spanned<f64>>,
    pub(super) alert_change_points: Option<Spanned<i64>>,
    pub(super) band_hysteresis_points: Option<Spanned<i64>>,
    pub(super) metrics_table: Option<bool>,
    pub(super) unscored_band: Option<String>,
    pub(super) unscored_color: Option<String>,
}

/// `[sources.<table>]`: where a table lives and how its columns are named.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSource {
    pub(super) path: String,
    #[serde(default)]
    pub(super) columns: BTreeMap<String, String>,
    pub(super) date: Option<String>,
}

/// `[accounts]`: account filter, extra and pass-through columns.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAccounts {
    pub(super) filter: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) extra_columns: Vec<String>,
    #[serde(default)]
    pub(super) pass_through: Vec<Spanned<String>>,
}

/// One `[[groups]]` entry.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGroup {
    pub(super) name: Spanned<String>,
    pub(super) playbook: Option<String>,
}

/// The aggregation keys of a metric or an inline ratio operand, with spans.
#[derive(Default, Clone)]
pub(super) struct RawAgg {
    pub(super) table: Option<Spanned<String>>,
    pub(super) agg: Option<Spanned<String>>,
    pub(super) column: Option<Spanned<String>>,
    pub(super) filter: Option<Spanned<String>>,
    pub(super) window_days: Option<Spanned<i64>>,
    pub(super) offset_days: Option<Spanned<i64>>,
    pub(super) account: Option<Spanned<String>>,
}

/// An inline ratio operand. Spans are not available inside arrays, so its
/// errors point at the `ratio` key.
#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub(super) struct RawInline {
    pub(super) table: Option<String>,
    pub(super) agg: Option<String>,
    pub(super) column: Option<String>,
    pub(super) filter: Option<String>,
    pub(super) window_days: Option<i64>,
    pub(super) offset_days: Option<i64>,
    pub(super) account: Option<String>,
}

impl RawInline {
    /// The operand as a [`RawAgg`] whose every value has the span `at`.
    pub(super) fn spanned(self, at: std::ops::Range<usize>) -> RawAgg {
        let sp = |v: Option<String>| v.map(|v| Spanned::new(at.clone(), v));
        RawAgg {
            table: sp(self.table),
            agg: sp(self.agg),
            column: sp(self.column),
            filter: sp(self.filter),
            window_days: self.window_days.map(|v| Spanned::new(at.clone(), v)),
            offset_days: self.offset_days.map(|v| Spanned::new(at.clone(), v)),
            account: sp(self.account),
        }
    }
}

/// A ratio operand as written.
pub(super) enum RawOperand {
    /// A metric name.
    Name(Spanned<String>),
    /// An inline table (`{ table = …, agg = … }` or `{ account = … }`).
    Inline(Box<RawAgg>),
}

/// One `[[metrics]]` entry.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMetric {
    pub(super) name: Spanned<String>,
    pub(super) group: Option<Spanned<String>>,
    pub(super) weight: Option<Spanned<f64>>,
    pub(super) table: Option<Spanned<String>>,
    pub(super) agg: Option<Spanned<String>>,
    pub(super) column: Option<Spanned<String>>,
    pub(super) filter: Option<Spanned<String>>,
    pub(super) window_days: Option<Spanned<i64>>,
    pub(super) offset_days: Option<Spanned<i64>>,
    pub(super) account: Option<Spanned<String>>,
    pub(super) ratio: Option<Spanned<Vec<toml::Value>>>,
    pub(super) from: Option<Spanned<String>>,
    pub(super) normalize: Option<Spanned<RawNormalize>>,
    pub(super) missing: Option<Spanned<RawMissing>>,
    pub(super) playbook: Option<String>,
}

/// A metric's `normalize` table: one of linear, steps or percentile.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNormalize {
    pub(super) linear: Option<[f64; 2]>,
    pub(super) steps: Option<Vec<[f64; 2]>>,
    pub(super) percentile: Option<String>,
}

/// A metric's `missing`: a policy name or a number of points.
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum RawMissing {
    /// skip, neutral, worst or best.
    Policy(String),
    /// Points between 0 and 100.
    Points(f64),
}

/// One `[[scorecards]]` entry.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawScorecard {
    pub(super) name: Spanned<String>,
    pub(super) when: Option<Spanned<String>>,
    pub(super) weights: Spanned<BTreeMap<String, Spanned<f64>>>,
    #[serde(default)]
    pub(super) playbooks: BTreeMap<String, String>,
}

/// One `[[bands]]` entry.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBand {
    pub(super) name: Spanned<String>,
    pub(super) min: Spanned<i64>,
    pub(super) max: Spanned<i64>,
    pub(super) color: String,
}
