//! Scoring many dates in one process: `run --from D1 --to D2 [--every Nd]`
//! (a backfill) and `run --cascade`. The input tables are opened and read
//! into memory once for the whole range, then every date is aggregated,
//! scored and committed in ascending order under one lease, so each date's
//! trend comes from the date before it. A date whose snapshot is already
//! up to date (same pipeline, same input objects, same previous snapshot)
//! is skipped unless forced; `--cascade` then rewrites the later committed
//! dates whose previous snapshot changed.

use chrono::{NaiveDate, Utc};

pub use crate::aggregate::range::Inputs;
use crate::aggregate::range::RangeReader;
use crate::commands::run::{self, RunOptions, RunResult};
use crate::error::Result;
use crate::input::InputObject;
use crate::output::manifest::Manifest;
use crate::output::{self as snapshot, Lease, SCORES};
use crate::pipeline::Pipeline;
use crate::progress::StageTimes;
use crate::storage::Store;

/// What `run` was asked to do over dates.
pub struct BackfillOptions {
    /// Run id, recorded in the lease and in every date's manifest.
    pub run_id: String,
    /// The dates to score, ascending.
    pub dates: Vec<NaiveDate>,
    /// Rescore dates that are already up to date.
    pub force: bool,
    /// Afterwards, rescore the later committed dates whose previous
    /// snapshot changed.
    pub cascade: bool,
    /// Commit even when scores columns were removed or retyped.
    pub allow_schema_change: bool,
}

/// What happened to one date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Scored and committed.
    Scored,
    /// Already committed with the same pipeline, inputs and previous
    /// snapshot: left as it was.
    Skipped,
    /// A later committed date rescored because its previous snapshot
    /// changed (`--cascade`).
    Cascaded,
}

/// One date of a backfill.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DateOutcome {
    /// The as-of date.
    pub date: NaiveDate,
    /// What was done.
    pub action: Action,
    /// Why, in words.
    pub reason: String,
    /// Accounts scored (none when skipped).
    pub accounts: Option<usize>,
}

/// The result of a backfill.
pub struct BackfillResult {
    /// Every date considered, in the order handled.
    pub dates: Vec<DateOutcome>,
    /// The last date actually scored, with its manifest.
    pub last: Option<(NaiveDate, RunResult)>,
}

/// What identifies an input object: table, path, size, ETag and last
/// modification (its `rows` are derived from the object).
type Identity = (String, String, u64, Option<String>, String);

/// The identity of input objects with their tables, in a fixed order.
fn identities<'a>(objects: impl Iterator<Item = (&'a str, &'a InputObject)>) -> Vec<Identity> {
    let mut out: Vec<Identity> = objects
        .map(|(t, o)| {
            (
                t.to_string(),
                o.path.clone(),
                o.size,
                o.etag.clone(),
                o.last_modified.clone(),
            )
        })
        .collect();
    out.sort();
    out
}

/// Identity of the inputs a date would be scored from.
fn fingerprint(objects: &[(String, InputObject)]) -> Vec<Identity> {
    identities(objects.iter().map(|(t, o)| (t.as_str(), o)))
}

/// The identity of the inputs a committed date was scored from.
fn manifest_fingerprint(m: &Manifest) -> Vec<Identity> {
    identities(m.inputs.iter().map(|e| (e.table.as_str(), &e.object)))
}

/// Whether `date`'s committed snapshot was made from this previous
/// snapshot: the latest committed earlier date, with the same content.
fn previous_unchanged(out: &Store, date: NaiveDate, m: &Manifest) -> Result<bool> {
    let actual = snapshot::latest_committed(out, Some(date))?;
    let recorded = m.previous_snapshot.clone();
    if actual.map(|d| d.to_string()) != recorded {
        return Ok(false);
    }
    let Some(prev) = actual else {
        return Ok(true);
    };
    let digest = snapshot::read_manifest(out, SCORES, prev)?.map(|pm| pm.scores_sha256);
    let recorded_digest = m.previous_scores_sha256.clone();
    Ok(digest.is_some() && digest == recorded_digest)
}

/// Why `date` must be scored, or None when its committed snapshot is up to
/// date: same pipeline (sha256), same input objects, same previous snapshot.
fn reason_to_score(
    out: &Store,
    p: &Pipeline,
    date: NaiveDate,
    inputs: &[(String, InputObject)],
) -> Result<Option<String>> {
    let Some(m) = snapshot::read_manifest(out, SCORES, date)? else {
        return Ok(Some("not committed".into()));
    };
    if m.pipeline.sha256 != p.sha256 {
        return Ok(Some("committed with another pipeline".into()));
    }
    if manifest_fingerprint(&m) != fingerprint(inputs) {
        return Ok(Some("committed from other input objects".into()));
    }
    if !previous_unchanged(out, date, &m)? {
        return Ok(Some("its previous snapshot changed".into()));
    }
    Ok(None)
}

/// Aggregates, scores and commits one date (lease held); `last` is the
/// date this backfill scored before, taken as the previous snapshot from
/// memory when it is that.
fn score_date(
    p: &Pipeline,
    (cache, last): (&mut RangeReader, Option<&(NaiveDate, RunResult)>),
    inputs: &Inputs,
    output: &Store,
    opts: &BackfillOptions,
    date: NaiveDate,
) -> Result<RunResult> {
    let started = Utc::now();
    let _date = tracing::info_span!("date", as_of = %date).entered();
    let checked = cache.aggregate(p, inputs, date, StageTimes::default())?;
    crate::input::accounting::check_guards(p, &checked.counts, date)?;
    run::score_and_commit_after(
        p,
        checked,
        output,
        &RunOptions {
            run_id: opts.run_id.clone(),
            as_of: date,
            allow_schema_change: opts.allow_schema_change,
        },
        started,
        last.map(|(d, r)| (*d, &r.manifest, &r.scores)),
    )
}

/// Scores `opts.dates` in ascending order into `output` under one lease,
/// skipping up-to-date dates unless forced, then (with `cascade`) rescoring
/// later committed dates whose previous snapshot changed. `progress` is told
/// each date done, with the count done and the total. Stops at the first
/// date that fails; the dates before it stay committed.
pub fn backfill(
    p: &Pipeline,
    inputs: &Inputs,
    output: &Store,
    opts: &BackfillOptions,
    progress: &dyn Fn(usize, usize, &DateOutcome),
) -> Result<BackfillResult> {
    let mut cache = RangeReader::new(opts.dates.len());
    // Input problems that every date shares (a missing table or column)
    // surface before the lease is taken and before anything is written.
    if let Some(first) = opts.dates.first() {
        cache
            .open(p, inputs, *first)
            .map_err(|e| e.at(&format!("backfill date {first}")))?;
    }
    let lease = Lease::acquire(output, &opts.run_id)?;
    let result = backfill_leased(p, inputs, output, opts, progress, &lease, &mut cache);
    let released = lease.release();
    let r = result?;
    if let Err(e) = released {
        tracing::warn!(error = %e, "backfill committed, but the lease could not be released; it expires by itself");
    }
    Ok(r)
}

fn backfill_leased(
    p: &Pipeline,
    inputs: &Inputs,
    output: &Store,
    opts: &BackfillOptions,
    progress: &dyn Fn(usize, usize, &DateOutcome),
    lease: &Lease,
    cache: &mut RangeReader,
) -> Result<BackfillResult> {
    let mut outcomes = Vec::new();
    let mut last = None;
    let total = opts.dates.len();
    for (i, &date) in opts.dates.iter().enumerate() {
        lease.renew()?;
        cache
            .open(p, inputs, date)
            .map_err(|e| e.at(&format!("backfill date {date}")))?;
        let objects = cache.objects();
        let reason = if opts.force {
            Some("forced".to_string())
        } else {
            reason_to_score(output, p, date, &objects)?
        };
        let outcome = match reason {
            None => DateOutcome {
                date,
                action: Action::Skipped,
                reason: "up to date: same pipeline, input objects and previous snapshot".into(),
                accounts: None,
            },
            Some(reason) => {
                let r = score_date(p, (cache, last.as_ref()), inputs, output, opts, date)
                    .map_err(|e| e.at(&format!("backfill date {date}")))?;
                let outcome = DateOutcome {
                    date,
                    action: Action::Scored,
                    reason,
                    accounts: Some(r.scores.height()),
                };
                last = Some((date, r));
                outcome
            }
        };
        progress(i + 1, total, &outcome);
        outcomes.push(outcome);
    }
    if opts.cascade {
        let after = opts.dates.last().copied();
        let later: Vec<NaiveDate> = snapshot::committed_dates(output, SCORES)?
            .into_iter()
            .filter(|d| after.is_none_or(|a| *d > a))
            .collect();
        let total = outcomes.len() + later.len();
        for date in later {
            lease.renew()?;
            let unchanged = match snapshot::read_manifest(output, SCORES, date)? {
                Some(m) => previous_unchanged(output, date, &m)?,
                None => false,
            };
            if unchanged {
                continue;
            }
            let r = score_date(p, (cache, last.as_ref()), inputs, output, opts, date)
                .map_err(|e| e.at(&format!("cascade date {date}")))?;
            let outcome = DateOutcome {
                date,
                action: Action::Cascaded,
                reason: "its previous snapshot changed".into(),
                accounts: Some(r.scores.height()),
            };
            last = Some((date, r));
            progress(outcomes.len() + 1, total, &outcome);
            outcomes.push(outcome);
        }
    }
    Ok(BackfillResult {
        dates: outcomes,
        last,
    })
}
