//! One pipeline over all dates ([`backtest_model`]) and the report's types:
//! the figures per date, per scorecard and pooled, and the whole report.

use chrono::NaiveDate;
use polars::prelude::*;
use serde::Serialize;

use super::labels::{join_labels, LabelsInfo};
use super::measures::{evaluate, Ctx, Eval};
use super::weights::toml_fragment;
use super::weights::{suggest_weights, WeightSuggestion};
use super::{pl, Options, SCORECARD};
use crate::aggregate::range::{Inputs, RangeReader};
use crate::error::{Error, Result};
use crate::input::accounting::check_guards;
use crate::pipeline::Pipeline;
use crate::progress::StageTimes;

/// Counts of one date.
#[derive(Debug, Clone, Serialize)]
pub struct DateCounts {
    /// The as-of date.
    pub as_of: String,
    /// Accounts scored that had already churned (left out).
    pub already_churned: usize,
}

/// One scorecard's figures.
#[derive(Debug, Clone, Serialize)]
pub struct ScorecardEval {
    /// Scorecard name.
    pub scorecard: String,
    /// Its figures.
    #[serde(flatten)]
    pub eval: Eval,
}

/// One date's figures.
#[derive(Debug, Clone, Serialize)]
pub struct DateEval {
    /// The as-of date.
    pub as_of: String,
    /// Accounts scored that had already churned (left out).
    pub already_churned: usize,
    /// All accounts.
    pub all: Eval,
    /// Per scorecard.
    pub by_scorecard: Vec<ScorecardEval>,
}

/// Everything measured for one pipeline.
#[derive(Debug, Clone, Serialize)]
pub struct ModelReport {
    /// `<name>@<version>`.
    pub model_version: String,
    /// The pipeline file.
    pub pipeline_file: String,
    /// Its sha256.
    pub pipeline_sha256: String,
    /// Bands counted as an alert for lead time.
    pub alert_bands: Vec<String>,
    /// All dates pooled, all accounts.
    pub pooled: Eval,
    /// All dates pooled, per scorecard.
    pub by_scorecard: Vec<ScorecardEval>,
    /// Per date.
    pub per_date: Vec<DateEval>,
    /// Suggested weights per scorecard.
    pub weights: Vec<WeightSuggestion>,
    /// The suggestions as a TOML fragment.
    pub toml: String,
}

/// The figures of `df` per scorecard of `p`.
fn by_scorecard(p: &Pipeline, df: &DataFrame, ctx: &Ctx) -> Result<Vec<ScorecardEval>> {
    p.scorecards
        .iter()
        .map(|sc| {
            let sub = df
                .clone()
                .lazy()
                .filter(col(SCORECARD).eq(lit(sc.name.as_str())))
                .collect()
                .map_err(pl("per scorecard"))?;
            Ok(ScorecardEval {
                scorecard: sc.name.clone(),
                eval: evaluate(&sub, ctx)?,
            })
        })
        .collect()
}

/// Tells which backtest date an error happened at.
fn at_date(d: NaiveDate) -> impl Fn(Error) -> Error {
    move |e| e.at(&format!("backtest date {d}"))
}

/// Scores every date with `p` and measures it against the labels.
pub fn backtest_model(
    p: &Pipeline,
    inputs: &Inputs,
    labels: &DataFrame,
    alert: &[String],
    opts: &Options,
) -> Result<ModelReport> {
    let ctx = Ctx { p, alert };
    let mut frames = Vec::new();
    let mut per_date = Vec::new();
    // Shared inputs are read once for every date; each date aggregates
    // its windows' rows from memory, as `run --from/--to` does.
    let mut reader = RangeReader::new(opts.dates.len());
    for &d in &opts.dates {
        let t = std::time::Instant::now();
        let checked = reader
            .aggregate(p, inputs, d, StageTimes::default())
            .and_then(|c| check_guards(p, &c.counts, d).map(|()| c))
            .map_err(at_date(d))?;
        let scores = crate::score::plan::score_accounts(p, &checked, None).map_err(at_date(d))?;
        let df = join_labels(p, &scores, labels, d, opts.horizon_days)?;
        tracing::info!(
            stage = "backtest",
            model = p.model_version(),
            as_of = d.to_string(),
            rows = df.frame.height() as u64,
            duration_ms = t.elapsed().as_millis() as u64,
            "date scored"
        );
        per_date.push(DateEval {
            as_of: d.to_string(),
            already_churned: df.already_churned,
            all: evaluate(&df.frame, &ctx)?,
            by_scorecard: by_scorecard(p, &df.frame, &ctx)?,
        });
        frames.push(df.frame.lazy());
    }
    let pooled = concat(frames, UnionArgs::default())
        .and_then(|lf| lf.collect())
        .map_err(pl("pooling dates"))?;
    let t = std::time::Instant::now();
    let pooled_eval = evaluate(&pooled, &ctx)?;
    let pooled_by_scorecard = by_scorecard(p, &pooled, &ctx)?;
    tracing::info!(
        stage = "backtest-pooled",
        model = p.model_version(),
        rows = pooled.height() as u64,
        duration_ms = t.elapsed().as_millis() as u64,
        "all dates measured"
    );
    let t = std::time::Instant::now();
    let weights = suggest_weights(p, &pooled, &opts.dates, opts.l2)?;
    tracing::info!(
        stage = "backtest-weights",
        model = p.model_version(),
        duration_ms = t.elapsed().as_millis() as u64,
        "weights fitted"
    );
    let toml = toml_fragment(p, &weights, opts);
    Ok(ModelReport {
        model_version: p.model_version(),
        pipeline_file: p.file.clone(),
        pipeline_sha256: p.sha256.clone(),
        alert_bands: alert.to_vec(),
        pooled: pooled_eval,
        by_scorecard: pooled_by_scorecard,
        per_date,
        weights,
        toml,
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Tool and version.
    pub tool: String,
    /// The input folder.
    pub input: String,
    /// The labels read.
    pub labels: LabelsInfo,
    /// The as-of dates.
    pub dates: Vec<String>,
    /// Step between dates.
    pub every_days: i64,
    /// Churn horizon.
    pub horizon_days: i64,
    /// L2 penalty of the weight fit.
    pub l2: f64,
    /// One entry per pipeline (the second is --compare).
    pub models: Vec<ModelReport>,
    /// --compare: differences.
    pub compare: Option<Comparison>,
    /// Caveats worth reading.
    pub notes: Vec<String>,
}

/// One figure of both models.
#[derive(Debug, Clone, Serialize)]
pub struct Diff {
    /// What is compared.
    pub figure: String,
    /// The first pipeline's value.
    pub baseline: Option<f64>,
    /// The --compare pipeline's value.
    pub candidate: Option<f64>,
    /// candidate − baseline.
    pub difference: Option<f64>,
}

/// `--compare`: the second pipeline against the first.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// The first pipeline.
    pub baseline: String,
    /// The second.
    pub candidate: String,
    /// Pooled figures side by side.
    pub figures: Vec<Diff>,
}
