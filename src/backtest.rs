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

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::NaiveDate;
use clap::Args;
use polars::prelude::*;
use serde::Serialize;

use crate::cli::Outcome;
use crate::config::{Pipeline, Source};
use crate::error::{Error, Result};
use crate::score::{group_column, points_column};
use crate::storage::Store;
use crate::{run, source};

/// `healthscore backtest`.
#[derive(Args, Debug)]
pub struct BacktestArgs {
    /// The pipeline file to evaluate (pipelines/*.toml).
    #[arg(long, env = "HEALTHSCORE_PIPELINE")]
    pub pipeline: String,
    /// Folder of the warehouse exports; `{as_of}` is replaced by each date.
    #[arg(long, env = "HEALTHSCORE_INPUT")]
    pub input: String,
    /// Location of the churn_labels table relative to --input (a URL or an
    /// absolute path is taken as it is).
    #[arg(long, default_value = "churn_labels", env = "HEALTHSCORE_LABELS")]
    pub labels: String,
    /// First as-of date (YYYY-MM-DD).
    #[arg(long, env = "HEALTHSCORE_FROM")]
    pub from: String,
    /// Last as-of date (YYYY-MM-DD); dates are from, from + every, … ≤ to.
    #[arg(long, env = "HEALTHSCORE_TO")]
    pub to: String,
    /// Step between as-of dates (`30d`, `4w` or a number of days).
    #[arg(long, default_value = "30d", env = "HEALTHSCORE_EVERY")]
    pub every: String,
    /// Churn within this many days after D counts as foreseen (`90d`).
    #[arg(long, default_value = "90d", env = "HEALTHSCORE_HORIZON")]
    pub horizon: String,
    /// Folder the report goes to (report.json, report.md, report.html).
    #[arg(long, env = "HEALTHSCORE_REPORT")]
    pub report: String,
    /// A second pipeline evaluated on the same data, to compare with.
    #[arg(long, env = "HEALTHSCORE_COMPARE")]
    pub compare: Option<String>,
    /// Bands that count as an alert for lead time (default: the two
    /// lowest-scored bands, e.g. Critical,At-Risk).
    #[arg(long, value_delimiter = ',', env = "HEALTHSCORE_ALERT_BANDS")]
    pub alert_bands: Vec<String>,
    /// L2 penalty of the weight fit (on the mean log-loss).
    #[arg(long, default_value_t = 0.001, env = "HEALTHSCORE_L2")]
    pub l2: f64,
    /// Object-store option for the input (KEY=VALUE, repeatable).
    #[arg(
        long = "input-option",
        env = "HEALTHSCORE_INPUT_OPTION",
        value_delimiter = ','
    )]
    pub input_option: Vec<String>,
    /// Object-store option for the report folder (KEY=VALUE, repeatable).
    #[arg(
        long = "report-option",
        env = "HEALTHSCORE_REPORT_OPTION",
        value_delimiter = ','
    )]
    pub report_option: Vec<String>,
}

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

const EPOCH: NaiveDate = match NaiveDate::from_ymd_opt(1970, 1, 1) {
    Some(d) => d,
    None => panic!("epoch"),
};

fn day_of(d: NaiveDate) -> i32 {
    (d - EPOCH).num_days() as i32
}

fn date_of(day: i32) -> NaiveDate {
    EPOCH + chrono::Duration::days(i64::from(day))
}

fn pl(context: &'static str) -> impl Fn(PolarsError) -> Error {
    move |e| Error::polars(context, e)
}

// ---------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------

fn parse_date(flag: &str, s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| Error::Usage(format!("--{flag} {s}: expected a date YYYY-MM-DD")))
}

/// Parses a span of days: `30d`, `4w` or `30`.
pub fn parse_days(flag: &str, s: &str) -> Result<i64> {
    let t = s.trim();
    let (num, mul) = if let Some(n) = t.strip_suffix('d') {
        (n, 1)
    } else if let Some(n) = t.strip_suffix('w') {
        (n, 7)
    } else {
        (t, 1)
    };
    match num.trim().parse::<i64>() {
        Ok(n) if (1..=36_600).contains(&n) => Ok(n * mul),
        _ => Err(Error::Usage(format!(
            "--{flag} {s}: expected a positive number of days such as 30d (or weeks such as 4w)"
        ))),
    }
}

/// The as-of dates from, from + every, … up to `to`.
pub fn as_of_dates(from: NaiveDate, to: NaiveDate, every_days: i64) -> Vec<NaiveDate> {
    let mut out = Vec::new();
    let mut d = from;
    while d <= to {
        out.push(d);
        d += chrono::Duration::days(every_days);
    }
    out
}

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

/// `healthscore backtest` from parsed arguments.
pub fn command(a: BacktestArgs) -> Result<Outcome> {
    let from = parse_date("from", &a.from)?;
    let to = parse_date("to", &a.to)?;
    if from > to {
        return Err(Error::Usage(format!(
            "--from {from} is after --to {to}: expected from ≤ to"
        )));
    }
    let every_days = parse_days("every", &a.every)?;
    let horizon_days = parse_days("horizon", &a.horizon)?;
    if !(a.l2.is_finite() && a.l2 >= 0.0) {
        return Err(Error::Usage(format!(
            "--l2 {}: expected a number ≥ 0",
            a.l2
        )));
    }
    let opts = Options {
        dates: as_of_dates(from, to, every_days),
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
    let open_input = |d: NaiveDate| -> Result<Store> {
        Store::open(&a.input.replace("{as_of}", &d.to_string()), &input_options)
    };
    let mut models = Vec::new();
    for (p, alert) in pipelines.iter().zip(&alerts) {
        models.push(backtest_model(p, &open_input, &labels, alert, &opts)?);
    }
    let compare = (models.len() == 2).then(|| compare_models(&models[0], &models[1]));
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

// ---------------------------------------------------------------------------
// Labels
// ---------------------------------------------------------------------------

/// What was read from churn_labels.
#[derive(Debug, Clone, Serialize)]
pub struct LabelsInfo {
    /// Where the table was read from.
    pub location: String,
    /// Rows read.
    pub rows: usize,
    /// Rows left out for a null customer_id or churned_on.
    pub rows_with_nulls: usize,
    /// Distinct customers with a churn date.
    pub customers: usize,
    /// Earliest churned_on.
    pub earliest_churned_on: Option<String>,
    /// Latest churned_on.
    pub latest_churned_on: Option<String>,
}

/// Reads churn_labels (customer_id, churned_on as a UTC day number) through
/// the same reader as the input tables: any string or date/timestamp type,
/// local or object store, a file or a (Hive-partitioned) folder.
pub fn read_labels(
    p: &Pipeline,
    input: &str,
    labels: &str,
    last_date: NaiveDate,
    input_options: &[(String, String)],
) -> Result<(DataFrame, LabelsInfo)> {
    let absolute = labels.contains("://") || labels.starts_with('/');
    let (store, path) = if absolute {
        let trimmed = labels.trim_end_matches('/');
        match trimmed.rsplit_once('/') {
            Some((parent, file)) if file.ends_with(".parquet") => (
                Store::open(if parent.is_empty() { "/" } else { parent }, input_options)?,
                file.to_string(),
            ),
            _ => (Store::open(trimmed, input_options)?, String::new()),
        }
    } else {
        (
            Store::open(
                &input.replace("{as_of}", &last_date.to_string()),
                input_options,
            )?,
            labels.trim_matches('/').to_string(),
        )
    };
    let location = store.url_of(&path);
    let mut lp = p.clone();
    lp.sources = vec![Source {
        table: "churn_labels".into(),
        path: path.clone(),
        renames: BTreeMap::new(),
        date_column: Some("churned_on".into()),
        is_contract: true,
    }];
    let tables = source::open_tables(&lp, &store).map_err(|e| match e {
        Error::Contract {
            table,
            column: None,
            file,
            ..
        } => Error::Contract {
            message: format!(
                "table churn_labels: no Parquet file at {location} (expected a .parquet file or a folder of them with columns customer_id and churned_on); point --labels at it"
            ),
            table,
            column: None,
            file,
        },
        Error::Contract {
            table,
            column: Some(c),
            file,
            message,
        } => Error::Contract {
            message: format!("{message} (the labels are read with canonical column names; pass --labels to another table)"),
            table,
            column: Some(c),
            file,
        },
        other => other,
    })?;
    let t = tables
        .into_iter()
        .next()
        .ok_or_else(|| Error::Internal("churn_labels not opened".into()))?;
    let all = t
        .frame
        .select([col(CUSTOMER_ID), col(CHURNED_ON)])
        .collect()
        .map_err(|e| Error::Corrupt {
            url: location.clone(),
            message: e.to_string(),
        })?;
    let rows = all.height();
    let clean = all
        .lazy()
        .filter(
            col(CUSTOMER_ID)
                .is_not_null()
                .and(col(CHURNED_ON).is_not_null()),
        )
        .collect()
        .map_err(pl("churn labels"))?;
    let stats = clean
        .clone()
        .lazy()
        .select([
            col(CUSTOMER_ID).n_unique().cast(DataType::Int64).alias("n"),
            col(CHURNED_ON).min().alias("lo"),
            col(CHURNED_ON).max().alias("hi"),
        ])
        .collect()
        .map_err(pl("churn labels"))?;
    let get_i = |c: &str| -> Option<i64> {
        stats
            .column(c)
            .ok()
            .and_then(|s| s.get(0).ok())
            .and_then(|v| v.extract::<i64>())
    };
    let info = LabelsInfo {
        location,
        rows,
        rows_with_nulls: rows - clean.height(),
        customers: if clean.height() == 0 {
            0
        } else {
            get_i("n").unwrap_or(0) as usize
        },
        earliest_churned_on: get_i("lo").map(|d| date_of(d as i32).to_string()),
        latest_churned_on: get_i("hi").map(|d| date_of(d as i32).to_string()),
    };
    Ok((clean, info))
}

// ---------------------------------------------------------------------------
// Scoring the dates
// ---------------------------------------------------------------------------

fn at_date(d: NaiveDate) -> impl Fn(Error) -> Error {
    move |e| e.at(&format!("backtest date {d}"))
}

/// Weighted mean of the present metrics' points of each group, as columns
/// [`group_points_column`] (SPEC §4 group points, for every group).
fn group_points_exprs(p: &Pipeline) -> Vec<Expr> {
    p.groups
        .iter()
        .enumerate()
        .map(|(gi, g)| {
            let mut num = lit(0.0);
            let mut den = lit(0.0);
            for (m, s) in p.group_metrics(gi) {
                let pts = col(points_column(&m.name).as_str());
                num = num + pts.clone().fill_null(lit(0.0)) * lit(s.weight);
                den = den + pts.is_not_null().cast(DataType::Float64) * lit(s.weight);
            }
            when(den.clone().gt(lit(0.0)))
                .then(num / den)
                .otherwise(lit(NULL).cast(DataType::Float64))
                .alias(group_points_column(&g.name).as_str())
        })
        .collect()
}

/// The recomputed group points must equal the scores table's
/// `<group>_score` wherever the scorecard uses the group; a difference would
/// mean the weight fit and the single-signal AUCs see other points than the
/// score does, so it is logged.
fn check_group_points(p: &Pipeline, scores: &DataFrame) -> Result<()> {
    let diffs: Vec<Expr> = p
        .groups
        .iter()
        .map(|g| {
            (col(group_points_column(&g.name).as_str()) - col(group_column(&g.name).as_str()))
                .abs()
                .max()
                .alias(g.name.as_str())
        })
        .collect();
    let d = scores
        .clone()
        .lazy()
        .with_columns(group_points_exprs(p))
        .select(diffs)
        .collect()
        .map_err(pl("checking group points"))?;
    for g in &p.groups {
        let v = scalar_f64(&d, &g.name);
        if v > 1e-6 {
            tracing::warn!(
                group = g.name.as_str(),
                max_difference = v,
                "recomputed group points differ from the scores table"
            );
        }
    }
    Ok(())
}

/// Scores of one date joined with the labels.
pub struct DateFrame {
    /// One row per account scored at D and not churned by D (columns
    /// [`CUSTOMER_ID`], [`AS_OF`], [`SCORECARD`], [`SCORE`], [`BAND`],
    /// [`CHURNED`], [`CHURNED_ON`], group points and metric points).
    pub frame: DataFrame,
    /// Accounts scored at D that had already churned (left out).
    pub already_churned: usize,
}

/// Joins a scores table (SPEC §6 columns) for date `d` with the labels
/// (customer_id, churned_on day number).
pub fn join_labels(
    p: &Pipeline,
    scores: &DataFrame,
    labels: &DataFrame,
    d: NaiveDate,
    horizon_days: i64,
) -> Result<DateFrame> {
    let day = day_of(d);
    let end = day + horizon_days as i32;
    let per_customer = labels.clone().lazy().group_by([col(CUSTOMER_ID)]).agg([
        col(CHURNED_ON)
            .filter(col(CHURNED_ON).lt_eq(lit(day)))
            .max()
            .alias("__prior"),
        col(CHURNED_ON)
            .filter(col(CHURNED_ON).gt(lit(day)))
            .min()
            .alias(CHURNED_ON),
    ]);
    let mut sel = vec![
        col(CUSTOMER_ID).cast(DataType::String),
        col(SCORECARD).cast(DataType::String),
        col(SCORE).cast(DataType::Float64),
        col(BAND).cast(DataType::String),
    ];
    for m in &p.metrics {
        if m.scoring.is_some() {
            sel.push(col(points_column(&m.name).as_str()).cast(DataType::Float64));
        }
    }
    check_group_points(p, scores)?;
    let joined = scores
        .clone()
        .lazy()
        .select(sel)
        .with_columns(group_points_exprs(p))
        .join(
            per_customer,
            [col(CUSTOMER_ID)],
            [col(CUSTOMER_ID)],
            JoinArgs::new(JoinType::Left),
        )
        .collect()
        .map_err(pl("joining labels"))?;
    let already = joined
        .column("__prior")
        .map_err(pl("joining labels"))?
        .is_not_null()
        .sum()
        .unwrap_or(0) as usize;
    let frame = joined
        .lazy()
        .filter(col("__prior").is_null())
        .with_columns([
            lit(day).alias(AS_OF),
            col(CHURNED_ON)
                .lt_eq(lit(end))
                .fill_null(lit(false))
                .alias(CHURNED),
        ])
        .drop(by_name(["__prior"], true, false))
        .collect()
        .map_err(pl("joining labels"))?;
    Ok(DateFrame {
        frame,
        already_churned: already,
    })
}

// ---------------------------------------------------------------------------
// Measures
// ---------------------------------------------------------------------------

/// Expressions giving (rows, positives, rank sum of positives) of `x`
/// against `y` over rows where both are present; ranks by descending `x`
/// (so the lowest score, the riskiest, has the highest rank), ties averaged.
fn auc_parts(x: &str, y: &str, prefix: &str) -> Vec<Expr> {
    let valid = col(x).is_not_null().and(col(y).is_not_null());
    let yv = col(y).filter(valid.clone()).cast(DataType::Float64);
    let rank = col(x)
        .filter(valid.clone())
        .rank(
            RankOptions {
                method: RankMethod::Average,
                descending: true,
            },
            None,
        )
        .cast(DataType::Float64);
    vec![
        valid
            .cast(DataType::Float64)
            .sum()
            .alias(format!("{prefix}n")),
        yv.clone().sum().alias(format!("{prefix}pos")),
        (rank * yv).sum().alias(format!("{prefix}rpos")),
    ]
}

/// Mann-Whitney AUC from (rows, positives, rank sum of the positives).
fn auc_from(n: f64, pos: f64, rpos: f64) -> Option<f64> {
    let neg = n - pos;
    if pos < 0.5 || neg < 0.5 {
        return None;
    }
    Some(((rpos - pos * (pos + 1.0) / 2.0) / (pos * neg)).clamp(0.0, 1.0))
}

fn scalar_f64(df: &DataFrame, c: &str) -> f64 {
    df.column(c)
        .ok()
        .and_then(|s| s.get(0).ok())
        .and_then(|v| v.extract::<f64>())
        .unwrap_or(0.0)
}

/// ROC AUC of `score` against the boolean `churned`, lower score = riskier:
/// the probability that a churner scores below a non-churner, ties counting
/// one half (rank-based Mann-Whitney). Rows with a null on either side are
/// left out; None without both churners and non-churners.
pub fn auc(df: &DataFrame, score: &str, churned: &str) -> Result<Option<f64>> {
    let s = df
        .clone()
        .lazy()
        .select(auc_parts(score, churned, ""))
        .collect()
        .map_err(pl("AUC"))?;
    Ok(auc_from(
        scalar_f64(&s, "n"),
        scalar_f64(&s, "pos"),
        scalar_f64(&s, "rpos"),
    ))
}

/// The accounts of each distinct score, ascending: (score, rows, churners).
fn score_counts(df: &DataFrame, score: &str, churned: &str) -> Result<Vec<(f64, f64, f64)>> {
    let g = df
        .clone()
        .lazy()
        .filter(col(score).is_not_null())
        .group_by([col(score).cast(DataType::Float64)])
        .agg([
            len().cast(DataType::Float64).alias("__n"),
            col(churned)
                .cast(DataType::Float64)
                .fill_null(lit(0.0))
                .sum()
                .alias("__pos"),
        ])
        .sort([score], SortMultipleOptions::default())
        .collect()
        .map_err(pl("score counts"))?;
    let s = f64s(&g, score)?;
    let n = f64s(&g, "__n")?;
    let p = f64s(&g, "__pos")?;
    Ok(s.into_iter()
        .zip(n)
        .zip(p)
        .map(|((s, n), p)| (s.unwrap_or(0.0), n.unwrap_or(0.0), p.unwrap_or(0.0)))
        .collect())
}

fn f64s(df: &DataFrame, name: &str) -> Result<Vec<Option<f64>>> {
    let c = df
        .column(name)
        .map_err(pl("reading a column"))?
        .cast(&DataType::Float64)
        .map_err(pl("reading a column"))?;
    Ok(c.f64().map_err(pl("reading a column"))?.iter().collect())
}

fn bools(df: &DataFrame, name: &str) -> Result<Vec<bool>> {
    let c = df.column(name).map_err(pl("reading a column"))?;
    Ok(c.bool()
        .map_err(pl("reading a column"))?
        .iter()
        .map(|v| v.unwrap_or(false))
        .collect())
}

/// The lowest-scored share of the accounts and the churners in it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Decile {
    /// The share of the scored accounts taken (0.1).
    pub share: f64,
    /// Accounts taken (share × scored; fractional when the cut splits ties).
    pub accounts: f64,
    /// Churners among them (in expectation when the cut splits a tie: the
    /// tied accounts enter in proportion).
    pub churned: f64,
    /// Highest score taken.
    pub score_cutoff: f64,
    /// Churn rate among them.
    pub churn_rate: f64,
    /// Share of all churners caught.
    pub capture: f64,
    /// Churn rate among them over the overall churn rate (= capture / share).
    pub lift: f64,
}

/// Lift and capture of the lowest-scored `share` of the accounts with a
/// score; accounts tied at the cut enter in proportion (the expectation of
/// breaking ties at random). None without churners.
pub fn lowest_share(
    df: &DataFrame,
    score: &str,
    churned: &str,
    share: f64,
) -> Result<Option<Decile>> {
    Ok(decile_from_counts(
        &score_counts(df, score, churned)?,
        share,
    ))
}

fn decile_from_counts(counts: &[(f64, f64, f64)], share: f64) -> Option<Decile> {
    let n: f64 = counts.iter().map(|c| c.1).sum();
    let pos: f64 = counts.iter().map(|c| c.2).sum();
    if n <= 0.0 || pos <= 0.0 {
        return None;
    }
    let k = share * n;
    let mut taken = 0.0;
    let mut caught = 0.0;
    let mut cutoff = counts.first().map(|c| c.0).unwrap_or(0.0);
    for &(s, cn, cp) in counts {
        if taken >= k - 1e-9 {
            break;
        }
        let f = ((k - taken) / cn).min(1.0);
        taken += f * cn;
        caught += f * cp;
        cutoff = s;
    }
    let rate = pos / n;
    Some(Decile {
        share,
        accounts: k,
        churned: caught,
        score_cutoff: cutoff,
        churn_rate: caught / k,
        capture: caught / pos,
        lift: (caught / k) / rate,
    })
}

/// Lead time: days from a churner's first alert-band score to its churn.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct LeadTime {
    /// Churners: (account, churn date) pairs with a churn within the horizon
    /// of at least one date scored.
    pub churners: usize,
    /// Those scored in an alert band on some date before churning.
    pub flagged: usize,
    /// flagged / churners.
    pub flagged_share: Option<f64>,
    /// Median days between the first alert and the churn, over the flagged.
    pub median_days: Option<f64>,
    /// Mean of the same.
    pub mean_days: Option<f64>,
}

/// Lead time over the rows of `df` (columns [`CUSTOMER_ID`], [`AS_OF`],
/// [`BAND`], [`CHURNED`], [`CHURNED_ON`]): for every churner, the earliest
/// date it was scored in one of `alert` bands before its churn date.
pub fn lead_time(df: &DataFrame, alert: &[String]) -> Result<LeadTime> {
    let is_alert = alert
        .iter()
        .fold(lit(false), |acc, b| acc.or(col(BAND).eq(lit(b.as_str()))))
        .fill_null(lit(false));
    let s = df
        .clone()
        .lazy()
        .filter(col(CHURNED_ON).is_not_null())
        .group_by([col(CUSTOMER_ID), col(CHURNED_ON)])
        .agg([
            col(CHURNED).any(true).alias("__pos"),
            col(AS_OF).filter(is_alert).min().alias("__first"),
        ])
        .filter(col("__pos"))
        .with_column(
            (col(CHURNED_ON).cast(DataType::Int64) - col("__first").cast(DataType::Int64))
                .cast(DataType::Float64)
                .alias("__lead"),
        )
        .select([
            len().cast(DataType::Float64).alias("churners"),
            col("__lead")
                .count()
                .cast(DataType::Float64)
                .alias("flagged"),
            col("__lead").median().alias("median"),
            col("__lead").mean().alias("mean"),
        ])
        .collect()
        .map_err(pl("lead time"))?;
    let opt = |c: &str| {
        s.column(c)
            .ok()
            .and_then(|x| x.get(0).ok())
            .and_then(|v| v.extract::<f64>())
    };
    let churners = opt("churners").unwrap_or(0.0) as usize;
    let flagged = opt("flagged").unwrap_or(0.0) as usize;
    Ok(LeadTime {
        churners,
        flagged,
        flagged_share: (churners > 0).then(|| flagged as f64 / churners as f64),
        median_days: if flagged > 0 { opt("median") } else { None },
        mean_days: if flagged > 0 { opt("mean") } else { None },
    })
}

/// Churn among the accounts of one band.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BandRate {
    /// Band name.
    pub band: String,
    /// Its colour in the pipeline.
    pub color: String,
    /// Account-dates in the band.
    pub accounts: usize,
    /// Those that churned within the horizon.
    pub churned: usize,
    /// churned / accounts.
    pub churn_rate: Option<f64>,
}

/// One signal's AUC on its own (a group's or a metric's points).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SignalAuc {
    /// Group or metric name.
    pub name: String,
    /// Account-dates where it has points.
    pub accounts: usize,
    /// AUC of its points (lower points = riskier).
    pub auc: Option<f64>,
}

/// Share of churners and of retained accounts in one score bin.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HistBin {
    /// Lowest score of the bin.
    pub from: i32,
    /// Highest score of the bin.
    pub to: i32,
    /// Churners in the bin.
    pub churned: f64,
    /// Retained accounts in the bin.
    pub retained: f64,
    /// Share of all churners.
    pub churned_share: f64,
    /// Share of all retained accounts.
    pub retained_share: f64,
}

/// Every figure of one population (a date or all, a scorecard or all).
#[derive(Debug, Clone, Serialize)]
pub struct Eval {
    /// Account-dates (accounts not churned by their date).
    pub accounts: usize,
    /// Those with a score.
    pub scored: usize,
    /// Account-dates that churned within the horizon.
    pub churned: usize,
    /// churned / accounts.
    pub churn_rate: Option<f64>,
    /// ROC AUC of the score (scored accounts).
    pub auc: Option<f64>,
    /// Churn per band, lowest band first, the unscored band last.
    pub bands: Vec<BandRate>,
    /// Whether the churn rate never rises from one band to the next (bands
    /// with accounts, unscored left out).
    pub bands_fall: Option<bool>,
    /// The lowest-scored decile.
    pub lowest_decile: Option<Decile>,
    /// Lead time of the alert bands.
    pub lead_time: LeadTime,
    /// Each group's points on their own.
    pub groups: Vec<SignalAuc>,
    /// Each scored metric's points on their own.
    pub metrics: Vec<SignalAuc>,
    /// ROC curve points (false positive rate, true positive rate), flagging
    /// score ≤ t for each distinct score t ascending.
    pub roc: Vec<[f64; 2]>,
    /// Score distribution by outcome, bins of 5 points.
    pub score_histogram: Vec<HistBin>,
}

struct Ctx<'a> {
    p: &'a Pipeline,
    alert: &'a [String],
}

fn evaluate(df: &DataFrame, ctx: &Ctx) -> Result<Eval> {
    let p = ctx.p;
    // Every signal's AUC parts and the counts, in one pass.
    let mut exprs = vec![
        len().cast(DataType::Float64).alias("rows"),
        col(SCORE)
            .is_not_null()
            .cast(DataType::Float64)
            .sum()
            .alias("scored"),
        col(CHURNED).cast(DataType::Float64).sum().alias("churned"),
    ];
    exprs.extend(auc_parts(SCORE, CHURNED, "score."));
    let groups: Vec<(String, String)> = p
        .groups
        .iter()
        .map(|g| (g.name.clone(), group_points_column(&g.name)))
        .collect();
    let metrics: Vec<(String, String)> = p
        .metrics
        .iter()
        .filter(|m| m.scoring.is_some())
        .map(|m| (m.name.clone(), points_column(&m.name)))
        .collect();
    for (i, (_, c)) in groups.iter().enumerate() {
        exprs.extend(auc_parts(c, CHURNED, &format!("g{i}.")));
    }
    for (i, (_, c)) in metrics.iter().enumerate() {
        exprs.extend(auc_parts(c, CHURNED, &format!("m{i}.")));
    }
    let s = df
        .clone()
        .lazy()
        .select(exprs)
        .collect()
        .map_err(pl("backtest measures"))?;
    let v = |c: &str| scalar_f64(&s, c);
    let signal = |prefix: &str, name: &str| SignalAuc {
        name: name.to_string(),
        accounts: v(&format!("{prefix}n")) as usize,
        auc: auc_from(
            v(&format!("{prefix}n")),
            v(&format!("{prefix}pos")),
            v(&format!("{prefix}rpos")),
        ),
    };
    let accounts = v("rows") as usize;
    let churned = v("churned") as usize;

    // Bands, lowest first.
    let by_band = df
        .clone()
        .lazy()
        .group_by([col(BAND)])
        .agg([
            len().cast(DataType::Float64).alias("__n"),
            col(CHURNED).cast(DataType::Float64).sum().alias("__pos"),
        ])
        .collect()
        .map_err(pl("churn per band"))?;
    let names: Vec<Option<String>> = by_band
        .column(BAND)
        .map_err(pl("churn per band"))?
        .str()
        .map_err(pl("churn per band"))?
        .iter()
        .map(|s| s.map(str::to_string))
        .collect();
    let bn = f64s(&by_band, "__n")?;
    let bp = f64s(&by_band, "__pos")?;
    let mut ordered = p.bands.clone();
    ordered.sort_by_key(|b| b.min);
    ordered.push(p.unscored.clone());
    let bands: Vec<BandRate> = ordered
        .iter()
        .map(|b| {
            let i = names
                .iter()
                .position(|n| n.as_deref() == Some(b.name.as_str()));
            let n = i.and_then(|i| bn[i]).unwrap_or(0.0) as usize;
            let c = i.and_then(|i| bp[i]).unwrap_or(0.0) as usize;
            BandRate {
                band: b.name.clone(),
                color: b.color.clone(),
                accounts: n,
                churned: c,
                churn_rate: (n > 0).then(|| c as f64 / n as f64),
            }
        })
        .collect();
    let rates: Vec<f64> = bands[..bands.len() - 1]
        .iter()
        .filter_map(|b| b.churn_rate)
        .collect();
    let bands_fall = (rates.len() >= 2).then(|| rates.windows(2).all(|w| w[1] <= w[0]));

    let counts = score_counts(df, SCORE, CHURNED)?;
    Ok(Eval {
        accounts,
        scored: v("scored") as usize,
        churned,
        churn_rate: (accounts > 0).then(|| churned as f64 / accounts as f64),
        auc: auc_from(v("score.n"), v("score.pos"), v("score.rpos")),
        bands,
        bands_fall,
        lowest_decile: decile_from_counts(&counts, 0.1),
        lead_time: lead_time(df, ctx.alert)?,
        groups: groups
            .iter()
            .enumerate()
            .map(|(i, (n, _))| signal(&format!("g{i}."), n))
            .collect(),
        metrics: metrics
            .iter()
            .enumerate()
            .map(|(i, (n, _))| signal(&format!("m{i}."), n))
            .collect(),
        roc: roc_from_counts(&counts),
        score_histogram: histogram_from_counts(&counts),
    })
}

/// ROC points flagging score ≤ t, for every distinct score t ascending.
fn roc_from_counts(counts: &[(f64, f64, f64)]) -> Vec<[f64; 2]> {
    let pos: f64 = counts.iter().map(|c| c.2).sum();
    let neg: f64 = counts.iter().map(|c| c.1 - c.2).sum();
    if pos <= 0.0 || neg <= 0.0 {
        return Vec::new();
    }
    let mut out = vec![[0.0, 0.0]];
    let (mut tp, mut fp) = (0.0, 0.0);
    for &(_, n, p) in counts {
        tp += p;
        fp += n - p;
        out.push([fp / neg, tp / pos]);
    }
    out
}

fn histogram_from_counts(counts: &[(f64, f64, f64)]) -> Vec<HistBin> {
    let pos: f64 = counts.iter().map(|c| c.2).sum();
    let neg: f64 = counts.iter().map(|c| c.1 - c.2).sum();
    let mut bins: Vec<HistBin> = (0..20)
        .map(|i| HistBin {
            from: i * 5,
            to: if i == 19 { 100 } else { i * 5 + 4 },
            churned: 0.0,
            retained: 0.0,
            churned_share: 0.0,
            retained_share: 0.0,
        })
        .collect();
    for &(s, n, p) in counts {
        let i = ((s / 5.0).floor() as i64).clamp(0, 19) as usize;
        bins[i].churned += p;
        bins[i].retained += n - p;
    }
    for b in &mut bins {
        b.churned_share = if pos > 0.0 { b.churned / pos } else { 0.0 };
        b.retained_share = if neg > 0.0 { b.retained / neg } else { 0.0 };
    }
    bins
}

// ---------------------------------------------------------------------------
// Weight fitting
// ---------------------------------------------------------------------------

/// A fitted logistic regression P(churn) = σ(intercept + Σ coef_j · x_j).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LogisticFit {
    /// Intercept (not penalised, unconstrained).
    pub intercept: f64,
    /// Coefficients, all ≥ 0.
    pub coef: Vec<f64>,
    /// Newton iterations taken.
    pub iterations: usize,
    /// Whether the objective stopped improving before the iteration limit.
    pub converged: bool,
}

fn softplus(z: f64) -> f64 {
    z.max(0.0) + (-z.abs()).exp().ln_1p()
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// Non-negative, L2-regularised logistic regression: minimises
/// mean(log(1 + e^η) − y·η) + l2/2 · Σ coef², η = intercept + x·coef,
/// subject to coef ≥ 0, by projected Newton steps (each step solves the
/// box-constrained quadratic model by coordinate descent, then backtracks).
/// `x` holds `n` rows of `p` features, row-major.
pub fn fit_nonneg_logistic(x: &[f64], p: usize, y: &[bool], l2: f64) -> LogisticFit {
    let n = y.len();
    let q = p + 1;
    let mut theta = vec![0.0; q];
    if n == 0 || x.len() != n * p {
        return LogisticFit {
            intercept: 0.0,
            coef: vec![0.0; p],
            iterations: 0,
            converged: false,
        };
    }
    let ybar = y.iter().filter(|v| **v).count() as f64 / n as f64;
    let yb = ybar.clamp(1e-6, 1.0 - 1e-6);
    theta[0] = (yb / (1.0 - yb)).ln();
    let eta = |t: &[f64], i: usize| -> f64 {
        let row = &x[i * p..(i + 1) * p];
        t[0] + row.iter().zip(&t[1..]).map(|(a, b)| a * b).sum::<f64>()
    };
    let objective = |t: &[f64]| -> f64 {
        let mut s = 0.0;
        for (i, &yi) in y.iter().enumerate().take(n) {
            let z = eta(t, i);
            s += softplus(z) - if yi { z } else { 0.0 };
        }
        s / n as f64 + 0.5 * l2 * t[1..].iter().map(|b| b * b).sum::<f64>()
    };
    let mut f = objective(&theta);
    let mut converged = false;
    let mut iterations = 0;
    for it in 0..200 {
        iterations = it + 1;
        // Gradient and Hessian of the objective.
        let mut g = vec![0.0; q];
        let mut h = vec![0.0; q * q];
        let mut xi = vec![0.0; q];
        xi[0] = 1.0;
        for i in 0..n {
            xi[1..].copy_from_slice(&x[i * p..(i + 1) * p]);
            let mu = sigmoid(eta(&theta, i));
            let r = mu - if y[i] { 1.0 } else { 0.0 };
            let w = (mu * (1.0 - mu)).max(1e-12);
            for a in 0..q {
                g[a] += r * xi[a];
                let wa = w * xi[a];
                for b in a..q {
                    h[a * q + b] += wa * xi[b];
                }
            }
        }
        for a in 0..q {
            g[a] /= n as f64;
            for b in a..q {
                h[a * q + b] /= n as f64;
                h[b * q + a] = h[a * q + b];
            }
            if a > 0 {
                g[a] += l2 * theta[a];
                h[a * q + a] += l2;
            }
            h[a * q + a] += 1e-12;
        }
        // Box-constrained Newton direction by coordinate descent.
        let mut d = vec![0.0; q];
        let mut hd = vec![0.0; q];
        for _ in 0..1000 {
            let mut change: f64 = 0.0;
            for j in 0..q {
                let mut nd = d[j] - (g[j] + hd[j]) / h[j * q + j];
                if j > 0 && theta[j] + nd < 0.0 {
                    nd = -theta[j];
                }
                let delta = nd - d[j];
                if delta != 0.0 {
                    for k in 0..q {
                        hd[k] += h[k * q + j] * delta;
                    }
                    d[j] = nd;
                    change = change.max(delta.abs());
                }
            }
            if change < 1e-13 {
                break;
            }
        }
        let slope: f64 = g.iter().zip(&d).map(|(a, b)| a * b).sum();
        if slope > -1e-15 {
            converged = true;
            break;
        }
        let mut t = 1.0;
        let mut next;
        loop {
            next = theta
                .iter()
                .zip(&d)
                .enumerate()
                .map(|(j, (a, b))| {
                    let v = a + t * b;
                    if j > 0 {
                        v.max(0.0)
                    } else {
                        v
                    }
                })
                .collect::<Vec<f64>>();
            let fn_ = objective(&next);
            if fn_ <= f + 1e-4 * t * slope || t < 1e-10 {
                let improved = f - fn_;
                theta = next;
                f = fn_.min(f);
                if improved.abs() < 1e-13 * f.abs().max(1.0) {
                    converged = true;
                }
                break;
            }
            t *= 0.5;
        }
        if converged {
            break;
        }
    }
    LogisticFit {
        intercept: theta[0],
        coef: theta[1..].to_vec(),
        iterations,
        converged,
    }
}

/// Rounds non-negative shares to integers summing to `total` (largest
/// remainder; ties to the earlier entry).
pub fn round_to_total(shares: &[f64], total: i64) -> Vec<i64> {
    let sum: f64 = shares.iter().sum();
    if sum <= 0.0 {
        return vec![0; shares.len()];
    }
    let exact: Vec<f64> = shares.iter().map(|s| s / sum * total as f64).collect();
    let mut out: Vec<i64> = exact.iter().map(|e| e.floor() as i64).collect();
    let mut left = total - out.iter().sum::<i64>();
    let mut order: Vec<usize> = (0..shares.len()).collect();
    order.sort_by(|&a, &b| {
        let ra = exact[a] - exact[a].floor();
        let rb = exact[b] - exact[b].floor();
        rb.partial_cmp(&ra)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.cmp(&b))
    });
    for i in order {
        if left <= 0 {
            break;
        }
        out[i] += 1;
        left -= 1;
    }
    out
}

/// Group weights fitted on outcomes.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FittedWeights {
    /// Integer weights summing to 100, per group (0 for a group without data).
    pub weights: Vec<i64>,
    /// The unrounded shares (sum 100).
    pub shares: Vec<f64>,
    /// Whether each group had points for some account (others get 0).
    pub has_data: Vec<bool>,
    /// The regression behind them (coefficients of 1 − points/100).
    pub fit: LogisticFit,
}

/// Fits group weights on outcomes: `points[g][i]` is group g's points
/// (0-100, None when missing) for account-date i and `churned[i]` its
/// outcome. A missing group takes that group's mean points; a group with no
/// points at all weighs 0. None when no group predicts churn (all
/// coefficients 0) or there is nothing to fit.
pub fn fit_group_weights(
    points: &[Vec<Option<f64>>],
    churned: &[bool],
    l2: f64,
) -> Option<FittedWeights> {
    let n = churned.len();
    let has_data: Vec<bool> = points
        .iter()
        .map(|g| g.iter().any(Option::is_some))
        .collect();
    let used: Vec<usize> = (0..points.len()).filter(|&g| has_data[g]).collect();
    if n == 0 || used.is_empty() {
        return None;
    }
    let p = used.len();
    let mut x = vec![0.0; n * p];
    for (j, &g) in used.iter().enumerate() {
        let present: Vec<f64> = points[g].iter().flatten().copied().collect();
        let mean = present.iter().sum::<f64>() / present.len() as f64;
        for i in 0..n {
            let v = points[g][i].unwrap_or(mean);
            x[i * p + j] = 1.0 - v / 100.0;
        }
    }
    let fit = fit_nonneg_logistic(&x, p, churned, l2);
    let total: f64 = fit.coef.iter().sum();
    if total <= 1e-9 {
        return None;
    }
    let mut shares = vec![0.0; points.len()];
    for (j, &g) in used.iter().enumerate() {
        shares[g] = fit.coef[j] / total * 100.0;
    }
    Some(FittedWeights {
        weights: round_to_total(&shares, 100),
        shares,
        has_data,
        fit,
    })
}

/// Scores like the pipeline would with `weights`: the weighted mean of the
/// present groups' points (groups of weight 0 not used), rounded as SPEC §4
/// rounds (9 decimals, then half away from zero); None with none present.
pub fn score_with_weights(points: &[Vec<Option<f64>>], weights: &[f64], i: usize) -> Option<f64> {
    let mut num = 0.0;
    let mut den = 0.0;
    for (g, w) in weights.iter().enumerate() {
        if *w > 0.0 {
            if let Some(v) = points[g][i] {
                num += w * v;
                den += w;
            }
        }
    }
    (den > 0.0)
        .then(|| ((num / den) * 1e9).round() / 1e9)
        .map(f64::round)
}

fn auc_of(scores: Vec<Option<f64>>, churned: &[bool]) -> Result<Option<f64>> {
    let df = DataFrame::new_infer_height(vec![
        Column::new(SCORE.into(), scores),
        Column::new(CHURNED.into(), churned.to_vec()),
    ])
    .map_err(pl("AUC"))?;
    auc(&df, SCORE, CHURNED)
}

/// One group's current and suggested weight.
#[derive(Debug, Clone, Serialize)]
pub struct GroupWeight {
    /// Group name.
    pub group: String,
    /// Weight in the pipeline.
    pub current: f64,
    /// Current weight as a share of the scorecard's total, in %.
    pub current_share: f64,
    /// Suggested integer weight (fitted on all dates; sums to 100).
    pub suggested: Option<i64>,
    /// The fitted share before rounding.
    pub suggested_share: Option<f64>,
}

/// Out-of-time validation of the fitted weights.
#[derive(Debug, Clone, Serialize)]
pub struct Validation {
    /// Dates the weights were fitted on.
    pub fit_dates: Vec<String>,
    /// Dates they were evaluated on.
    pub eval_dates: Vec<String>,
    /// Weights fitted on the fit dates only.
    pub weights: Option<Vec<i64>>,
    /// AUC of the current score on the evaluation dates.
    pub current_auc: Option<f64>,
    /// AUC of the score with the fitted weights on the evaluation dates.
    pub suggested_auc: Option<f64>,
}

/// Suggested weights of one scorecard.
#[derive(Debug, Clone, Serialize)]
pub struct WeightSuggestion {
    /// Scorecard name.
    pub scorecard: String,
    /// Its predicate, as written.
    pub when: Option<String>,
    /// Account-dates with a score used to fit.
    pub accounts: usize,
    /// Churners among them.
    pub churned: usize,
    /// Per group, declared order.
    pub groups: Vec<GroupWeight>,
    /// Why there is no suggestion, when there is none.
    pub note: Option<String>,
    /// AUC of the current score over all dates.
    pub current_auc: Option<f64>,
    /// AUC of the score with the suggested weights over all dates (in sample).
    pub suggested_auc: Option<f64>,
    /// Fitted on the earlier half of the dates, evaluated on the later half.
    pub out_of_time: Option<Validation>,
    /// Whether the suggestion is worth trying: false when, out of time, the
    /// weights fitted on the earlier dates rank the later dates' churners
    /// worse than the current weights do (then keep the current weights);
    /// true otherwise (also without an out-of-time check).
    pub recommended: bool,
    /// The regression behind the suggestion (coefficients of the groups
    /// with data, in declared order).
    pub fit: Option<LogisticFit>,
}

/// Fewest churners (and non-churners) a scorecard needs for a fit.
pub const MIN_CHURNERS_TO_FIT: usize = 20;

/// How many of `k` dates (≥ 2) the out-of-time fit uses: the earlier half.
fn fit_date_count(k: usize) -> usize {
    (k / 2).max(1)
}

fn suggest_weights(
    p: &Pipeline,
    pooled: &DataFrame,
    dates: &[NaiveDate],
    l2: f64,
) -> Result<Vec<WeightSuggestion>> {
    let mut out = Vec::new();
    for sc in &p.scorecards {
        let rows = pooled
            .clone()
            .lazy()
            .filter(
                col(SCORECARD)
                    .eq(lit(sc.name.as_str()))
                    .and(col(SCORE).is_not_null()),
            )
            .collect()
            .map_err(pl("weights"))?;
        let churned = bools(&rows, CHURNED)?;
        let as_of: Vec<i32> = rows
            .column(AS_OF)
            .map_err(pl("weights"))?
            .i32()
            .map_err(pl("weights"))?
            .iter()
            .map(|v| v.unwrap_or(0))
            .collect();
        let points: Vec<Vec<Option<f64>>> = p
            .groups
            .iter()
            .map(|g| f64s(&rows, &group_points_column(&g.name)))
            .collect::<Result<_>>()?;
        let current: Vec<f64> = sc.weights.clone();
        let current_total: f64 = current.iter().sum::<f64>().max(1e-12);
        let n_pos = churned.iter().filter(|v| **v).count();
        let n_neg = churned.len() - n_pos;
        let current_auc = auc(&rows, SCORE, CHURNED)?;
        let mut s = WeightSuggestion {
            scorecard: sc.name.clone(),
            when: sc.when.as_ref().map(|w| w.text.clone()),
            accounts: churned.len(),
            churned: n_pos,
            groups: Vec::new(),
            note: None,
            current_auc,
            suggested_auc: None,
            out_of_time: None,
            recommended: false,
            fit: None,
        };
        let fitted = if n_pos < MIN_CHURNERS_TO_FIT || n_neg < MIN_CHURNERS_TO_FIT {
            s.note = Some(format!(
                "too few outcomes to fit ({n_pos} churned, {n_neg} retained; at least {MIN_CHURNERS_TO_FIT} of each needed): keep the current weights"
            ));
            None
        } else {
            let f = fit_group_weights(&points, &churned, l2);
            if f.is_none() {
                s.note =
                    Some("no group's points predict churn here: keep the current weights".into());
            }
            f
        };
        if let Some(f) = &fitted {
            let w: Vec<f64> = f.weights.iter().map(|v| *v as f64).collect();
            let scored: Vec<Option<f64>> = (0..churned.len())
                .map(|i| score_with_weights(&points, &w, i))
                .collect();
            s.suggested_auc = auc_of(scored, &churned)?;
            s.fit = Some(f.fit.clone());
        }
        // Out of time: fit on the earlier half of the dates, evaluate later.
        if dates.len() >= 2 && fitted.is_some() {
            let n_fit = fit_date_count(dates.len());
            let split = day_of(dates[n_fit]);
            let fit_idx: Vec<usize> = (0..as_of.len()).filter(|&i| as_of[i] < split).collect();
            let eval_idx: Vec<usize> = (0..as_of.len()).filter(|&i| as_of[i] >= split).collect();
            let take = |idx: &[usize]| -> (Vec<Vec<Option<f64>>>, Vec<bool>) {
                (
                    points
                        .iter()
                        .map(|g| idx.iter().map(|&i| g[i]).collect())
                        .collect(),
                    idx.iter().map(|&i| churned[i]).collect(),
                )
            };
            let (fp, fy) = take(&fit_idx);
            let (ep, ey) = take(&eval_idx);
            let early = fit_group_weights(&fp, &fy, l2);
            let current_scores: Vec<Option<f64>> = eval_idx
                .iter()
                .map(|&i| score_with_weights(&points, &current, i))
                .collect();
            let suggested_auc = match &early {
                Some(e) => {
                    let w: Vec<f64> = e.weights.iter().map(|v| *v as f64).collect();
                    auc_of(
                        (0..ey.len())
                            .map(|i| score_with_weights(&ep, &w, i))
                            .collect(),
                        &ey,
                    )?
                }
                None => None,
            };
            s.out_of_time = Some(Validation {
                fit_dates: dates[..n_fit].iter().map(|d| d.to_string()).collect(),
                eval_dates: dates[n_fit..].iter().map(|d| d.to_string()).collect(),
                weights: early.map(|e| e.weights),
                current_auc: auc_of(current_scores, &ey)?,
                suggested_auc,
            });
        }
        s.recommended = fitted.is_some()
            && match &s.out_of_time {
                Some(v) => match (v.suggested_auc, v.current_auc) {
                    (Some(a), Some(b)) => a >= b,
                    (None, _) => false,
                    (Some(_), None) => true,
                },
                None => true,
            };
        if fitted.is_some() && !s.recommended {
            s.note = Some(
                "out of time, weights fitted on the earlier dates rank the later dates' churners worse than the current weights: keep the current weights (or backtest a longer range)"
                    .into(),
            );
        }
        s.groups = p
            .groups
            .iter()
            .enumerate()
            .map(|(gi, g)| GroupWeight {
                group: g.name.clone(),
                current: current[gi],
                current_share: current[gi] / current_total * 100.0,
                suggested: fitted.as_ref().map(|f| f.weights[gi]),
                suggested_share: fitted.as_ref().map(|f| f.shares[gi]),
            })
            .collect();
        out.push(s);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// One model over all dates
// ---------------------------------------------------------------------------

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

/// Scores every date with `p` and measures it against the labels.
pub fn backtest_model(
    p: &Pipeline,
    open_input: &dyn Fn(NaiveDate) -> Result<Store>,
    labels: &DataFrame,
    alert: &[String],
    opts: &Options,
) -> Result<ModelReport> {
    let ctx = Ctx { p, alert };
    let mut frames = Vec::new();
    let mut per_date = Vec::new();
    for &d in &opts.dates {
        let t = std::time::Instant::now();
        let input = open_input(d)?;
        let checked = run::check_inputs(p, &input, d).map_err(at_date(d))?;
        let scores = run::score_accounts(p, &checked, None).map_err(at_date(d))?;
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

// ---------------------------------------------------------------------------
// Comparison
// ---------------------------------------------------------------------------

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

fn diff(figure: impl Into<String>, a: Option<f64>, b: Option<f64>) -> Diff {
    Diff {
        figure: figure.into(),
        baseline: a,
        candidate: b,
        difference: a.zip(b).map(|(a, b)| b - a),
    }
}

fn compare_models(a: &ModelReport, b: &ModelReport) -> Comparison {
    let mut figures = vec![
        diff("AUC", a.pooled.auc, b.pooled.auc),
        diff(
            "lowest decile capture",
            a.pooled.lowest_decile.as_ref().map(|d| d.capture),
            b.pooled.lowest_decile.as_ref().map(|d| d.capture),
        ),
        diff(
            "lowest decile lift",
            a.pooled.lowest_decile.as_ref().map(|d| d.lift),
            b.pooled.lowest_decile.as_ref().map(|d| d.lift),
        ),
        diff(
            "median lead time (days)",
            a.pooled.lead_time.median_days,
            b.pooled.lead_time.median_days,
        ),
        diff(
            "churners flagged",
            a.pooled.lead_time.flagged_share,
            b.pooled.lead_time.flagged_share,
        ),
    ];
    for ba in &a.pooled.bands {
        let found = b.pooled.bands.iter().find(|x| x.band == ba.band);
        if let Some(bb) = found.filter(|bb| ba.accounts + bb.accounts > 0) {
            figures.push(diff(
                format!("churn rate {}", ba.band),
                ba.churn_rate,
                bb.churn_rate,
            ));
            figures.push(diff(
                format!("share in {}", ba.band),
                (a.pooled.accounts > 0).then(|| ba.accounts as f64 / a.pooled.accounts as f64),
                (b.pooled.accounts > 0).then(|| bb.accounts as f64 / b.pooled.accounts as f64),
            ));
        }
    }
    for sa in &a.by_scorecard {
        if let Some(sb) = b.by_scorecard.iter().find(|x| x.scorecard == sa.scorecard) {
            figures.push(diff(
                format!("AUC scorecard {}", sa.scorecard),
                sa.eval.auc,
                sb.eval.auc,
            ));
        }
    }
    for (da, db) in a.per_date.iter().zip(&b.per_date) {
        figures.push(diff(format!("AUC {}", da.as_of), da.all.auc, db.all.auc));
    }
    Comparison {
        baseline: a.model_version.clone(),
        candidate: b.model_version.clone(),
        figures,
    }
}

// ---------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------

/// The whole report (report.json).
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

fn toml_key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_string()
    } else {
        toml_str(k)
    }
}

fn toml_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn f3(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.3}")).unwrap_or_else(|| "n/a".into())
}

fn pct(v: Option<f64>) -> String {
    v.map(|v| format!("{:.1}%", v * 100.0))
        .unwrap_or_else(|| "n/a".into())
}

fn days(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.0} days"))
        .unwrap_or_else(|| "n/a".into())
}

fn toml_fragment(p: &Pipeline, weights: &[WeightSuggestion], opts: &Options) -> String {
    let mut t = String::new();
    let first = opts
        .dates
        .first()
        .map(|d| d.to_string())
        .unwrap_or_default();
    let last = opts.dates.last().map(|d| d.to_string()).unwrap_or_default();
    let _ = writeln!(
        t,
        "# Group weights suggested by `healthscore backtest` for {} ({} dates {first}..{last}, horizon {}d).",
        p.model_version(),
        opts.dates.len(),
        opts.horizon_days
    );
    let _ = writeln!(
        t,
        "# Suggestions only, never applied: replace the `weights` of each [[scorecards]] entry, keep its playbooks, and bump [pipeline] version."
    );
    for s in weights {
        t.push('\n');
        let _ = writeln!(t, "[[scorecards]]");
        let _ = writeln!(t, "name = {}", toml_str(&s.scorecard));
        if let Some(w) = &s.when {
            let _ = writeln!(t, "when = {}", toml_str(w));
        }
        let suggested: Option<Vec<(String, i64)>> = s
            .groups
            .iter()
            .map(|g| g.suggested.map(|w| (g.group.clone(), w)))
            .collect();
        match suggested {
            Some(ws) => {
                let _ = writeln!(
                    t,
                    "# AUC on all dates: suggested {} vs current {}{}",
                    f3(s.suggested_auc),
                    f3(s.current_auc),
                    match &s.out_of_time {
                        Some(v) => format!(
                            "; out of time (fit on {}, evaluated on {}): suggested {} vs current {}",
                            v.fit_dates.join(","),
                            v.eval_dates.join(","),
                            f3(v.suggested_auc),
                            f3(v.current_auc)
                        ),
                        None => String::new(),
                    }
                );
                let body: Vec<String> = ws
                    .iter()
                    .map(|(g, w)| format!("{} = {w}", toml_key(g)))
                    .collect();
                if s.recommended {
                    let _ = writeln!(t, "weights = {{ {} }}", body.join(", "));
                } else {
                    let _ = writeln!(
                        t,
                        "# fitted, NOT suggested: {{ {} }}\n# {}",
                        body.join(", "),
                        s.note.as_deref().unwrap_or("")
                    );
                    let _ = writeln!(t, "weights = {{ {} }}", current_weights(s));
                }
            }
            None => {
                let _ = writeln!(t, "# {}", s.note.as_deref().unwrap_or("no suggestion"));
                let _ = writeln!(t, "weights = {{ {} }}", current_weights(s));
            }
        }
    }
    t
}

fn current_weights(s: &WeightSuggestion) -> String {
    s.groups
        .iter()
        .map(|g| format!("{} = {}", toml_key(&g.group), fmt_weight(g.current)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn fmt_weight(w: f64) -> String {
    if w.fract() == 0.0 && w.abs() < 1e15 {
        format!("{}", w as i64)
    } else {
        format!("{w}")
    }
}

fn write_report(store: &Store, r: &Report) -> Result<()> {
    let json = serde_json::to_vec_pretty(r)
        .map_err(|e| Error::Internal(format!("serialising the report: {e}")))?;
    store.put("report.json", bytes::Bytes::from(json))?;
    store.put("report.md", bytes::Bytes::from(markdown(r)))?;
    store.put("report.html", bytes::Bytes::from(html(r)))?;
    Ok(())
}

fn band_line(e: &Eval) -> String {
    e.bands
        .iter()
        .filter(|b| b.accounts > 0)
        .map(|b| format!("{} {}", b.band, pct(b.churn_rate)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn outcome(r: &Report, store: &Store) -> Outcome {
    let mut text = String::new();
    for (i, m) in r.models.iter().enumerate() {
        let e = &m.pooled;
        let _ = writeln!(
            text,
            "{}backtest {} on {}: {} dates {}..{} every {}d, horizon {}d",
            if i > 0 { "\n" } else { "" },
            m.model_version,
            r.input,
            r.dates.len(),
            r.dates.first().cloned().unwrap_or_default(),
            r.dates.last().cloned().unwrap_or_default(),
            r.every_days,
            r.horizon_days
        );
        let _ = writeln!(
            text,
            "  AUC {} over {} account-dates, {} churned within {}d ({})",
            f3(e.auc),
            e.accounts,
            e.churned,
            r.horizon_days,
            pct(e.churn_rate)
        );
        let _ = writeln!(
            text,
            "  churn by band: {}{}",
            band_line(e),
            match e.bands_fall {
                Some(true) => " (falls band by band)",
                Some(false) => " (does NOT fall band by band)",
                None => "",
            }
        );
        if let Some(d) = &e.lowest_decile {
            let _ = writeln!(
                text,
                "  lowest-scored decile: {} of churners captured, lift {:.2}",
                pct(Some(d.capture)),
                d.lift
            );
        }
        let _ = writeln!(
            text,
            "  lead time: median {} from the first {} score to churn ({} of {} churners flagged)",
            days(e.lead_time.median_days),
            m.alert_bands.join("/"),
            e.lead_time.flagged,
            e.lead_time.churners
        );
        let per_date: Vec<String> = m
            .per_date
            .iter()
            .map(|d| format!("{} {}", d.as_of, f3(d.all.auc)))
            .collect();
        let _ = writeln!(text, "  AUC per date: {}", per_date.join(", "));
        let per_sc: Vec<String> = m
            .by_scorecard
            .iter()
            .map(|s| {
                format!(
                    "{} {} ({} account-dates, {} churned)",
                    s.scorecard,
                    f3(s.eval.auc),
                    s.eval.scored,
                    s.eval.churned
                )
            })
            .collect();
        let _ = writeln!(text, "  AUC per scorecard: {}", per_sc.join(", "));
        let _ = writeln!(
            text,
            "  suggested weights (not applied; paste into the pipeline):"
        );
        for l in m.toml.lines() {
            if l.is_empty() {
                text.push('\n');
            } else {
                let _ = writeln!(text, "    {l}");
            }
        }
    }
    if let Some(c) = &r.compare {
        let _ = writeln!(text, "\ncompare {} → {}:", c.baseline, c.candidate);
        for f in &c.figures {
            let _ = writeln!(
                text,
                "  {}: {} → {} ({})",
                f.figure,
                fmt_fig(&f.figure, f.baseline),
                fmt_fig(&f.figure, f.candidate),
                fmt_diff(&f.figure, f.difference)
            );
        }
    }
    for n in &r.notes {
        let _ = writeln!(text, "note: {n}");
    }
    let _ = write!(
        text,
        "report: {} (also report.json, report.md)",
        store.url_of("report.html")
    );
    let m = &r.models[0];
    let objects: Vec<String> = ["report.json", "report.md", "report.html"]
        .iter()
        .map(|o| store.url_of(o))
        .collect();
    let json = serde_json::json!({
        "report": store.url(),
        "objects": objects,
        "dates": r.dates,
        "horizon_days": r.horizon_days,
        "models": r.models.iter().map(|m| serde_json::json!({
            "model_version": m.model_version,
            "auc": m.pooled.auc,
            "churn_rate": m.pooled.churn_rate,
            "bands": m.pooled.bands,
            "lowest_decile": m.pooled.lowest_decile,
            "lead_time": m.pooled.lead_time,
            "auc_by_scorecard": m.by_scorecard.iter().map(|s| (s.scorecard.clone(), serde_json::json!(s.eval.auc))).collect::<serde_json::Map<_, _>>(),
            "suggested_weights_toml": m.toml,
        })).collect::<Vec<_>>(),
        "auc": m.pooled.auc,
        "compare": r.compare,
        "notes": r.notes,
    });
    Outcome { text, json }
}

fn is_share(figure: &str) -> bool {
    figure.starts_with("churn rate")
        || figure.starts_with("share")
        || figure.contains("capture")
        || figure.contains("flagged")
}

fn fmt_fig(figure: &str, v: Option<f64>) -> String {
    if is_share(figure) {
        pct(v)
    } else if figure.contains("days") {
        days(v)
    } else {
        f3(v)
    }
}

fn fmt_diff(figure: &str, d: Option<f64>) -> String {
    match d {
        None => "n/a".into(),
        Some(d) if is_share(figure) => format!("{:+.1} pts", d * 100.0),
        Some(d) if figure.contains("days") => format!("{d:+.0} days"),
        Some(d) => format!("{d:+.3}"),
    }
}

// --- Markdown --------------------------------------------------------------

fn markdown(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Backtest: does the health score foresee churn?\n");
    let _ = writeln!(
        s,
        "Input `{}`, labels `{}` ({} churn dates of {} customers, {}..{}). {} as-of dates {}..{} every {} days; churn counts when it happens within {} days after the date. Accounts that had churned by a date are left out of it. {}.\n",
        r.input,
        r.labels.location,
        r.labels.rows - r.labels.rows_with_nulls,
        r.labels.customers,
        r.labels.earliest_churned_on.as_deref().unwrap_or("?"),
        r.labels.latest_churned_on.as_deref().unwrap_or("?"),
        r.dates.len(),
        r.dates.first().cloned().unwrap_or_default(),
        r.dates.last().cloned().unwrap_or_default(),
        r.every_days,
        r.horizon_days,
        r.tool
    );
    for n in &r.notes {
        let _ = writeln!(s, "> Note: {n}\n");
    }
    for m in &r.models {
        let e = &m.pooled;
        let _ = writeln!(s, "## {}\n", m.model_version);
        let _ = writeln!(
            s,
            "Pipeline `{}` (sha256 `{}`).\n",
            m.pipeline_file, m.pipeline_sha256
        );
        let _ = writeln!(s, "| figure | all dates |\n|---|---|");
        let _ = writeln!(s, "| account-dates | {} |", e.accounts);
        let _ = writeln!(
            s,
            "| churned within {}d | {} ({}) |",
            r.horizon_days,
            e.churned,
            pct(e.churn_rate)
        );
        let _ = writeln!(s, "| ROC AUC (lower score = riskier) | **{}** |", f3(e.auc));
        if let Some(d) = &e.lowest_decile {
            let _ = writeln!(
                s,
                "| lowest-scored decile: churn rate | {} |",
                pct(Some(d.churn_rate))
            );
            let _ = writeln!(
                s,
                "| lowest-scored decile: capture | {} |",
                pct(Some(d.capture))
            );
            let _ = writeln!(s, "| lowest-scored decile: lift | {:.2} |", d.lift);
        }
        let _ = writeln!(
            s,
            "| median lead time ({}) | {} |",
            m.alert_bands.join("/"),
            days(e.lead_time.median_days)
        );
        let _ = writeln!(
            s,
            "| churners flagged before churning | {} of {} ({}) |\n",
            e.lead_time.flagged,
            e.lead_time.churners,
            pct(e.lead_time.flagged_share)
        );
        let _ = writeln!(s, "### Churn rate per band\n");
        let _ = writeln!(
            s,
            "| band | account-dates | churned | churn rate |\n|---|---:|---:|---:|"
        );
        for b in &e.bands {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} |",
                b.band,
                b.accounts,
                b.churned,
                pct(b.churn_rate)
            );
        }
        let _ = writeln!(
            s,
            "\nChurn {} from the lowest band to the highest.\n",
            match e.bands_fall {
                Some(true) => "falls",
                Some(false) => "does **not** fall steadily",
                None => "cannot be compared",
            }
        );
        let _ = writeln!(s, "### Per date\n");
        let _ = writeln!(s, "| as of | account-dates | already churned (left out) | churned | AUC | decile capture | decile lift | median days to churn (flagged) |\n|---|---:|---:|---:|---:|---:|---:|---:|");
        for d in &m.per_date {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} ({}) | {} | {} | {} | {} |",
                d.as_of,
                d.all.accounts,
                d.already_churned,
                d.all.churned,
                pct(d.all.churn_rate),
                f3(d.all.auc),
                pct(d.all.lowest_decile.as_ref().map(|x| x.capture)),
                d.all
                    .lowest_decile
                    .as_ref()
                    .map(|x| format!("{:.2}", x.lift))
                    .unwrap_or_else(|| "n/a".into()),
                days(d.all.lead_time.median_days)
            );
        }
        let _ = writeln!(s, "\n### Per scorecard (all dates)\n");
        let _ = writeln!(s, "| scorecard | account-dates | churned | AUC | decile capture | decile lift | median lead time | churn per band |\n|---|---:|---:|---:|---:|---:|---:|---|");
        for sc in &m.by_scorecard {
            let e = &sc.eval;
            let _ = writeln!(
                s,
                "| {} | {} | {} ({}) | {} | {} | {} | {} | {} |",
                sc.scorecard,
                e.accounts,
                e.churned,
                pct(e.churn_rate),
                f3(e.auc),
                pct(e.lowest_decile.as_ref().map(|x| x.capture)),
                e.lowest_decile
                    .as_ref()
                    .map(|x| format!("{:.2}", x.lift))
                    .unwrap_or_else(|| "n/a".into()),
                days(e.lead_time.median_days),
                band_line(e)
            );
        }
        let _ = writeln!(s, "\n### Each signal on its own (AUC, all dates)\n");
        let mut header = String::from("| signal | kind | all");
        let mut rule = String::from("|---|---|---:");
        for sc in &m.by_scorecard {
            let _ = write!(header, " | {}", sc.scorecard);
            rule.push_str("|---:");
        }
        let _ = writeln!(s, "{header} |\n{rule}|");
        for (kind, list, per) in [("group", &e.groups, 0usize), ("metric", &e.metrics, 1usize)] {
            for (i, g) in list.iter().enumerate() {
                let mut line = format!("| {} | {} | {}", g.name, kind, f3(g.auc));
                for sc in &m.by_scorecard {
                    let v = if per == 0 {
                        &sc.eval.groups
                    } else {
                        &sc.eval.metrics
                    };
                    let _ = write!(line, " | {}", f3(v.get(i).and_then(|x| x.auc)));
                }
                let _ = writeln!(s, "{line} |");
            }
        }
        let _ = writeln!(s, "\n### Suggested group weights (not applied)\n");
        for w in &m.weights {
            let _ = writeln!(
                s,
                "**{}** — {} account-dates, {} churned.",
                w.scorecard, w.accounts, w.churned
            );
            if w.fit.is_none() {
                let _ = writeln!(s, "{}.\n", w.note.as_deref().unwrap_or("no suggestion"));
                continue;
            }
            let _ = writeln!(
                s,
                "AUC on all dates: suggested {} vs current {}.{}{}\n",
                f3(w.suggested_auc),
                f3(w.current_auc),
                match &w.out_of_time {
                    Some(v) => format!(
                        " Out of time (fitted on {}, evaluated on {}): suggested {} vs current {}.",
                        v.fit_dates.join(", "),
                        v.eval_dates.join(", "),
                        f3(v.suggested_auc),
                        f3(v.current_auc)
                    ),
                    None => String::new(),
                },
                w.note
                    .as_ref()
                    .map(|n| format!(" **Not suggested**: {n}."))
                    .unwrap_or_default()
            );
            let _ = writeln!(
                s,
                "| group | current | current share | suggested |\n|---|---:|---:|---:|"
            );
            for g in &w.groups {
                let _ = writeln!(
                    s,
                    "| {} | {} | {:.0}% | {} |",
                    g.group,
                    fmt_weight(g.current),
                    g.current_share,
                    g.suggested
                        .map(|v| v.to_string())
                        .unwrap_or_else(|| "n/a".into())
                );
            }
            s.push('\n');
        }
        let _ = writeln!(s, "```toml\n{}```\n", m.toml);
    }
    if let Some(c) = &r.compare {
        let _ = writeln!(s, "## Compare {} → {}\n", c.baseline, c.candidate);
        let _ = writeln!(
            s,
            "| figure | {} | {} | difference |\n|---|---:|---:|---:|",
            c.baseline, c.candidate
        );
        for f in &c.figures {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} |",
                f.figure,
                fmt_fig(&f.figure, f.baseline),
                fmt_fig(&f.figure, f.candidate),
                fmt_diff(&f.figure, f.difference)
            );
        }
        s.push('\n');
    }
    s
}

// --- HTML ------------------------------------------------------------------

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A CSS colour for a band colour name (only safe characters pass through).
fn css_color(c: &str) -> String {
    match c.to_ascii_lowercase().as_str() {
        "red" => "#d64541".into(),
        "yellow" | "amber" | "orange" => "#e6a23c".into(),
        "green" => "#3c9d5d".into(),
        "grey" | "gray" => "#9aa0a6".into(),
        other
            if !other.is_empty()
                && other
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '#') =>
        {
            other.to_string()
        }
        _ => "#888".into(),
    }
}

const PALETTE: [&str; 8] = [
    "#1f4e79", "#c0504d", "#4f9a3a", "#8064a2", "#f39c12", "#2aa198", "#7f6000", "#d33682",
];

struct Plot {
    w: f64,
    h: f64,
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
}

impl Plot {
    fn x(&self, v: f64) -> f64 {
        self.left + v * (self.w - self.left - self.right)
    }
    fn y(&self, v: f64) -> f64 {
        self.h - self.bottom - v * (self.h - self.top - self.bottom)
    }
    fn open(&self, title: &str) -> String {
        format!(
            r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="{t}"><title>{t}</title><rect x="0" y="0" width="{w}" height="{h}" fill="#fff"/>"##,
            w = self.w,
            h = self.h,
            t = esc(title)
        )
    }
    /// Axes with ticks 0..1 on both (labels formatted by `fx`/`fy`).
    fn axes(&self, xt: &[(f64, String)], yt: &[(f64, String)], xl: &str, yl: &str) -> String {
        let mut s = String::new();
        for (v, l) in yt {
            let y = self.y(*v);
            let _ = write!(
                s,
                r##"<line x1="{}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="#e5e5e5"/><text x="{}" y="{:.1}" font-size="11" text-anchor="end" fill="#555">{}</text>"##,
                self.left,
                self.w - self.right,
                self.left - 6.0,
                y + 4.0,
                esc(l)
            );
        }
        for (v, l) in xt {
            let x = self.x(*v);
            let _ = write!(
                s,
                r##"<line x1="{x:.1}" y1="{}" x2="{x:.1}" y2="{}" stroke="#ccc"/><text x="{x:.1}" y="{}" font-size="11" text-anchor="middle" fill="#555">{}</text>"##,
                self.h - self.bottom,
                self.h - self.bottom + 4.0,
                self.h - self.bottom + 17.0,
                esc(l)
            );
        }
        let _ = write!(
            s,
            r##"<line x1="{l}" y1="{b}" x2="{r}" y2="{b}" stroke="#333"/><line x1="{l}" y1="{t}" x2="{l}" y2="{b}" stroke="#333"/>"##,
            l = self.left,
            r = self.w - self.right,
            t = self.top,
            b = self.h - self.bottom
        );
        let _ = write!(
            s,
            r##"<text x="{:.1}" y="{:.1}" font-size="12" text-anchor="middle" fill="#333">{}</text>"##,
            (self.left + self.w - self.right) / 2.0,
            self.h - 6.0,
            esc(xl)
        );
        let _ = write!(
            s,
            r##"<text transform="translate(14,{:.1}) rotate(-90)" font-size="12" text-anchor="middle" fill="#333">{}</text>"##,
            (self.top + self.h - self.bottom) / 2.0,
            esc(yl)
        );
        s
    }
}

fn ticks(n: usize, max: f64, fmt: impl Fn(f64) -> String) -> Vec<(f64, String)> {
    (0..=n)
        .map(|i| {
            let f = i as f64 / n as f64;
            (f, fmt(f * max))
        })
        .collect()
}

fn legend(items: &[(String, String, bool)], x: f64, y: f64) -> String {
    let mut s = String::new();
    for (i, (label, color, dashed)) in items.iter().enumerate() {
        let yy = y + i as f64 * 16.0;
        let _ = write!(
            s,
            r##"<line x1="{x}" y1="{yy}" x2="{}" y2="{yy}" stroke="{color}" stroke-width="2.5"{}/><text x="{}" y="{}" font-size="11" fill="#333">{}</text>"##,
            x + 22.0,
            if *dashed {
                r#" stroke-dasharray="5,3""#
            } else {
                ""
            },
            x + 28.0,
            yy + 4.0,
            esc(label)
        );
    }
    s
}

/// One ROC curve to draw: label, colour, dashed, AUC, points.
type RocCurve = (String, String, bool, f64, Vec<[f64; 2]>);

fn svg_roc(curves: &[RocCurve]) -> String {
    let pl = Plot {
        w: 440.0,
        h: 420.0,
        left: 52.0,
        right: 16.0,
        top: 16.0,
        bottom: 44.0,
    };
    let mut s = pl.open("ROC curve");
    let t = ticks(5, 1.0, |v| format!("{v:.1}"));
    s.push_str(&pl.axes(
        &t,
        &t,
        "false positive rate (retained accounts flagged)",
        "true positive rate (churners flagged)",
    ));
    let _ = write!(
        s,
        r##"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#999" stroke-dasharray="4,4"/>"##,
        pl.x(0.0),
        pl.y(0.0),
        pl.x(1.0),
        pl.y(1.0)
    );
    let mut items = Vec::new();
    for (label, color, dashed, width, pts) in curves {
        if pts.is_empty() {
            continue;
        }
        let path: Vec<String> = pts
            .iter()
            .map(|p| format!("{:.1},{:.1}", pl.x(p[0]), pl.y(p[1])))
            .collect();
        let _ = write!(
            s,
            r##"<polyline points="{}" fill="none" stroke="{color}" stroke-width="{width}"{}/>"##,
            path.join(" "),
            if *dashed {
                r#" stroke-dasharray="6,3""#
            } else {
                ""
            }
        );
        items.push((label.clone(), color.clone(), *dashed));
    }
    s.push_str(&legend(
        &items,
        pl.x(0.42),
        pl.y(0.05) - 16.0 * items.len() as f64 + 8.0,
    ));
    s.push_str("</svg>");
    s
}

/// A round axis maximum ≥ `v` (a share, at most 1) and its tick count.
fn nice_max(v: f64) -> (f64, usize) {
    let steps = [
        (0.01, 5),
        (0.02, 4),
        (0.05, 5),
        (0.1, 5),
        (0.2, 4),
        (0.25, 5),
        (0.3, 6),
        (0.4, 4),
        (0.5, 5),
        (0.6, 6),
        (0.8, 4),
    ];
    steps.into_iter().find(|(s, _)| v <= *s).unwrap_or((1.0, 5))
}

fn pct_tick(v: f64) -> String {
    let p = v * 100.0;
    if (p - p.round()).abs() > 1e-6 {
        format!("{:.1}%", v * 100.0)
    } else {
        format!("{:.0}%", v * 100.0)
    }
}

fn svg_bands(models: &[&ModelReport]) -> String {
    let pl = Plot {
        w: 440.0,
        h: 420.0,
        left: 52.0,
        right: 16.0,
        top: 24.0,
        bottom: 58.0,
    };
    let mut s = pl.open("Churn rate by band");
    let max = models
        .iter()
        .flat_map(|m| m.pooled.bands.iter().filter_map(|b| b.churn_rate))
        .fold(0.0, f64::max);
    let (top, nt) = nice_max(max * 1.1);
    s.push_str(&pl.axes(
        &[],
        &ticks(nt, top, pct_tick),
        "",
        "churn rate within the horizon",
    ));
    let bands: Vec<&BandRate> = models[0]
        .pooled
        .bands
        .iter()
        .filter(|b| b.accounts > 0)
        .collect();
    let n = bands.len().max(1) as f64;
    let slot = 1.0 / n;
    let k = models.len() as f64;
    for (i, b) in bands.iter().enumerate() {
        for (mi, m) in models.iter().enumerate() {
            let Some(mb) = m.pooled.bands.iter().find(|x| x.band == b.band) else {
                continue;
            };
            let rate = mb.churn_rate.unwrap_or(0.0);
            let bw = slot * 0.7 / k;
            let x0 = i as f64 * slot + slot * 0.15 + mi as f64 * bw;
            let (x, y) = (pl.x(x0), pl.y(rate / top));
            let w = pl.x(x0 + bw) - x;
            let h = pl.y(0.0) - y;
            let _ = write!(
                s,
                r##"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="{}" opacity="{}"><title>{}: {} of {} churned ({})</title></rect><text x="{:.1}" y="{:.1}" font-size="11" text-anchor="middle" fill="#222">{}</text>"##,
                css_color(&mb.color),
                if mi == 0 { "1" } else { "0.55" },
                esc(&format!("{} {}", m.model_version, mb.band)),
                mb.churned,
                mb.accounts,
                pct(mb.churn_rate),
                x + w / 2.0,
                y - 4.0,
                pct(mb.churn_rate)
            );
        }
        let cx = pl.x(i as f64 * slot + slot / 2.0);
        let _ = write!(
            s,
            r##"<text x="{cx:.1}" y="{:.1}" font-size="12" text-anchor="middle" fill="#222">{}</text><text x="{cx:.1}" y="{:.1}" font-size="10" text-anchor="middle" fill="#777">n={}</text>"##,
            pl.y(0.0) + 16.0,
            esc(&b.band),
            pl.y(0.0) + 30.0,
            b.accounts
        );
    }
    if models.len() > 1 {
        let _ = write!(
            s,
            r##"<text x="{}" y="14" font-size="11" fill="#555">left: {}, right (lighter): {}</text>"##,
            pl.left,
            esc(&models[0].model_version),
            esc(&models[1].model_version)
        );
    }
    s.push_str("</svg>");
    s
}

fn svg_histogram(e: &Eval) -> String {
    let pl = Plot {
        w: 900.0,
        h: 300.0,
        left: 52.0,
        right: 16.0,
        top: 28.0,
        bottom: 44.0,
    };
    let mut s = pl.open("Score distribution by outcome");
    let max = e
        .score_histogram
        .iter()
        .map(|b| b.churned_share.max(b.retained_share))
        .fold(0.0, f64::max);
    let (top, nt) = nice_max(max * 1.1);
    let xt: Vec<(f64, String)> = (0..=10)
        .map(|i| (i as f64 / 10.0, format!("{}", i * 10)))
        .collect();
    s.push_str(&pl.axes(
        &xt,
        &ticks(nt, top, pct_tick),
        "score (bins of 5 points)",
        "share of the outcome group",
    ));
    let nb = e.score_histogram.len().max(1) as f64;
    for (i, b) in e.score_histogram.iter().enumerate() {
        let x0 = i as f64 / nb;
        let bw = 1.0 / nb * 0.42;
        for (k, (v, color, label, n)) in [
            (b.retained_share, "#5b8fd4", "retained", b.retained),
            (b.churned_share, "#d64541", "churned", b.churned),
        ]
        .into_iter()
        .enumerate()
        {
            let xs = x0 + 0.08 / nb + k as f64 * bw;
            let (x, y) = (pl.x(xs), pl.y(v / top));
            let w = pl.x(xs + bw) - x;
            let _ = write!(
                s,
                r##"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{:.1}" fill="{color}"><title>score {}-{}: {label} {:.0} ({:.1}%)</title></rect>"##,
                pl.y(0.0) - y,
                b.from,
                b.to,
                n,
                v * 100.0
            );
        }
    }
    s.push_str(&legend(
        &[
            ("retained".into(), "#5b8fd4".into(), false),
            ("churned within the horizon".into(), "#d64541".into(), false),
        ],
        pl.x(0.75),
        pl.top + 6.0,
    ));
    s.push_str("</svg>");
    s
}

fn svg_auc_by_date(models: &[&ModelReport]) -> String {
    let pl = Plot {
        w: 440.0,
        h: 300.0,
        left: 52.0,
        right: 24.0,
        top: 20.0,
        bottom: 44.0,
    };
    let mut s = pl.open("AUC per as-of date");
    let dates: Vec<String> = models[0].per_date.iter().map(|d| d.as_of.clone()).collect();
    let n = dates.len();
    let xpos = |i: usize| {
        if n <= 1 {
            0.5
        } else {
            0.05 + 0.9 * i as f64 / (n - 1) as f64
        }
    };
    let step = (n / 6).max(1);
    let xt: Vec<(f64, String)> = dates
        .iter()
        .enumerate()
        .filter(|(i, _)| i % step == 0 || *i == n - 1)
        .map(|(i, d)| (xpos(i), d.clone()))
        .collect();
    let yt: Vec<(f64, String)> = (0..=5)
        .map(|i| (i as f64 / 5.0, format!("{:.1}", 0.5 + i as f64 * 0.1)))
        .collect();
    s.push_str(&pl.axes(&xt, &yt, "as-of date", "ROC AUC"));
    let yv = |a: f64| ((a - 0.5) / 0.5).clamp(0.0, 1.0);
    let mut items = Vec::new();
    for (mi, m) in models.iter().enumerate() {
        let color = PALETTE[mi % PALETTE.len()];
        let pts: Vec<(f64, f64, f64)> = m
            .per_date
            .iter()
            .enumerate()
            .filter_map(|(i, d)| d.all.auc.map(|a| (pl.x(xpos(i)), pl.y(yv(a)), a)))
            .collect();
        let path: Vec<String> = pts
            .iter()
            .map(|(x, y, _)| format!("{x:.1},{y:.1}"))
            .collect();
        let _ = write!(
            s,
            r##"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2"{}/>"##,
            path.join(" "),
            if mi > 0 {
                r#" stroke-dasharray="6,3""#
            } else {
                ""
            }
        );
        for (x, y, a) in &pts {
            let _ = write!(
                s,
                r##"<circle cx="{x:.1}" cy="{y:.1}" r="3.5" fill="{color}"><title>{a:.3}</title></circle>"##
            );
        }
        items.push((m.model_version.clone(), color.to_string(), mi > 0));
    }
    s.push_str(&legend(
        &items,
        pl.x(0.05),
        pl.y(0.12) - 16.0 * (items.len() as f64 - 1.0),
    ));
    s.push_str("</svg>");
    s
}

fn svg_signals(e: &Eval) -> String {
    let rows: Vec<(&SignalAuc, &str)> = e
        .groups
        .iter()
        .map(|g| (g, "group"))
        .chain(e.metrics.iter().map(|m| (m, "metric")))
        .collect();
    let row_h = 20.0;
    let pl = Plot {
        w: 900.0,
        h: 60.0 + row_h * rows.len() as f64,
        left: 230.0,
        right: 60.0,
        top: 12.0,
        bottom: 44.0,
    };
    let mut s = pl.open("AUC of each signal on its own");
    let xt: Vec<(f64, String)> = (0..=5)
        .map(|i| (i as f64 / 5.0, format!("{:.1}", 0.5 + i as f64 * 0.1)))
        .collect();
    s.push_str(&pl.axes(
        &xt,
        &[],
        "ROC AUC on its own (0.5 = no better than chance)",
        "",
    ));
    for (i, (sig, kind)) in rows.iter().enumerate() {
        let y = pl.top + i as f64 * row_h + 3.0;
        let a = sig.auc.unwrap_or(0.5);
        let w = pl.x(((a - 0.5) / 0.5).clamp(0.0, 1.0)) - pl.left;
        let color = if *kind == "group" {
            "#1f4e79"
        } else {
            "#7aa6d6"
        };
        let _ = write!(
            s,
            r##"<text x="{}" y="{:.1}" font-size="11" text-anchor="end" fill="#222">{}{}</text><rect x="{}" y="{y:.1}" width="{w:.1}" height="{:.1}" fill="{color}"><title>{} (n={})</title></rect><text x="{:.1}" y="{:.1}" font-size="11" fill="#222">{}</text>"##,
            pl.left - 6.0,
            y + row_h * 0.6,
            if *kind == "group" { "group " } else { "" },
            esc(&sig.name),
            pl.left,
            row_h - 6.0,
            f3(sig.auc),
            sig.accounts,
            pl.left + w + 4.0,
            y + row_h * 0.6,
            f3(sig.auc)
        );
    }
    s.push_str("</svg>");
    s
}

fn svg_weights(w: &WeightSuggestion) -> String {
    let row_h = 26.0;
    let pl = Plot {
        w: 440.0,
        h: 88.0 + row_h * w.groups.len() as f64,
        left: 100.0,
        right: 40.0,
        top: 44.0,
        bottom: 44.0,
    };
    let mut s = pl.open(&format!("Weights of scorecard {}", w.scorecard));
    let max = w
        .groups
        .iter()
        .map(|g| g.current_share.max(g.suggested.unwrap_or(0) as f64))
        .fold(0.0, f64::max)
        / 100.0;
    let (top, nt) = nice_max(max * 1.05);
    s.push_str(&pl.axes(&ticks(nt, top, pct_tick), &[], "share of the score", ""));
    for (i, g) in w.groups.iter().enumerate() {
        let y = pl.top + i as f64 * row_h + 2.0;
        let _ = write!(
            s,
            r##"<text x="{}" y="{:.1}" font-size="11" text-anchor="end" fill="#222">{}</text>"##,
            pl.left - 6.0,
            y + row_h * 0.5,
            esc(&g.group)
        );
        for (k, (v, color)) in [
            (g.current_share, "#b0b0b0"),
            (g.suggested.unwrap_or(0) as f64, "#1f4e79"),
        ]
        .into_iter()
        .enumerate()
        {
            let yy = y + k as f64 * (row_h - 6.0) / 2.0;
            let wd = pl.x((v / 100.0 / top).min(1.0)) - pl.left;
            let _ = write!(
                s,
                r##"<rect x="{}" y="{yy:.1}" width="{wd:.1}" height="{:.1}" fill="{color}"/><text x="{:.1}" y="{:.1}" font-size="9" fill="#444">{v:.0}</text>"##,
                pl.left,
                (row_h - 6.0) / 2.0 - 1.0,
                pl.left + wd + 3.0,
                yy + (row_h - 6.0) / 2.0 - 3.0
            );
        }
    }
    s.push_str(&legend(
        &[
            ("current".into(), "#b0b0b0".into(), false),
            ("suggested".into(), "#1f4e79".into(), false),
        ],
        pl.x(0.6),
        12.0,
    ));
    s.push_str("</svg>");
    s
}

fn html(r: &Report) -> String {
    let mut s = String::new();
    let m0 = &r.models[0];
    let all: Vec<&ModelReport> = r.models.iter().collect();
    let _ = write!(
        s,
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>healthscore backtest — {}</title>
<style>
body{{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px auto;max-width:960px;color:#222;line-height:1.4;padding:0 12px}}
h1{{font-size:24px;margin-bottom:4px}} h2{{font-size:19px;margin-top:32px;border-bottom:1px solid #ddd;padding-bottom:4px}} h3{{font-size:16px;margin-top:22px}}
.sub{{color:#666;font-size:13px}} .kpis{{display:flex;flex-wrap:wrap;gap:12px;margin:18px 0}}
.kpi{{border:1px solid #ddd;border-radius:8px;padding:10px 14px;min-width:150px;background:#fafafa}}
.kpi b{{display:block;font-size:24px}} .kpi span{{font-size:12px;color:#555}}
.row{{display:flex;flex-wrap:wrap;gap:16px}} figure{{margin:0}} .row figure{{max-width:450px}} figcaption{{font-size:13px;color:#444;margin:4px 0 12px}}
table{{border-collapse:collapse;font-size:13px;margin:8px 0 16px}} th,td{{border:1px solid #ddd;padding:4px 8px;text-align:right}} th:first-child,td:first-child{{text-align:left}}
th{{background:#f3f3f3}} pre{{background:#f6f8fa;border:1px solid #ddd;padding:10px;font-size:12px;white-space:pre-wrap}}
.note{{background:#fff8e1;border-left:4px solid #e6a23c;padding:6px 10px;font-size:13px;margin:8px 0}}
.good{{color:#2e7d32}} .bad{{color:#c62828}}
</style></head><body>
<h1>Does the health score foresee churn?</h1>
<div class="sub">{} · {} · {} as-of dates {}..{} every {} days · churn within {} days after each date · labels <code>{}</code> · {}</div>
"#,
        esc(&m0.model_version),
        esc(&m0.model_version),
        esc(&r.input),
        r.dates.len(),
        esc(r.dates.first().map(String::as_str).unwrap_or("")),
        esc(r.dates.last().map(String::as_str).unwrap_or("")),
        r.every_days,
        r.horizon_days,
        esc(&r.labels.location),
        esc(&r.tool)
    );
    let e = &m0.pooled;
    let _ = writeln!(
        s,
        r#"<div class="kpis"><div class="kpi"><b>{}</b><span>ROC AUC (0.5 = chance, 1 = perfect)</span></div><div class="kpi"><b>{}</b><span>churned within {} days ({} of {} account-dates)</span></div><div class="kpi"><b>{}</b><span>of churners in the lowest-scored 10% (lift {})</span></div><div class="kpi"><b>{}</b><span>median warning before churn ({} of churners flagged {})</span></div></div>"#,
        f3(e.auc),
        pct(e.churn_rate),
        r.horizon_days,
        e.churned,
        e.accounts,
        pct(e.lowest_decile.as_ref().map(|d| d.capture)),
        e.lowest_decile
            .as_ref()
            .map(|d| format!("{:.2}", d.lift))
            .unwrap_or_else(|| "n/a".into()),
        days(e.lead_time.median_days),
        pct(e.lead_time.flagged_share),
        esc(&m0.alert_bands.join("/"))
    );
    for n in &r.notes {
        let _ = writeln!(s, r#"<div class="note">{}</div>"#, esc(n));
    }
    // ROC curves: overall per model, then per scorecard of the first.
    let mut curves = Vec::new();
    for (mi, m) in r.models.iter().enumerate() {
        curves.push((
            format!("{} all (AUC {})", m.model_version, f3(m.pooled.auc)),
            if mi == 0 {
                "#111".to_string()
            } else {
                "#c0504d".to_string()
            },
            mi > 0,
            2.6,
            m.pooled.roc.clone(),
        ));
    }
    for (i, sc) in m0.by_scorecard.iter().enumerate() {
        curves.push((
            format!(
                "{} (AUC {}, {} churned)",
                sc.scorecard,
                f3(sc.eval.auc),
                sc.eval.churned
            ),
            PALETTE[(i + 2) % PALETTE.len()].to_string(),
            false,
            1.4,
            sc.eval.roc.clone(),
        ));
    }
    let _ = write!(
        s,
        r#"<h2>How well the score ranks churners</h2><div class="row"><figure>{}<figcaption>ROC curve, all dates pooled: flagging every account at or below a score catches this share of churners (up) for this share of false alarms (right).</figcaption></figure><figure>{}<figcaption>Churn rate per band: it should fall from the lowest band to the highest{}.</figcaption></figure></div>
<figure>{}<figcaption>Score distribution by outcome: churners (red) should sit to the left of retained accounts (blue).</figcaption></figure>
<div class="row"><figure>{}<figcaption>AUC per as-of date: a stable line means the score works on any day.</figcaption></figure></div>
"#,
        svg_roc(&curves),
        svg_bands(&all),
        match e.bands_fall {
            Some(true) => " — it does",
            Some(false) => " — it does <b class=\"bad\">not</b>",
            None => "",
        },
        svg_histogram(e),
        svg_auc_by_date(&all)
    );
    let _ = writeln!(
        s,
        r#"<h2>Which signals carry the prediction</h2><figure>{}<figcaption>Each group's and metric's points on their own, all accounts and dates (groups in dark blue; a group's points are recomputed from its metrics even where a scorecard gives it no weight).</figcaption></figure>"#,
        svg_signals(e)
    );
    for m in &r.models {
        let _ = write!(s, "<h2>{}: figures</h2>", esc(&m.model_version));
        s.push_str("<h3>Per scorecard, all dates</h3><table><tr><th>scorecard</th><th>account-dates</th><th>churned</th><th>AUC</th><th>decile capture</th><th>decile lift</th><th>median lead time</th><th>churn per band (lowest band first)</th></tr>");
        for sc in m
            .by_scorecard
            .iter()
            .map(|x| (x.scorecard.as_str(), &x.eval))
            .chain(std::iter::once(("all", &m.pooled)))
        {
            let (name, e) = sc;
            let _ = write!(
                s,
                "<tr><td>{}</td><td>{}</td><td>{} ({})</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td style=\"text-align:left\">{}</td></tr>",
                esc(name),
                e.accounts,
                e.churned,
                pct(e.churn_rate),
                f3(e.auc),
                pct(e.lowest_decile.as_ref().map(|x| x.capture)),
                e.lowest_decile.as_ref().map(|x| format!("{:.2}", x.lift)).unwrap_or_else(|| "n/a".into()),
                days(e.lead_time.median_days),
                esc(&band_line(e))
            );
        }
        s.push_str("</table><h3>Per date</h3><table><tr><th>as of</th><th>account-dates</th><th>already churned (left out)</th><th>churned</th><th>AUC</th><th>decile capture</th><th>decile lift</th><th>median days to churn (flagged)</th></tr>");
        for d in &m.per_date {
            let _ = write!(
                s,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{} ({})</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&d.as_of),
                d.all.accounts,
                d.already_churned,
                d.all.churned,
                pct(d.all.churn_rate),
                f3(d.all.auc),
                pct(d.all.lowest_decile.as_ref().map(|x| x.capture)),
                d.all.lowest_decile.as_ref().map(|x| format!("{:.2}", x.lift)).unwrap_or_else(|| "n/a".into()),
                days(d.all.lead_time.median_days)
            );
        }
        s.push_str("</table><h3>Suggested group weights (suggestions only, never applied)</h3>");
        for w in &m.weights {
            let _ = write!(
                s,
                "<p><b>{}</b> — {} account-dates, {} churned. ",
                esc(&w.scorecard),
                w.accounts,
                w.churned
            );
            if w.fit.is_none() {
                let _ = write!(
                    s,
                    "{}.</p>",
                    esc(w.note.as_deref().unwrap_or("no suggestion"))
                );
                continue;
            }
            let _ = write!(
                s,
                "AUC on all dates: suggested {} vs current {}.{}{}</p>",
                f3(w.suggested_auc),
                f3(w.current_auc),
                match &w.out_of_time {
                    Some(v) => format!(
                        " Out of time (fitted on {}, evaluated on {}): <b>suggested {}</b> vs current {}.",
                        esc(&v.fit_dates.join(", ")),
                        esc(&v.eval_dates.join(", ")),
                        f3(v.suggested_auc),
                        f3(v.current_auc)
                    ),
                    None => String::new(),
                },
                w.note
                    .as_ref()
                    .map(|n| format!(" <b class=\"bad\">Not suggested</b>: {}.", esc(n)))
                    .unwrap_or_default()
            );
            s.push_str("<div class=\"row\"><table><tr><th>group</th><th>current</th><th>current share</th><th>suggested</th></tr>");
            for g in &w.groups {
                let _ = write!(
                    s,
                    "<tr><td>{}</td><td>{}</td><td>{:.0}%</td><td>{}</td></tr>",
                    esc(&g.group),
                    esc(&fmt_weight(g.current)),
                    g.current_share,
                    g.suggested
                        .map(|v| v.to_string())
                        .unwrap_or_else(|| "n/a".into())
                );
            }
            let _ = write!(s, "</table><figure>{}</figure></div>", svg_weights(w));
        }
        let _ = write!(s, "<pre>{}</pre>", esc(&m.toml));
    }
    if let Some(c) = &r.compare {
        let _ = write!(
            s,
            "<h2>Compare {} → {}</h2><table><tr><th>figure</th><th>{}</th><th>{}</th><th>difference</th></tr>",
            esc(&c.baseline),
            esc(&c.candidate),
            esc(&c.baseline),
            esc(&c.candidate)
        );
        for f in &c.figures {
            let _ = write!(
                s,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&f.figure),
                fmt_fig(&f.figure, f.baseline),
                fmt_fig(&f.figure, f.candidate),
                fmt_diff(&f.figure, f.difference)
            );
        }
        s.push_str("</table>");
    }
    s.push_str(
        "<p class=\"sub\">Every figure is in report.json next to this page.</p></body></html>\n",
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn frame(scores: &[Option<f64>], churned: &[bool]) -> DataFrame {
        DataFrame::new_infer_height(vec![
            Column::new(SCORE.into(), scores.to_vec()),
            Column::new(CHURNED.into(), churned.to_vec()),
        ])
        .unwrap()
    }

    /// AUC by definition: pairs (churner, non-churner) where the churner
    /// scores lower, ties one half.
    fn auc_pairs(s: &[f64], y: &[bool]) -> f64 {
        let (mut num, mut den) = (0.0, 0.0);
        for i in 0..s.len() {
            for j in 0..s.len() {
                if y[i] && !y[j] {
                    den += 1.0;
                    num += if s[i] < s[j] {
                        1.0
                    } else if s[i] == s[j] {
                        0.5
                    } else {
                        0.0
                    };
                }
            }
        }
        num / den
    }

    #[test]
    fn rank_auc_matches_pair_counting_and_roc_area() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for _ in 0..20 {
            let n = rng.gen_range(5..60);
            let s: Vec<f64> = (0..n).map(|_| rng.gen_range(0..12) as f64).collect();
            let mut y: Vec<bool> = (0..n).map(|_| rng.gen_bool(0.3)).collect();
            y[0] = true;
            y[1] = false;
            let df = frame(&s.iter().map(|v| Some(*v)).collect::<Vec<_>>(), &y);
            let a = auc(&df, SCORE, CHURNED).unwrap().unwrap();
            assert!((a - auc_pairs(&s, &y)).abs() < 1e-12, "{a}");
            // Trapezoid area under the ROC points gives the same value.
            let roc = roc_from_counts(&score_counts(&df, SCORE, CHURNED).unwrap());
            let area: f64 = roc
                .windows(2)
                .map(|w| (w[1][0] - w[0][0]) * (w[1][1] + w[0][1]) / 2.0)
                .sum();
            assert!((a - area).abs() < 1e-12, "{a} vs {area}");
        }
    }

    #[test]
    fn auc_ignores_nulls_and_needs_both_outcomes() {
        let df = frame(&[Some(1.0), None, Some(3.0)], &[true, true, false]);
        assert_eq!(auc(&df, SCORE, CHURNED).unwrap(), Some(1.0));
        let df = frame(&[Some(1.0), Some(2.0)], &[true, true]);
        assert_eq!(auc(&df, SCORE, CHURNED).unwrap(), None);
    }

    #[test]
    fn decile_splits_ties_in_proportion() {
        // 20 accounts, 2 taken; the three lowest are tied at 5 (one churner).
        let mut counts = vec![(5.0, 3.0, 1.0)];
        counts.push((50.0, 17.0, 3.0));
        let d = decile_from_counts(&counts, 0.1).unwrap();
        assert!((d.accounts - 2.0).abs() < 1e-12);
        assert!((d.churned - 2.0 / 3.0).abs() < 1e-12);
        assert!((d.capture - (2.0 / 3.0) / 4.0).abs() < 1e-12);
        assert!((d.lift - d.capture / 0.1).abs() < 1e-12);
        assert_eq!(d.score_cutoff, 5.0);
    }

    #[test]
    fn weights_round_to_a_hundred() {
        assert_eq!(round_to_total(&[1.0, 1.0, 1.0], 100), vec![34, 33, 33]);
        assert_eq!(round_to_total(&[0.0, 2.0, 6.0], 100), vec![0, 25, 75]);
        assert_eq!(round_to_total(&[0.0, 0.0], 100), vec![0, 0]);
        let r = round_to_total(&[0.123, 0.456, 0.789, 0.05], 100);
        assert_eq!(r.iter().sum::<i64>(), 100);
    }

    #[test]
    fn score_with_weights_rounds_like_the_pipeline() {
        let pts = vec![vec![Some(57.0), None], vec![Some(58.0), Some(10.0)]];
        // (57 + 58) / 2 = 57.5 → 58 (half away from zero).
        assert_eq!(score_with_weights(&pts, &[1.0, 1.0], 0), Some(58.0));
        // A missing group is left out; a zero weight is not used.
        assert_eq!(score_with_weights(&pts, &[1.0, 1.0], 1), Some(10.0));
        assert_eq!(score_with_weights(&pts, &[1.0, 0.0], 1), None);
    }

    #[test]
    fn logistic_fit_recovers_coefficients_and_clips_harmful_ones() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let n = 40_000;
        let p = 3;
        let truth = [3.0, 1.0, -2.0];
        let mut x = vec![0.0; n * p];
        let mut y = vec![false; n];
        for i in 0..n {
            let mut eta = -2.5;
            for j in 0..p {
                x[i * p + j] = rng.gen::<f64>();
                eta += truth[j] * x[i * p + j];
            }
            y[i] = rng.gen::<f64>() < sigmoid(eta);
        }
        let f = fit_nonneg_logistic(&x, p, &y, 0.0);
        assert!(f.converged, "{f:?}");
        assert!((f.coef[0] - 3.0).abs() < 0.35, "{f:?}");
        assert!((f.coef[1] - 1.0).abs() < 0.35, "{f:?}");
        // The harmful feature would want a negative weight: held at 0.
        assert_eq!(f.coef[2], 0.0, "{f:?}");
        // L2 shrinks.
        let g = fit_nonneg_logistic(&x, p, &y, 0.1);
        assert!(g.coef[0] < f.coef[0]);
    }

    #[test]
    fn parse_days_accepts_days_and_weeks() {
        assert_eq!(parse_days("every", "30d").unwrap(), 30);
        assert_eq!(parse_days("every", "4w").unwrap(), 28);
        assert_eq!(parse_days("every", "7").unwrap(), 7);
        assert!(parse_days("every", "0d").is_err());
        assert!(parse_days("every", "1m").is_err());
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(
            as_of_dates(d("2026-01-01"), d("2026-03-01"), 30),
            vec![d("2026-01-01"), d("2026-01-31"), d("2026-03-02")][..2].to_vec()
        );
    }
}
