//! The job itself: open the inputs, account for every row, check the data
//! guards, score, and (for `run`) commit a snapshot. `check` stops after
//! the guards; backtests reuse [`check_inputs`] and [`crate::score::plan::score_accounts`] without writing.

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::{NaiveDate, Utc};
use polars::prelude::*;

use crate::aggregate::read::{read_inputs, Checked};
use crate::error::{pl, Error, Result};
use crate::input::accounting::{check_guards, check_rows_drop, TableCounts};
use crate::input::InputObject;
use crate::output::manifest::{
    AccountCounts, InputEntry, Manifest, PipelineInfo, SchemaColumn, Tool,
};
use crate::output::{self as snapshot, Lease, Written};
use crate::pipeline::Pipeline;
use crate::progress::stage_begins;
use crate::score;
use crate::score::changes;
use crate::score::plan::{locked, RowScorer};
use crate::storage::Store;

/// Reads, validates and aggregates every input table for date `as_of`,
/// then checks the data guards.
pub fn check_inputs(p: &Pipeline, input: &Store, as_of: NaiveDate) -> Result<Checked> {
    let checked = read_inputs(p, input, as_of)?;
    check_guards(p, &checked.counts, as_of)?;
    Ok(checked)
}

/// What scoring produced, once the scores table is written: every row
/// scored with its losses, the scores and summary tables, and the
/// warnings about them.
struct ScoredTables {
    with_losses: DataFrame,
    scores: DataFrame,
    summary: DataFrame,
    /// The changes table (SPEC §11).
    changes: DataFrame,
    /// Accounts whose band hysteresis held.
    held: i64,
    warnings: Vec<String>,
}

/// Accounts whose band hysteresis held (the `__held` column).
fn held_count(with_losses: &DataFrame) -> i64 {
    with_losses
        .column(score::HELD)
        .ok()
        .and_then(|c| c.bool().ok().map(|b| b.sum().unwrap_or(0) as i64))
        .unwrap_or(0)
}

/// Compares the scores schema with the previous snapshot's (from its
/// manifest): added columns are reported; removed or retyped ones stop the
/// run (exit 2, nothing written) unless `allow` — a BI reader of the folder
/// breaks on them.
pub(crate) fn schema_changes(
    output: &Store,
    prev_date: Option<&str>,
    scores: &DataFrame,
    allow: bool,
) -> Result<Vec<String>> {
    let Some(date) = prev_date.and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()) else {
        return Ok(Vec::new());
    };
    let Some(manifest) = snapshot::read_manifest(output, snapshot::SCORES, date)? else {
        return Ok(Vec::new());
    };
    let prev = &manifest.scores_schema;
    let now: Vec<(String, String)> = scores
        .schema()
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect();
    let prev: Vec<(String, String)> = prev
        .iter()
        .map(|c| (c.name.clone(), c.dtype.clone()))
        .collect();
    let removed: Vec<&str> = prev
        .iter()
        .filter(|(n, _)| !now.iter().any(|(m, _)| m == n))
        .map(|(n, _)| n.as_str())
        .collect();
    let retyped: Vec<String> = prev
        .iter()
        .filter_map(|(n, t)| {
            now.iter()
                .find(|(m, _)| m == n)
                .filter(|(_, u)| u != t)
                .map(|(_, u)| format!("{n} ({t} → {u})"))
        })
        .collect();
    let added: Vec<&str> = now
        .iter()
        .filter(|(n, _)| !prev.iter().any(|(m, _)| m == n))
        .map(|(n, _)| n.as_str())
        .collect();
    let mut notes = Vec::new();
    if !added.is_empty() {
        notes.push(format!("scores columns added since {date}: {} (readers need union_by_name / mergeSchema to read both dates)", added.join(", ")));
    }
    if !removed.is_empty() || !retyped.is_empty() {
        let what = format!(
            "scores columns changed since {date}: removed [{}], retyped [{}]",
            removed.join(", "),
            retyped.join(", ")
        );
        if !allow {
            return Err(Error::contract(
                "scores",
                None,
                format!("{what}; readers of the folder would break. Pass --allow-schema-change to commit it anyway; nothing was written"),
            ));
        }
        notes.push(format!("{what} (allowed by --allow-schema-change)"));
    }
    Ok(notes)
}

/// Share (0-1) of rows whose `column` equals `band`.
fn band_share(df: &DataFrame, column: &str, band: &str) -> f64 {
    let n = df.height();
    if n == 0 {
        return 0.0;
    }
    let hits = df
        .clone()
        .lazy()
        .select([col(column).eq(lit(band)).sum().cast(DataType::Int64)])
        .collect()
        .ok()
        .and_then(|d| d.column(column).ok()?.get(0).ok()?.extract::<i64>())
        .unwrap_or(0);
    hits as f64 / n as f64
}

/// Share (0-1) of accounts in the first (lowest) band, from the summary
/// table.
pub(crate) fn lowest_band_share(p: &Pipeline, summary: &DataFrame) -> f64 {
    let lowest = col("band").eq(lit(p.bands[0].name.as_str()));
    let sums = summary
        .clone()
        .lazy()
        .select([
            col("accounts").sum().alias("total"),
            col("accounts").filter(lowest).sum().alias("lowest"),
        ])
        .collect();
    let sum = |name: &str| -> i64 {
        sums.as_ref()
            .ok()
            .and_then(|d| d.column(name).ok()?.get(0).ok()?.extract::<i64>())
            .unwrap_or(0)
    };
    match sum("total") {
        0 => 0.0,
        total => sum("lowest") as f64 / total as f64,
    }
}

/// A warning when the lowest band's share moved by more than the pipeline's
/// `lowest_band_alert_points` since the previous snapshot: a broken export
/// or a model change, more often than a real collapse.
pub(crate) fn lowest_band_warning(
    p: &Pipeline,
    prev_date: Option<&str>,
    prev: Option<f64>,
    now: f64,
) -> Vec<String> {
    let (Some(prev_date), Some(prev)) = (prev_date, prev) else {
        return Vec::new();
    };
    let moved = (now - prev) * 100.0;
    if moved.abs() > p.settings.lowest_band_alert_points {
        vec![format!(
            "the share of {} accounts moved {:+.1} points since {prev_date} ({:.1}% → {:.1}%), more than settings.lowest_band_alert_points {}: check the inputs before acting on it",
            p.bands[0].name,
            moved,
            prev * 100.0,
            now * 100.0,
            p.settings.lowest_band_alert_points
        )]
    } else {
        Vec::new()
    }
}

/// Options of `healthscore run`.
pub struct RunOptions {
    /// Run id (recorded in the lease and manifest).
    pub run_id: String,
    /// The as-of date D.
    pub as_of: NaiveDate,
    /// Commit even when columns were removed or retyped since the previous
    /// snapshot (added columns never need it).
    pub allow_schema_change: bool,
}

/// What a run produced.
pub struct RunResult {
    /// The manifest written to `_SUCCESS`.
    pub manifest: Manifest,
    /// The scores table written.
    pub scores: DataFrame,
    /// The summary table written.
    pub summary: DataFrame,
}

/// `healthscore run`: score date D and commit the snapshot.
pub fn run(p: &Pipeline, input: &Store, output: &Store, opts: &RunOptions) -> Result<RunResult> {
    let started = Utc::now();
    // Reading and checking the inputs writes nothing, so a bad input never
    // touches the output, not even its lease.
    let checked = check_inputs(p, input, opts.as_of)?;
    let lease = Lease::acquire(output, &opts.run_id)?;
    let result = score_and_commit(p, checked, output, opts, started);
    let released = lease.release();
    let r = result?;
    // The snapshot is committed: a lease we failed to delete only delays
    // the next run until it expires, so warn rather than fail the run.
    if let Err(e) = released {
        tracing::warn!(error = %e, "snapshot committed, but the lease could not be released; it expires by itself");
    }
    Ok(r)
}

/// The manifest's fields known before anything is written: the run, the
/// pipeline, the inputs and their accounting, the previous snapshot (date
/// and scores digest) and the scores schema. The commit fills in the rest.
pub(crate) fn manifest_before_writing(
    p: &Pipeline,
    (inputs, counts): (&[(String, InputObject)], &BTreeMap<String, TableCounts>),
    opts: &RunOptions,
    started: chrono::DateTime<Utc>,
    (previous_snapshot, previous_scores_sha256): (Option<String>, Option<String>),
    schema: &DataFrame,
) -> Manifest {
    Manifest {
        run_id: opts.run_id.clone(),
        tool: Tool::this(),
        pipeline: PipelineInfo {
            name: p.name.clone(),
            version: p.version.clone(),
            model_version: p.model_version(),
            sha256: p.sha256.clone(),
            file: p.file.clone(),
            text: p.source_text.clone(),
        },
        as_of: opts.as_of.to_string(),
        started_at: started.to_rfc3339(),
        finished_at: String::new(),
        inputs: inputs
            .iter()
            .map(|(t, o)| InputEntry {
                table: t.clone(),
                object: o.clone(),
            })
            .collect(),
        tables: counts.clone(),
        previous_snapshot,
        previous_scores_sha256,
        scores_schema: schema
            .schema()
            .iter()
            .map(|(n, t)| SchemaColumn {
                name: n.to_string(),
                dtype: t.to_string(),
            })
            .collect(),
        accounts: None,
        warnings: None,
        changes: None,
        overrides_applied: None,
        bands_held: None,
        outputs: Vec::new(),
        scores_sha256: String::new(),
        stages_ms: Default::default(),
        engine: "local".into(),
        spark_application_id: None,
    }
}

/// What finishes the scoring once the scores table is written (the
/// summary, then the long table, are made from the rows scored), and the
/// stage times, which the commit's parts and the manifest both update.
struct FinishScoring<'a> {
    p: &'a Pipeline,
    scorer: &'a RowScorer<'a>,
    prev_date: Option<&'a str>,
    prev_lowest_share: Option<f64>,
    /// The previous snapshot's scorecards and points (same model only).
    prev_points: Option<DataFrame>,
    schema_notes: Vec<String>,
    /// When the score stage started.
    started: Instant,
    stages: std::sync::Mutex<crate::progress::StageTimes>,
    scored: std::sync::OnceLock<ScoredTables>,
}

impl FinishScoring<'_> {
    /// Every row scored, the scores and summary tables and the warnings
    /// (lowest band share moved, schema changed); records the score stage.
    fn finish(&self) -> Result<&ScoredTables> {
        let p = self.p;
        let with_losses = self.scorer.scored()?;
        let scores = score::scores_of(p, &with_losses).map_err(pl("scoring"))?;
        let summary = score::summary(p, &with_losses).map_err(pl("summary"))?;
        let changes =
            changes::changes(p, &with_losses, self.prev_points.as_ref()).map_err(pl("changes"))?;
        let held = held_count(&with_losses);
        let mut warnings = lowest_band_warning(
            p,
            self.prev_date,
            self.prev_lowest_share,
            lowest_band_share(p, &summary),
        );
        for w in &warnings {
            tracing::warn!(stage = "score", "{w}");
        }
        warnings.extend(self.schema_notes.iter().cloned());
        locked(&self.stages).record("score", self.started, Some(scores.height()));
        Ok(self.scored.get_or_init(|| ScoredTables {
            with_losses,
            scores,
            summary,
            changes,
            held,
            warnings,
        }))
    }
}

/// `weight` summed per value of `key` in `lf` (a null key counts as
/// "null"): accounts per band of the summary, rows per kind of the
/// changes, overrides per band of the scores.
pub(crate) fn tally(lf: LazyFrame, key: &str, weight: Expr) -> BTreeMap<String, i64> {
    let df = lf
        .group_by([col(key).cast(DataType::String).fill_null(lit("null"))])
        .agg([weight.cast(DataType::Int64).alias("n")])
        .collect();
    let mut map = BTreeMap::new();
    if let Ok(df) = df {
        if let (Ok(k), Ok(n)) = (df.column(key), df.column("n")) {
            if let (Ok(k), Ok(n)) = (k.str(), n.i64()) {
                map.extend(
                    k.iter()
                        .zip(n.iter())
                        .filter_map(|(k, n)| Some((k?.to_string(), n.unwrap_or(0)))),
                );
            }
        }
    }
    map
}

/// Rows of the changes table per kind, every kind listed (0 when none).
pub(crate) fn changes_by_kind(changes: &DataFrame) -> BTreeMap<String, i64> {
    every_kind(&tally(changes.clone().lazy(), "kind", len()))
}

/// Rows per kind as the manifest records them: every kind of the changes
/// table listed, 0 when `found` has none of it.
pub(crate) fn every_kind(found: &BTreeMap<String, i64>) -> BTreeMap<String, i64> {
    changes::KINDS
        .iter()
        .map(|k| (k.to_string(), found.get(*k).copied().unwrap_or(0)))
        .collect()
}

/// Accounts with an override applied, per band it set (None when the
/// pipeline declares no overrides).
pub(crate) fn overrides_by_band(p: &Pipeline, scores: &DataFrame) -> Option<BTreeMap<String, i64>> {
    p.has_overrides().then(|| {
        let applied = scores
            .clone()
            .lazy()
            .filter(col("override_reason").is_not_null());
        tally(applied, "band", len())
    })
}

/// The manifest once every data object is written: `base` with the
/// accounts and warnings of the scoring, the objects written, their scores
/// digest, the end time and the stage times.
fn finished_manifest(
    p: &Pipeline,
    mut m: Manifest,
    done: Option<&ScoredTables>,
    written: &[Written],
    stages: &crate::progress::StageTimes,
) -> Manifest {
    if let Some(done) = done {
        m.accounts = Some(AccountCounts {
            scored: done.scores.height() as i64,
            by_scorecard: tally(
                done.summary.clone().lazy(),
                "scorecard",
                col("accounts").sum(),
            ),
            by_band: tally(done.summary.clone().lazy(), "band", col("accounts").sum()),
        });
        m.warnings = Some(done.warnings.clone());
        m.changes = Some(changes_by_kind(&done.changes));
        m.bands_held = Some(done.held);
        m.overrides_applied = overrides_by_band(p, &done.scores);
    }
    sealed_manifest(m, written, stages)
}

/// The manifest's last fields, once every data object is written: the
/// objects, their scores digest, the end time and the stage times.
pub(crate) fn sealed_manifest(
    mut m: Manifest,
    written: &[Written],
    stages: &crate::progress::StageTimes,
) -> Manifest {
    m.outputs = written.to_vec();
    m.scores_sha256 = snapshot::table_digest(written, snapshot::SCORES);
    m.finished_at = Utc::now().to_rfc3339();
    m.stages_ms = stages.to_map();
    m
}

/// The tables of a date in the order they are written: the scores a row
/// group at a time, then the summary (which finishes the scoring), the
/// long metrics table (none when settings.metrics_table is off: the date's
/// folder is only cleared) and the changes.
fn output_tables<'a>(
    p: &'a Pipeline,
    finish: &'a FinishScoring<'a>,
    rows: usize,
    make_scores: &'a snapshot::MakeRows<'a>,
) -> Vec<snapshot::Table<'a>> {
    vec![
        snapshot::Table::of(snapshot::SCORES, snapshot::made_parts(rows, make_scores)),
        snapshot::Table {
            name: snapshot::SUMMARY,
            parts: Box::new(|| {
                let done = finish.finish()?;
                Ok(snapshot::frames(snapshot::parts(&done.summary)))
            }),
        },
        // Without the long table (settings.metrics_table = false) no
        // parts: the date's metrics folder is only cleared.
        snapshot::Table {
            name: snapshot::METRICS,
            parts: Box::new(move || {
                let Some(done) = finish.scored.get().filter(|_| p.settings.metrics_table) else {
                    return Ok(Vec::new());
                };
                let metrics = score::long_metrics(p, &done.with_losses)?;
                Ok(snapshot::frames(snapshot::packed_parts(metrics, rows)))
            }),
        },
        snapshot::Table {
            name: snapshot::CHANGES,
            parts: Box::new(|| {
                let Some(done) = finish.scored.get() else {
                    return Ok(Vec::new());
                };
                Ok(snapshot::frames(snapshot::parts(&done.changes)))
            }),
        },
    ]
}

/// Scores checked inputs for `opts.as_of` (trend against the latest
/// committed earlier date) and commits the date's snapshot. The caller
/// holds the output's lease.
pub fn score_and_commit(
    p: &Pipeline,
    checked: Checked,
    output: &Store,
    opts: &RunOptions,
    started: chrono::DateTime<Utc>,
) -> Result<RunResult> {
    score_and_commit_after(p, checked, output, opts, started, None)
}

/// [`score_and_commit`] by a process that has just committed `held` (a
/// range's date before this one): when it is the previous snapshot, it is
/// taken from memory instead of read back.
pub fn score_and_commit_after(
    p: &Pipeline,
    mut checked: Checked,
    output: &Store,
    opts: &RunOptions,
    started: chrono::DateTime<Utc>,
    held: Option<snapshot::Held<'_>>,
) -> Result<RunResult> {
    let t = Instant::now();
    stage_begins("previous", None, None);
    let prev = snapshot::previous_for_trend_held(output, opts.as_of, held)?;
    let prev_manifest = prev.as_ref().map(|prev| prev.manifest.clone());
    let prev_date = prev.as_ref().map(|prev| prev.date.to_string());
    // The rows guard against the previous snapshot of the same model (not
    // on a first or rebased one), before anything is written.
    let same_model = prev_manifest
        .as_ref()
        .is_some_and(|m| m.pipeline.model_version == p.model_version());
    if let (Some(m), Some(d), true) = (&prev_manifest, &prev_date, same_model) {
        check_rows_drop(p, &checked.counts, &m.tables, d)?;
    }
    let prev_digest = prev_manifest.map(|m| m.scores_sha256);
    checked.stages.record("previous", t, None);

    // Scoring and writing overlap: the columns that need every account are
    // computed first, then the scores table is scored a row group at a
    // time while the row group before is encoded; the summary and the long
    // metrics table are made from the rows scored.
    let t = Instant::now();
    stage_begins("score", None, None);
    let prev_lowest_share = prev
        .as_ref()
        .map(|prev| band_share(&prev.trend, "prev_band", &p.bands[0].name));
    // The changes compare with the previous snapshot of the same model only.
    let (prev_trend, prev_points) = match prev {
        Some(prev) => (Some(prev.trend), same_model.then_some(prev.points)),
        None => (None, None),
    };
    let scorer = RowScorer::new(p, &checked, prev_trend)?;
    // The scorer holds what scoring reads from now on.
    checked.accounts = DataFrame::empty();
    checked.aggregates.clear();
    // The scores schema (from no rows) is checked before anything is
    // written.
    let schema = scorer.schema()?;
    let schema_notes = schema_changes(
        output,
        prev_date.as_deref(),
        &schema,
        opts.allow_schema_change,
    )?;
    for w in &schema_notes {
        tracing::warn!(stage = "score", "{w}");
    }
    let finish = FinishScoring {
        p,
        scorer: &scorer,
        prev_date: prev_date.as_deref(),
        prev_lowest_share,
        prev_points,
        schema_notes,
        started: t,
        stages: std::sync::Mutex::new(checked.stages.clone()),
        scored: std::sync::OnceLock::new(),
    };
    let manifest_base = manifest_before_writing(
        p,
        (&checked.inputs, &checked.counts),
        opts,
        started,
        (prev_date.clone(), prev_digest),
        &schema,
    );
    let write_started = Instant::now();
    stage_begins("write", None, Some(scorer.rows() as u64));
    let make_scores = |start: usize, len: usize| scorer.scores(start, len);
    let rows = scorer.rows();
    snapshot::commit(
        output,
        opts.as_of,
        output_tables(p, &finish, rows, &make_scores),
        |written: &[Written]| {
            locked(&finish.stages).record("write", write_started, None);
            finished_manifest(
                p,
                manifest_base,
                finish.scored.get(),
                written,
                &locked(&finish.stages),
            )
        },
    )?;
    let manifest = snapshot::read_manifest(output, snapshot::SCORES, opts.as_of)?
        .ok_or_else(|| Error::Internal("manifest vanished after commit".into()))?;
    let done = finish
        .scored
        .into_inner()
        .ok_or_else(|| Error::Internal("scoring did not finish".into()))?;
    Ok(RunResult {
        manifest,
        scores: done.scores,
        summary: done.summary,
    })
}
