//! The pipeline file (`pipelines/*.toml`): parsed once into typed,
//! validated structs whose invariants later stages trust (weights positive,
//! bounds distinct, references resolved, derived metrics acyclic). Every
//! problem is reported with file, line and column and what to change, all at
//! once, before any data is read. The syntax is documented in
//! `docs/pipeline.md`.

mod checks;
mod metrics;
mod raw;
mod validate;

use std::collections::BTreeMap;

use polars::prelude::Expr;

use crate::error::{ConfigIssue, Error, Result};
use checks::Validator;
use raw::RawPipeline;

pub use checks::FIXED_OUTPUT_COLUMNS;
pub use validate::default_bands;

// ---------------------------------------------------------------------------
// Typed pipeline
// ---------------------------------------------------------------------------

/// A validated pipeline: everything the engine needs, nothing it must check.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// Where it was read from (for messages).
    pub file: String,
    /// The file's text, kept for the manifest and `explain`.
    pub source_text: String,
    /// sha256 of the file's bytes, hex.
    pub sha256: String,
    /// Pipeline name.
    pub name: String,
    /// Pipeline version.
    pub version: String,
    /// Run-level settings and data guards.
    pub settings: Settings,
    /// Input tables by name (only the ones the pipeline reads).
    pub sources: Vec<Source>,
    /// Account filtering and pass-through columns.
    pub accounts: AccountsSpec,
    /// Groups in declared order.
    pub groups: Vec<Group>,
    /// Metrics in declared order.
    pub metrics: Vec<Metric>,
    /// Indices into `metrics` in an order where every ratio follows its operands.
    pub eval_order: Vec<usize>,
    /// Scorecards in declared order (first match wins).
    pub scorecards: Vec<Scorecard>,
    /// Bands on the integer score, in declared order.
    pub bands: Vec<Band>,
    /// Name and colour of the band of a null score.
    pub unscored: Band,
}

/// Run settings and the data guards of SPEC §7.
#[derive(Debug, Clone)]
pub struct Settings {
    /// |score change| at or above which trend is up/down.
    pub trend_threshold: i32,
    /// Largest share of a table's rows (dated ≤ D) that may be rejected.
    pub max_rejected_share: f64,
    /// Largest share of a table's rows (dated ≤ D) that may be orphans.
    pub max_orphaned_share: f64,
    /// A table's rows_used below (1 − this) of the previous committed
    /// snapshot's is refused (a truncated or empty export); not checked on
    /// a first or rebased snapshot. 0.5 by default; 1 turns it off.
    pub max_rows_drop: f64,
    /// The lag table's latest event date must be ≥ D − this.
    pub max_lag_days: i64,
    /// The table whose freshness `max_lag_days` guards (None: no lag guard).
    pub lag_table: Option<String>,
    /// The metric whose sum is the summary's `mrr` column.
    pub summary_mrr_metric: Option<String>,
    /// Warn when the share of accounts in the lowest band moves by more than
    /// this many percentage points since the previous snapshot.
    pub lowest_band_alert_points: f64,
    /// |score_change| at or above which an account is in the changes table
    /// even when its band did not move (SPEC §11).
    pub alert_change_points: i32,
    /// h: an account keeps its previous model band while its score stays
    /// within h points outside that band (SPEC §11); 0 turns it off.
    pub band_hysteresis_points: i32,
    /// Write the long metrics table (`metrics/snapshot_date=D/`) beside the
    /// scores.
    pub metrics_table: bool,
}

/// One input table: where it lives and how its columns are named.
#[derive(Debug, Clone)]
pub struct Source {
    /// Table name (canonical for contract tables).
    pub table: String,
    /// Location relative to `--input` (a file or a folder of Parquet files).
    pub path: String,
    /// Canonical column name → the warehouse's column name.
    pub renames: BTreeMap<String, String>,
    /// The column that dates each row (None for accounts).
    pub date_column: Option<String>,
    /// Whether the table is one of SPEC §2's (its row rules apply).
    pub is_contract: bool,
}

impl Source {
    /// The warehouse's name of a canonical column.
    pub fn physical<'a>(&'a self, canonical: &'a str) -> &'a str {
        self.renames
            .get(canonical)
            .map(String::as_str)
            .unwrap_or(canonical)
    }
}

/// Account-level options: a filter and columns passed through to the output.
#[derive(Debug, Clone, Default)]
pub struct AccountsSpec {
    /// Accounts not matching are excluded (counted as `excluded_by_filter`).
    pub filter: Option<Predicate>,
    /// Extra account columns read from the accounts table.
    pub extra_columns: Vec<String>,
    /// Account columns appended after model_version in the scores table.
    pub pass_through: Vec<String>,
}

/// A group of metrics (adoption, sentiment…).
#[derive(Debug, Clone)]
pub struct Group {
    /// Group name; the output column is `<name>_score`.
    pub name: String,
    /// Playbook when the top driver's metric has none.
    pub playbook: Option<String>,
}

/// A boolean expression over columns, in SQL syntax (`segment = 'smb' and seats > 10`).
#[derive(Debug, Clone)]
pub struct Predicate {
    /// The text as written.
    pub text: String,
    /// The compiled polars expression (null counts as false).
    pub expr: Expr,
    /// The columns it reads.
    pub columns: Vec<String>,
}

/// A metric: how its raw value is computed and, if scored, how it scores.
#[derive(Debug, Clone)]
pub struct Metric {
    /// Metric name; also its raw output column.
    pub name: String,
    /// The computation.
    pub def: MetricDef,
    /// Present when the metric is scored.
    pub scoring: Option<Scoring>,
}

/// How a metric's raw value is computed.
#[derive(Debug, Clone)]
pub enum MetricDef {
    /// An aggregation over one table within a window.
    Aggregate(Box<Aggregation>),
    /// An account column, or `tenure_days`.
    Account(AccountValue),
    /// numerator / denominator as Float64; null on a null side or a 0 denominator.
    Ratio(Box<Operand>, Box<Operand>),
    /// The value of another named metric (to score it a second way, or at all).
    Same(String),
}

impl MetricDef {
    /// The aggregations this definition computes — its own, or a ratio's
    /// inline operands — with their operand slot (0 = own or numerator,
    /// 1 = denominator).
    pub fn aggregations(&self) -> Vec<(usize, &Aggregation)> {
        match self {
            MetricDef::Aggregate(a) => vec![(0, a.as_ref())],
            MetricDef::Ratio(a, b) => [a.as_ref(), b.as_ref()]
                .into_iter()
                .enumerate()
                .filter_map(|(i, o)| match o {
                    Operand::Aggregate(a) => Some((i, a.as_ref())),
                    _ => None,
                })
                .collect(),
            MetricDef::Account(_) | MetricDef::Same(_) => Vec::new(),
        }
    }

    /// The metrics this definition reads by name.
    pub fn metrics_read(&self) -> Vec<&str> {
        match self {
            MetricDef::Same(n) => vec![n.as_str()],
            MetricDef::Ratio(a, b) => [a.as_ref(), b.as_ref()]
                .into_iter()
                .filter_map(|o| match o {
                    Operand::Metric(n) => Some(n.as_str()),
                    _ => None,
                })
                .collect(),
            MetricDef::Aggregate(_) | MetricDef::Account(_) => Vec::new(),
        }
    }

    /// The account values this definition reads (its own or a ratio's inline operands).
    pub fn account_values(&self) -> Vec<&AccountValue> {
        match self {
            MetricDef::Account(v) => vec![v],
            MetricDef::Ratio(a, b) => [a.as_ref(), b.as_ref()]
                .into_iter()
                .filter_map(|o| match o {
                    Operand::Account(v) => Some(v),
                    _ => None,
                })
                .collect(),
            MetricDef::Aggregate(_) | MetricDef::Same(_) => Vec::new(),
        }
    }
}

/// An operand of a ratio.
#[derive(Debug, Clone)]
pub enum Operand {
    /// A named metric.
    Metric(String),
    /// An inline aggregation (not an output column).
    Aggregate(Box<Aggregation>),
    /// An inline account value.
    Account(AccountValue),
}

/// A value taken from the account row.
#[derive(Debug, Clone, PartialEq)]
pub enum AccountValue {
    /// A column of the accounts table.
    Column(String),
    /// D − signup_date in days.
    TenureDays,
}

/// An aggregation of one table's rows in a window.
#[derive(Debug, Clone)]
pub struct Aggregation {
    /// Source table.
    pub table: String,
    /// The function.
    pub func: AggFunc,
    /// The column aggregated (None only for `count`).
    pub column: Option<String>,
    /// Row filter (null counts as false).
    pub filter: Option<Predicate>,
    /// The window in days ending at D (None: all history up to D).
    pub window_days: Option<i64>,
    /// Shift of the window's end back from D, in days.
    pub offset_days: i64,
}

/// Aggregation functions of SPEC §4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggFunc {
    /// Sum of the column; 0 with no rows.
    Sum,
    /// Count of rows; 0 with no rows.
    Count,
    /// Count of distinct non-null values; 0 with no rows.
    CountDistinct,
    /// Mean; null with no rows.
    Mean,
    /// Minimum; null with no rows.
    Min,
    /// Maximum; null with no rows.
    Max,
    /// Value at the smallest date (ties: largest value); null with no rows.
    First,
    /// Value at the largest date (ties: largest value); null with no rows.
    Last,
    /// D minus the latest event date among the window's rows, in days (the
    /// recency of the last event); null with no rows.
    DaysSince,
}

impl AggFunc {
    /// Whether an empty window gives 0 rather than null.
    pub fn zero_when_empty(self) -> bool {
        matches!(self, AggFunc::Sum | AggFunc::Count | AggFunc::CountDistinct)
    }
}

/// How a scored metric becomes points.
#[derive(Debug, Clone)]
pub struct Scoring {
    /// Index into `Pipeline::groups`.
    pub group: usize,
    /// Weight inside its group (> 0).
    pub weight: f64,
    /// Normalisation to [0, 100].
    pub normalize: Normalize,
    /// Points when the raw value is missing (None: skip).
    pub missing: Option<f64>,
    /// Playbook when this metric is the top driver.
    pub playbook: Option<String>,
}

/// Normalisations of SPEC §4.
#[derive(Debug, Clone, PartialEq)]
pub enum Normalize {
    /// 100·clamp((x−lo)/(hi−lo), 0, 1); lo > hi means lower is better.
    Linear {
        /// Value worth 0 points.
        lo: f64,
        /// Value worth 100 points.
        hi: f64,
    },
    /// Points of the largest threshold ≤ x; the first points below it.
    Steps(Vec<(f64, f64)>),
    /// Rank within the scorecard population, ties in the customer's favour.
    Percentile {
        /// Whether higher values are better.
        higher_is_better: bool,
    },
}

/// A scorecard: which accounts it judges and how much each group counts.
#[derive(Debug, Clone)]
pub struct Scorecard {
    /// Scorecard name.
    pub name: String,
    /// Predicate; None for a catch-all.
    pub when: Option<Predicate>,
    /// Weight per group, indexed like `Pipeline::groups` (0 = not used).
    pub weights: Vec<f64>,
    /// Playbook overrides by metric or group name.
    pub playbooks: BTreeMap<String, String>,
}

/// A traffic-light band on the integer score.
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    /// Band name.
    pub name: String,
    /// Lowest score in the band.
    pub min: i32,
    /// Highest score in the band.
    pub max: i32,
    /// Colour for dashboards.
    pub color: String,
}

/// The optional table of band overrides (SPEC §11).
pub const OVERRIDES: &str = "overrides";

impl Pipeline {
    /// Whether the pipeline declares the overrides table (its scores then
    /// carry band_model and the override columns).
    pub fn has_overrides(&self) -> bool {
        self.source(OVERRIDES).is_some()
    }

    /// The playbook of scored metric `m` (scoring `s`) under scorecard
    /// `scorecard` (None: no scorecard matched): the scorecard's own for
    /// the metric, then for its group, then the metric's, then the
    /// group's (SPEC §4).
    pub fn playbook(&self, m: &Metric, s: &Scoring, scorecard: Option<usize>) -> Option<String> {
        let group = &self.groups[s.group];
        let default = s.playbook.clone().or_else(|| group.playbook.clone());
        match scorecard.map(|si| &self.scorecards[si]) {
            Some(sc) => sc
                .playbooks
                .get(&m.name)
                .or_else(|| sc.playbooks.get(&group.name))
                .cloned()
                .or(default),
            None => default,
        }
    }

    /// `<name>@<version>`, the model_version column.
    pub fn model_version(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }

    /// The source of that table.
    pub fn source(&self, table: &str) -> Option<&Source> {
        self.sources.iter().find(|s| s.table == table)
    }

    /// The metric of that name.
    pub fn metric(&self, name: &str) -> Option<&Metric> {
        self.metrics.iter().find(|m| m.name == name)
    }

    /// Scored metrics of one group, in declared order.
    pub fn group_metrics(&self, group: usize) -> impl Iterator<Item = (&Metric, &Scoring)> {
        self.metrics.iter().filter_map(move |m| match &m.scoring {
            Some(s) if s.group == group => Some((m, s)),
            _ => None,
        })
    }

    /// Reads and validates a pipeline file.
    pub fn load(path: &str) -> Result<Pipeline> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Pipeline {
            file: path.to_string(),
            issues: vec![ConfigIssue {
                line: 1,
                column: 1,
                message: format!("cannot read the pipeline file: {e}"),
            }],
        })?;
        Pipeline::parse(path, &text)
    }

    /// Validates pipeline text; `file` is used in messages.
    pub fn parse(file: &str, text: &str) -> Result<Pipeline> {
        let raw: RawPipeline = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map(|s| line_col(text, s.start)).unwrap_or((1, 1));
            Error::Pipeline {
                file: file.to_string(),
                issues: vec![ConfigIssue {
                    line,
                    column,
                    message: e.message().trim().to_string(),
                }],
            }
        })?;
        let mut v = Validator {
            text,
            issues: Vec::new(),
        };
        let pipeline = v.pipeline(file, text, raw);
        if v.issues.is_empty() {
            Ok(pipeline)
        } else {
            v.issues.sort_by_key(|i| (i.line, i.column));
            Err(Error::Pipeline {
                file: file.to_string(),
                issues: v.issues,
            })
        }
    }
}

pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map(|p| offset - p).unwrap_or(offset + 1);
    (line, column)
}
