//! `healthscore backtest`: how well the score foresaw churn, and which group
//! weights would have foreseen it better.
//!
//! For every as-of date D of a range, the pipeline scores all accounts in
//! memory exactly as `run` would for D (rows dated after D are ignored, so a
//! past date reproduces that day's scores; nothing is written), and the
//! scores are joined with `churn_labels`: an account is a *churner* at D
//! when one of its `churned_on` dates falls in (D, D + horizon]; an account
//! with a `churned_on` on or before D has already left and is left out.
//!
//! Measured per date and pooled over all dates, for all accounts and per
//! scorecard: ROC AUC of the score (lower score = riskier; the rank-based
//! Mann-Whitney statistic, ties counting one half), churn rate per band,
//! lift and capture of the lowest-scored decile (accounts tied at the cut
//! enter in proportion), median lead time (days from a churner's first
//! alert-band score to its churn, over the dates scored), and the AUC of
//! each group's and each metric's points on their own.
//!
//! Group weights are then fitted per scorecard on the outcomes: a logistic
//! regression of churn on each group's "risk" (1 − points/100; a missing
//! group takes the scorecard's mean points), L2-regularised, coefficients
//! constrained non-negative (projected Newton steps), rescaled to integer
//! weights summing to 100. They are validated out of time (fitted on the
//! earlier half of the dates, scored like the pipeline would on the later
//! half) and printed as a TOML fragment; never applied automatically.
//!
//! The report goes to `--report DIR` through the storage seam: `report.json`
//! (every figure), `report.md` and a self-contained `report.html` with
//! inline SVG plots.
//!
//! Layout: `labels` reads churn_labels and joins them with each date's
//! scores; `measures` holds the statistics (AUC, deciles, lead time, …);
//! `fit` the logistic fit and the weight rounding (pure functions);
//! `weights` the per-scorecard suggestions and their out-of-time check;
//! `model` one pipeline over all dates and the report's types;
//! `compare` the `--compare` figures; `report` the JSON/TOML output;
//! `render` the text summary, report.md, report.html and its SVG plots.

use chrono::NaiveDate;
use polars::prelude::*;

use crate::aggregate::range::Inputs;
use crate::commands::Outcome;
use crate::error::{Error, Result};
use crate::pipeline::Pipeline;
use crate::storage::Store;
use crate::time::{dates_every, is_per_date, parse_date, parse_days, with_as_of};

mod compare;
mod fit;
mod labels;
mod measures;
mod model;
mod render;
mod report;
mod weights;

pub use fit::{
    fit_group_weights, fit_nonneg_logistic, round_to_total, score_with_weights, FittedWeights,
    LogisticFit,
};
pub use labels::{join_labels, read_labels, DateFrame, LabelsInfo};
pub use measures::{
    auc, lead_time, lowest_share, BandRate, Decile, Eval, HistBin, LeadTime, SignalAuc,
};
pub use model::{backtest_model, DateCounts, DateEval, ModelReport, Report, ScorecardEval};
pub use model::{Comparison, Diff};
pub use weights::{GroupWeight, Validation, WeightSuggestion, MIN_CHURNERS_TO_FIT};

use compare::compare_models;
use render::outcome;
use report::write_report;
use weights::fit_date_count;

// ---------------------------------------------------------------------------
// Column names of the evaluation frame (one row per account and date)
// ---------------------------------------------------------------------------

/// customer_id (String).
pub const CUSTOMER_ID: &str = "customer_id";
/// The as-of date D as a UTC day number (Int32).
pub const AS_OF: &str = "as_of";
/// The account's scorecard (String).
pub const SCORECARD: &str = "scorecard";
/// The integer score as Float64 (null when unscored).
pub const SCORE: &str = "score";
/// The band (String; the unscored band's name when unscored).
pub const BAND: &str = "band";
/// Whether the account churned in (D, D + horizon] (Boolean).
pub const CHURNED: &str = "churned";
/// The account's first churn date after D, any horizon (Int32 day, nullable).
pub const CHURNED_ON: &str = "churned_on";

/// Column of a group's points recomputed from its metrics' points (present
/// whether or not the account's scorecard weighs the group).
pub fn group_points_column(group: &str) -> String {
    format!("__group_{group}")
}

/// Maps a polars error to [`Error`] with what was being done.
pub(crate) fn pl(context: &'static str) -> impl Fn(PolarsError) -> Error {
    move |e| Error::polars(context, e)
}

// ---------------------------------------------------------------------------
// Request
// ---------------------------------------------------------------------------

/// What `healthscore backtest` is asked to do, as given (parsed and checked
/// by [`command`]); the command line builds it from its arguments.
#[derive(Debug, Clone)]
pub struct Request {
    /// The pipeline file to evaluate (pipelines/*.toml).
    pub pipeline: String,
    /// Folder of the warehouse exports; `{as_of}` is replaced by each date.
    pub input: String,
    /// Location of the churn_labels table relative to `input` (a URL or an
    /// absolute path is taken as it is).
    pub labels: String,
    /// First as-of date (YYYY-MM-DD).
    pub from: String,
    /// Last as-of date (YYYY-MM-DD).
    pub to: String,
    /// Step between as-of dates (`30d`, `4w` or a number of days).
    pub every: String,
    /// Churn within this span after D counts as foreseen (`90d`).
    pub horizon: String,
    /// Folder the report goes to.
    pub report: String,
    /// A second pipeline evaluated on the same data, to compare with.
    pub compare: Option<String>,
    /// Bands that count as an alert for lead time (empty: the default).
    pub alert_bands: Vec<String>,
    /// L2 penalty of the weight fit.
    pub l2: f64,
    /// Object-store options for the input (KEY=VALUE).
    pub input_option: Vec<String>,
    /// Object-store options for the report folder (KEY=VALUE).
    pub report_option: Vec<String>,
}

// ---------------------------------------------------------------------------
// Command
// ---------------------------------------------------------------------------

/// The bands counted as an alert: those named, or the two lowest-scored
/// bands (the lowest one when there are fewer than three).
fn alert_bands(p: &Pipeline, named: &[String]) -> Result<Vec<String>> {
    let named: Vec<String> = named
        .iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    if named.is_empty() {
        let mut bands = p.bands.clone();
        bands.sort_by_key(|b| b.min);
        let n = if bands.len() >= 3 { 2 } else { 1 };
        return Ok(bands.iter().take(n).map(|b| b.name.clone()).collect());
    }
    for b in &named {
        if !p.bands.iter().any(|x| &x.name == b) {
            return Err(Error::Usage(format!(
                "--alert-bands {b}: pipeline {} has no band of that name (bands: {})",
                p.model_version(),
                p.bands
                    .iter()
                    .map(|b| b.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }
    Ok(named)
}

/// Options of one backtest.
pub struct Options {
    /// The as-of dates, ascending.
    pub dates: Vec<NaiveDate>,
    /// Step between dates, in days (for the report).
    pub every_days: i64,
    /// Churn horizon in days.
    pub horizon_days: i64,
    /// L2 penalty of the weight fit.
    pub l2: f64,
}

/// `healthscore backtest` from the command line's request.
pub fn command(a: Request) -> Result<Outcome> {
    let from = parse_date("from", &a.from)?;
    let to = parse_date("to", &a.to)?;
    let every_days = parse_days("every", &a.every)?;
    let horizon_days = parse_days("horizon", &a.horizon)?;
    if !(a.l2.is_finite() && a.l2 >= 0.0) {
        return Err(Error::Usage(format!(
            "--l2 {}: expected a number ≥ 0",
            a.l2
        )));
    }
    let opts = Options {
        dates: dates_every(from, to, every_days)?,
        every_days,
        horizon_days,
        l2: a.l2,
    };
    let input_options = crate::storage::parse_options(&a.input_option, "input-option")?;
    let report_store = Store::open(
        &a.report,
        &crate::storage::parse_options(&a.report_option, "report-option")?,
    )?;

    let mut pipelines = vec![Pipeline::load(&a.pipeline)?];
    if let Some(c) = &a.compare {
        pipelines.push(Pipeline::load(c)?);
    }
    let alerts = pipelines
        .iter()
        .map(|p| alert_bands(p, &a.alert_bands))
        .collect::<Result<Vec<_>>>()?;

    let last = opts.dates.last().copied().unwrap_or(to);
    let (labels, labels_info) =
        read_labels(&pipelines[0], &a.input, &a.labels, last, &input_options)?;
    let open_input =
        |d: NaiveDate| -> Result<Store> { Store::open(&with_as_of(&a.input, d), &input_options) };
    let inputs = if is_per_date(&a.input) {
        Inputs::PerDate(&open_input)
    } else {
        Inputs::Shared(open_input(last)?)
    };
    let mut models = Vec::new();
    for (p, alert) in pipelines.iter().zip(&alerts) {
        models.push(backtest_model(p, &inputs, &labels, alert, &opts)?);
    }
    let compare = (models.len() == 2).then(|| compare_models(&models[0], &models[1]));
    let notes = report_notes(&opts, &labels_info, to);
    let report = Report {
        tool: format!("healthscore {}", env!("CARGO_PKG_VERSION")),
        input: Store::open(&a.input, &input_options)
            .map(|s| s.url().to_string())
            .unwrap_or_else(|_| a.input.clone()),
        labels: labels_info,
        dates: opts.dates.iter().map(|d| d.to_string()).collect(),
        every_days,
        horizon_days,
        l2: opts.l2,
        models,
        compare,
        notes,
    };
    write_report(&report_store, &report)?;
    Ok(outcome(&report, &report_store))
}

/// Caveats worth reading: labels that stop before the last date plus the
/// horizon, fit and evaluation dates that share outcomes, a single date.
fn report_notes(opts: &Options, labels_info: &LabelsInfo, to: NaiveDate) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(latest) = &labels_info.latest_churned_on {
        let last_end =
            opts.dates.last().copied().unwrap_or(to) + chrono::Duration::days(opts.horizon_days);
        if let Ok(l) = NaiveDate::parse_from_str(latest, "%Y-%m-%d") {
            // A gap of a few days is the labels' own sparsity; more than a
            // tenth of the horizon suggests the labels stop early.
            let slack = chrono::Duration::days((opts.horizon_days / 10).max(1));
            if l + slack < last_end {
                notes.push(format!(
                    "the labels' latest churned_on is {l}, before {last_end} (last date + horizon): churn after {l} may not be recorded yet, so the last dates' churn rates may be understated"
                ));
            }
        }
    }
    if opts.dates.len() >= 2 {
        let n_fit = fit_date_count(opts.dates.len());
        let fit_end = opts.dates[n_fit - 1] + chrono::Duration::days(opts.horizon_days);
        if fit_end > opts.dates[n_fit] {
            notes.push(format!(
                "out-of-time check: the fit dates' churn windows reach {fit_end}, past the first evaluation date {}; the halves share some outcomes, so the out-of-time AUC is somewhat optimistic",
                opts.dates[n_fit]
            ));
        }
    } else {
        notes.push("one date only: no out-of-time check (it needs at least two dates)".into());
    }
    notes
}
