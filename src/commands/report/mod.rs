//! `healthscore report`: one self-contained HTML page for the CS team and
//! its leaders, read from committed snapshots only (a date counts when
//! `scores/snapshot_date=D/_SUCCESS` exists): the band mix of the date and
//! how it moved over up to the last [`HISTORY_DATES`] committed dates, MRR
//! by band, the changes of the date by kind with their cause and playbook,
//! the causes that moved most accounts, and the overrides in force. This
//! module gathers the figures; `page` renders them with the shared
//! [`crate::render`] primitives.

mod page;

use std::collections::BTreeMap;
use std::path::Path;

use chrono::NaiveDate;
use polars::prelude::*;

use crate::commands::Outcome;
use crate::error::{Error, Result};
use crate::output::manifest::Manifest;
use crate::output::{self as snapshot, CHANGES, SCORES, SUMMARY};
use crate::pipeline::Pipeline;
use crate::render::svg::{css_color, PALETTE};
use crate::storage::Store;

/// Most committed dates in the band-mix history (the date and those before).
pub const HISTORY_DATES: usize = 12;
/// Most rows shown per kind of change (the page says how many more).
pub const ROWS_PER_KIND: usize = 50;
/// Most overrides listed (soonest expiry first).
pub const OVERRIDE_ROWS: usize = 200;
/// The kinds of change in the changes table's order (SPEC §11).
pub use crate::score::changes::KINDS;
/// The columns an overrides-declaring pipeline adds to the scores table.
pub use crate::score::OVERRIDE_COLUMNS;

/// A band as the page draws it.
#[derive(Debug, Clone, PartialEq)]
pub struct BandStyle {
    /// The band's name.
    pub name: String,
    /// A CSS colour.
    pub color: String,
    /// Fill opacity (bands sharing a colour get lighter shades).
    pub opacity: f64,
}

/// One band of the date: the summary's rows of that band added up.
#[derive(Debug, Clone, PartialEq)]
pub struct BandFigures {
    /// The band.
    pub band: String,
    /// Accounts in it.
    pub accounts: i64,
    /// Share of all accounts.
    pub share: f64,
    /// Mean score (weighted by accounts; None for `Unscored`).
    pub mean_score: Option<f64>,
    /// Sum of mrr_latest.
    pub mrr: f64,
}

/// The band mix of one committed date.
#[derive(Debug, Clone, PartialEq)]
pub struct DateMix {
    /// The date.
    pub date: NaiveDate,
    /// Accounts per band name.
    pub by_band: BTreeMap<String, i64>,
}

/// One row of the changes table, as the page shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeRow {
    /// customer_id.
    pub customer_id: String,
    /// customer_name.
    pub customer_name: Option<String>,
    /// band_down, drop, band_up or rise.
    pub kind: String,
    /// The previous band.
    pub prev_band: Option<String>,
    /// The band.
    pub band: Option<String>,
    /// The previous score.
    pub prev_score: Option<i64>,
    /// The score.
    pub score: Option<i64>,
    /// score − prev_score.
    pub score_change: Option<i64>,
    /// The metric that moved the score most in the change's direction.
    pub cause: Option<String>,
    /// Its contribution's change in score points.
    pub cause_delta: Option<f64>,
    /// The playbook.
    pub playbook: Option<String>,
}

/// How many change rows a metric caused.
#[derive(Debug, Clone, PartialEq)]
pub struct CauseCount {
    /// The metric (None: no metric moved that way).
    pub cause: Option<String>,
    /// Its group in the date's pipeline.
    pub group: Option<String>,
    /// Rows of kind band_down or drop.
    pub down: i64,
    /// Rows of kind band_up or rise.
    pub up: i64,
}

impl CauseCount {
    /// All rows it caused.
    pub fn total(&self) -> i64 {
        self.down + self.up
    }
}

/// One override in force on the date.
#[derive(Debug, Clone, PartialEq)]
pub struct OverrideRow {
    /// customer_id.
    pub customer_id: String,
    /// customer_name.
    pub customer_name: Option<String>,
    /// The band written (the override's).
    pub band: Option<String>,
    /// The band the score gives.
    pub band_model: Option<String>,
    /// Why.
    pub reason: Option<String>,
    /// Who.
    pub set_by: Option<String>,
    /// Until when (YYYY-MM-DD).
    pub expires_on: Option<String>,
}

/// The date's changes.
#[derive(Debug, Clone, PartialEq)]
pub struct Changes {
    /// Rows per kind, in [`KINDS`] order.
    pub counts: Vec<(String, i64)>,
    /// The rows, in the table's order (kind, score_change, customer_id).
    pub rows: Vec<ChangeRow>,
    /// Rows per cause, most rows first, then by name.
    pub causes: Vec<CauseCount>,
}

/// The overrides of the date.
#[derive(Debug, Clone, PartialEq)]
pub enum Overrides {
    /// The scores table has no override columns: the pipeline declares none.
    NotDeclared,
    /// The overrides in force (soonest expiry first) and how many in all.
    InForce {
        /// Overrides in force on the date.
        total: usize,
        /// The first [`OVERRIDE_ROWS`].
        rows: Vec<OverrideRow>,
    },
}

/// Everything the page shows.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportData {
    /// The output root, as a URL.
    pub output: String,
    /// The snapshot date shown.
    pub date: NaiveDate,
    /// The date the trend and changes compare with, if any.
    pub previous: Option<String>,
    /// The pipeline's model_version.
    pub model_version: String,
    /// The program that wrote the snapshot.
    pub tool_version: String,
    /// Bands in the pipeline's declared order, `Unscored` last (then any
    /// band found only in older dates).
    pub bands: Vec<BandStyle>,
    /// The band figures of the date, in `bands` order (bands with accounts).
    pub mix: Vec<BandFigures>,
    /// Accounts scored on the date.
    pub accounts: i64,
    /// Up to [`HISTORY_DATES`] committed dates up to the date, ascending.
    pub history: Vec<DateMix>,
    /// The changes; None when the snapshot has no changes table.
    pub changes: Option<Changes>,
    /// Accounts whose band hysteresis kept their band.
    pub bands_held: Option<i64>,
    /// The overrides in force.
    pub overrides: Overrides,
}

/// `healthscore report`: renders the page of `date` (default the latest
/// committed) and writes it to `out_file`, or returns it as the text.
pub fn report(out: &Store, date: Option<NaiveDate>, out_file: Option<&Path>) -> Result<Outcome> {
    let data = gather(out, date)?;
    let html = page::render(&data);
    let counts: serde_json::Map<String, serde_json::Value> = data
        .changes
        .iter()
        .flat_map(|c| c.counts.iter())
        .map(|(k, n)| (k.clone(), (*n).into()))
        .collect();
    let mut json = serde_json::json!({
        "snapshot_date": data.date.to_string(),
        "output": data.output,
        "model_version": data.model_version,
        "dates": data.history.iter().map(|h| h.date.to_string()).collect::<Vec<_>>(),
        "accounts": data.accounts,
        "changes": data.changes.as_ref().map(|_| counts),
        "bytes": html.len(),
    });
    let text = match out_file {
        Some(path) => {
            std::fs::write(path, html.as_bytes()).map_err(|e| Error::Storage {
                operation: "write".into(),
                url: path.display().to_string(),
                message: e.to_string(),
            })?;
            json["file"] = path.display().to_string().into();
            format!(
                "report: {} (snapshot {}, {} dates, {} bytes)",
                path.display(),
                data.date,
                data.history.len(),
                html.len()
            )
        }
        None => {
            json["html"] = html.clone().into();
            html.trim_end().to_string()
        }
    };
    Ok(Outcome { text, json })
}

/// Reads the figures of the page from the committed snapshots.
pub fn gather(out: &Store, date: Option<NaiveDate>) -> Result<ReportData> {
    let committed = snapshot::committed_dates(out, SCORES)?;
    let date = match date {
        Some(d) if committed.contains(&d) => d,
        Some(d) => {
            return Err(Error::NotFound(format!(
                "no committed snapshot for {d} under {} (committed dates: {})",
                out.url(),
                describe_dates(&committed)
            )))
        }
        None => *committed
            .last()
            .ok_or_else(|| Error::NotFound(format!("no committed snapshot under {}", out.url())))?,
    };
    let manifest = snapshot::read_manifest(out, SCORES, date)?
        .ok_or_else(|| Error::NotFound(format!("snapshot {date} is not committed")))?;
    let pipeline = Pipeline::parse("<pipeline stored in the manifest>", &manifest.pipeline.text)?;
    let upto: Vec<NaiveDate> = committed.into_iter().filter(|d| *d <= date).collect();
    let from = upto.len().saturating_sub(HISTORY_DATES);
    let mut history = Vec::new();
    let mut summary_of_date = None;
    for d in &upto[from..] {
        let summary = snapshot::read_committed(out, SUMMARY, *d)?;
        let by_band = match &summary {
            Some(s) => accounts_by_band(s)?,
            None if *d == date => manifest
                .accounts
                .as_ref()
                .map(|a| a.by_band.clone())
                .unwrap_or_default(),
            None => snapshot::read_manifest(out, SCORES, *d)?
                .and_then(|m| m.accounts)
                .map(|a| a.by_band)
                .unwrap_or_default(),
        };
        if *d == date {
            summary_of_date = summary;
        }
        history.push(DateMix { date: *d, by_band });
    }
    let bands = band_styles(&pipeline, &history);
    let mix = match &summary_of_date {
        Some(s) => band_figures(s, &bands)?,
        None => figures_from_manifest(&manifest, &bands),
    };
    let accounts = mix.iter().map(|b| b.accounts).sum();
    let changes = match snapshot::read_committed(out, CHANGES, date)? {
        Some(df) => Some(changes_of(&df, &pipeline)?),
        None => None,
    };
    let overrides = read_overrides(out, date)?;
    Ok(ReportData {
        output: out.url().to_string(),
        date,
        previous: manifest.previous_snapshot.clone(),
        model_version: manifest.pipeline.model_version.clone(),
        tool_version: manifest.tool.version.clone(),
        bands,
        mix,
        accounts,
        history,
        changes,
        bands_held: manifest.bands_held,
        overrides,
    })
}

/// `none`, or the first and last committed dates and how many.
fn describe_dates(dates: &[NaiveDate]) -> String {
    match (dates.first(), dates.last()) {
        (Some(a), Some(b)) if a == b => a.to_string(),
        (Some(a), Some(b)) => format!("{} from {a} to {b}", dates.len()),
        _ => "none".into(),
    }
}

fn polars(e: PolarsError) -> Error {
    Error::polars("report", e)
}

/// A column as strings (any type cast to its text), or all None when absent.
fn strings(df: &DataFrame, name: &str) -> Result<Vec<Option<String>>> {
    let Ok(c) = df.column(name) else {
        return Ok(vec![None; df.height()]);
    };
    let c = c.cast(&DataType::String).map_err(polars)?;
    Ok(c.str()
        .map_err(polars)?
        .iter()
        .map(|v| v.map(str::to_string))
        .collect())
}

/// A numeric column as i64, or all None when absent.
fn ints(df: &DataFrame, name: &str) -> Result<Vec<Option<i64>>> {
    let Ok(c) = df.column(name) else {
        return Ok(vec![None; df.height()]);
    };
    let c = c.cast(&DataType::Int64).map_err(polars)?;
    Ok(c.i64().map_err(polars)?.iter().collect())
}

/// A numeric column as f64, or all None when absent.
fn floats(df: &DataFrame, name: &str) -> Result<Vec<Option<f64>>> {
    let Ok(c) = df.column(name) else {
        return Ok(vec![None; df.height()]);
    };
    let c = c.cast(&DataType::Float64).map_err(polars)?;
    Ok(c.f64().map_err(polars)?.iter().collect())
}

/// Accounts per band of a summary table (all scorecards added up).
fn accounts_by_band(summary: &DataFrame) -> Result<BTreeMap<String, i64>> {
    let mut m = BTreeMap::new();
    for (b, n) in strings(summary, "band")?
        .into_iter()
        .zip(ints(summary, "accounts")?)
    {
        *m.entry(b.unwrap_or_default()).or_insert(0) += n.unwrap_or(0);
    }
    Ok(m)
}

/// The declared bands with their colours, `Unscored` after them, then any
/// band seen only in older dates (in name order, palette colours). Bands
/// sharing a colour (Healthy and Thriving are both green by default) get
/// lighter shades in turn, so the stacked columns stay readable.
fn band_styles(p: &Pipeline, history: &[DateMix]) -> Vec<BandStyle> {
    let mut named: Vec<(String, String)> = p
        .bands
        .iter()
        .chain(std::iter::once(&p.unscored))
        .map(|b| (b.name.clone(), css_color(&b.color)))
        .collect();
    let mut extra: Vec<&String> = history
        .iter()
        .flat_map(|h| h.by_band.keys())
        .filter(|b| !named.iter().any(|(n, _)| n == *b))
        .collect();
    extra.sort();
    extra.dedup();
    for (i, b) in extra.into_iter().enumerate() {
        named.push((b.clone(), PALETTE[i % PALETTE.len()].to_string()));
    }
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    named
        .into_iter()
        .map(|(name, color)| {
            let k = seen.entry(color.clone()).or_insert(0);
            let opacity = [1.0, 0.6, 0.35, 0.8][*k % 4];
            *k += 1;
            BandStyle {
                name,
                color,
                opacity,
            }
        })
        .collect()
}

/// The date's figures per band from its summary table, in `bands` order.
fn band_figures(summary: &DataFrame, bands: &[BandStyle]) -> Result<Vec<BandFigures>> {
    let band = strings(summary, "band")?;
    let accounts = ints(summary, "accounts")?;
    let mean = floats(summary, "mean_score")?;
    let mrr = floats(summary, "mrr")?;
    let total: i64 = accounts.iter().flatten().sum();
    let mut out = Vec::new();
    for b in bands {
        let (mut n, mut m, mut score_sum, mut scored) = (0i64, 0.0, 0.0, 0i64);
        for i in 0..summary.height() {
            if band[i].as_deref() != Some(b.name.as_str()) {
                continue;
            }
            let a = accounts[i].unwrap_or(0);
            n += a;
            m += mrr[i].unwrap_or(0.0);
            if let Some(s) = mean[i] {
                score_sum += s * a as f64;
                scored += a;
            }
        }
        if n > 0 {
            out.push(BandFigures {
                band: b.name.clone(),
                accounts: n,
                share: n as f64 / total.max(1) as f64,
                mean_score: (scored > 0).then(|| score_sum / scored as f64),
                mrr: m,
            });
        }
    }
    Ok(out)
}

/// Accounts per band from the manifest when the date has no summary (no
/// mean score or MRR then).
fn figures_from_manifest(m: &Manifest, bands: &[BandStyle]) -> Vec<BandFigures> {
    let by_band = m.accounts.as_ref().map(|a| &a.by_band);
    let total: i64 = by_band.map(|b| b.values().sum()).unwrap_or(0);
    bands
        .iter()
        .filter_map(|b| {
            let n = *by_band?.get(&b.name)?;
            (n > 0).then(|| BandFigures {
                band: b.name.clone(),
                accounts: n,
                share: n as f64 / total.max(1) as f64,
                mean_score: None,
                mrr: 0.0,
            })
        })
        .collect()
}

/// The changes table's rows, counts per kind and per cause.
fn changes_of(df: &DataFrame, p: &Pipeline) -> Result<Changes> {
    let ids = strings(df, "customer_id")?;
    let names = strings(df, "customer_name")?;
    let kinds = strings(df, "kind")?;
    let prev_band = strings(df, "prev_band")?;
    let band = strings(df, "band")?;
    let prev_score = ints(df, "prev_score")?;
    let score = ints(df, "score")?;
    let change = ints(df, "score_change")?;
    let cause = strings(df, "cause")?;
    let delta = floats(df, "cause_delta")?;
    let playbook = strings(df, "playbook")?;
    let rows: Vec<ChangeRow> = (0..df.height())
        .map(|i| ChangeRow {
            customer_id: ids[i].clone().unwrap_or_default(),
            customer_name: names[i].clone(),
            kind: kinds[i].clone().unwrap_or_default(),
            prev_band: prev_band[i].clone(),
            band: band[i].clone(),
            prev_score: prev_score[i],
            score: score[i],
            score_change: change[i],
            cause: cause[i].clone(),
            cause_delta: delta[i],
            playbook: playbook[i].clone(),
        })
        .collect();
    let mut counts: Vec<(String, i64)> = KINDS.iter().map(|k| (k.to_string(), 0)).collect();
    let mut causes: BTreeMap<Option<String>, CauseCount> = BTreeMap::new();
    for r in &rows {
        match counts.iter_mut().find(|(k, _)| *k == r.kind) {
            Some((_, n)) => *n += 1,
            None => counts.push((r.kind.clone(), 1)),
        }
        let c = causes.entry(r.cause.clone()).or_insert_with(|| CauseCount {
            cause: r.cause.clone(),
            group: r
                .cause
                .as_deref()
                .and_then(|m| p.metric(m))
                .and_then(|m| m.scoring.as_ref())
                .and_then(|s| p.groups.get(s.group))
                .map(|g| g.name.clone()),
            down: 0,
            up: 0,
        });
        if matches!(r.kind.as_str(), "band_down" | "drop") {
            c.down += 1;
        } else {
            c.up += 1;
        }
    }
    let mut causes: Vec<CauseCount> = causes.into_values().collect();
    causes.sort_by(|a, b| {
        b.total()
            .cmp(&a.total())
            .then(a.cause.is_none().cmp(&b.cause.is_none()))
            .then(a.cause.cmp(&b.cause))
    });
    Ok(Changes {
        counts,
        rows,
        causes,
    })
}

/// The overrides in force on `date`: only the rows with an override and
/// only the columns the page shows are decoded from the scores table.
fn read_overrides(out: &Store, date: NaiveDate) -> Result<Overrides> {
    let folder = snapshot::date_folder(SCORES, date);
    let parts: Vec<_> = out
        .list(&folder)?
        .into_iter()
        .filter(|o| o.rel.ends_with(".parquet"))
        .collect();
    if parts.is_empty() {
        return Err(Error::NotFound(format!(
            "snapshot {} has no Parquet parts",
            out.url_of(&folder)
        )));
    }
    let mut lf = crate::storage::scan_remote(out, &parts)?;
    let schema = lf.collect_schema().map_err(polars)?;
    if !OVERRIDE_COLUMNS.iter().all(|c| schema.contains(c)) {
        return Ok(Overrides::NotDeclared);
    }
    let shown: Vec<Expr> = ["customer_id", "customer_name", "band"]
        .iter()
        .chain(OVERRIDE_COLUMNS.iter())
        .filter(|c| schema.contains(c))
        .map(|c| col(*c))
        .collect();
    let in_force = lf
        .filter(
            col("override_reason")
                .is_not_null()
                .or(col("override_expires_on").is_not_null()),
        )
        .select(shown)
        .collect()
        .map_err(polars)?;
    overrides_of(&in_force)
}

/// The overrides in force, from the scores table's override columns.
fn overrides_of(scores: &DataFrame) -> Result<Overrides> {
    if !OVERRIDE_COLUMNS
        .iter()
        .all(|c| scores.get_column_names().iter().any(|n| n.as_str() == *c))
    {
        return Ok(Overrides::NotDeclared);
    }
    let ids = strings(scores, "customer_id")?;
    let names = strings(scores, "customer_name")?;
    let band = strings(scores, "band")?;
    let band_model = strings(scores, "band_model")?;
    let reason = strings(scores, "override_reason")?;
    let set_by = strings(scores, "override_set_by")?;
    let expires = strings(scores, "override_expires_on")?;
    let mut rows: Vec<OverrideRow> = (0..scores.height())
        .filter(|i| reason[*i].is_some() || expires[*i].is_some())
        .map(|i| OverrideRow {
            customer_id: ids[i].clone().unwrap_or_default(),
            customer_name: names[i].clone(),
            band: band[i].clone(),
            band_model: band_model[i].clone(),
            reason: reason[i].clone(),
            set_by: set_by[i].clone(),
            expires_on: expires[i].clone(),
        })
        .collect();
    rows.sort_by(|a, b| {
        a.expires_on
            .cmp(&b.expires_on)
            .then(a.customer_id.cmp(&b.customer_id))
    });
    let total = rows.len();
    rows.truncate(OVERRIDE_ROWS);
    Ok(Overrides::InForce { total, rows })
}

#[cfg(test)]
mod tests;
