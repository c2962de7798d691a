//! Retention: `healthscore prune` deletes the snapshot dates older than the
//! newest committed date minus N days, keeping the last M month-end
//! snapshots and always the latest committed one.
//!
//! For each date it deletes the `_SUCCESS` markers first (scores, then
//! summary), so a half-deleted date is never seen as committed, then every
//! other object of the date's `scores/` and `summary/` folders. It runs
//! under the same lease as `run`, so it never races a run writing a date.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, Duration, NaiveDate};

use crate::error::{Error, Result};
use crate::output::{self as snapshot, Lease, SCORES, SUCCESS, TABLES};
use crate::storage::Store;

/// What to keep, and whether to delete at all.
#[derive(Debug, Clone)]
pub struct PruneOptions {
    /// Keep the dates on or after the newest committed date minus this
    /// many days.
    pub keep_days: u32,
    /// Keep also the month-end snapshots of this many most recent complete
    /// months (the last committed date of each calendar month).
    pub keep_month_ends: u32,
    /// List what would be deleted; delete nothing and take no lease.
    pub dry_run: bool,
    /// Run id recorded in the lease.
    pub run_id: String,
}

/// One date chosen for deletion.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PrunedDate {
    /// The snapshot date.
    pub date: NaiveDate,
    /// Whether the date was committed (its scores `_SUCCESS` existed).
    pub committed: bool,
    /// Objects under the date's folders (deleted, or to delete on a dry run).
    pub objects: Vec<String>,
    /// Those of `objects` a local store's listing hides: temporary files
    /// of an interrupted write, removed as files.
    #[serde(skip)]
    pub unlisted: Vec<String>,
}

/// What a prune did (or, on a dry run, would do).
#[derive(Debug, Clone, serde::Serialize)]
pub struct PruneReport {
    /// The newest committed date (never deleted); None when there is none.
    pub latest_committed: Option<NaiveDate>,
    /// Dates strictly before this one are deleted unless kept as month ends.
    pub cut: Option<NaiveDate>,
    /// Month-end dates kept although older than the cut.
    pub kept_month_ends: Vec<NaiveDate>,
    /// Dates deleted (or to delete), oldest first.
    pub deleted: Vec<PrunedDate>,
    /// Dates left in place, oldest first.
    pub kept: Vec<NaiveDate>,
    /// True when nothing was deleted because of `--dry-run`.
    pub dry_run: bool,
}

/// Every date that has a folder under any output table, ascending.
fn all_dates(out: &Store) -> Result<BTreeSet<NaiveDate>> {
    let mut dates = BTreeSet::new();
    for table in TABLES {
        for d in out.list_dirs(table)? {
            if let Some(date) = snapshot::parse_date_folder(&d) {
                dates.insert(date);
            }
        }
    }
    Ok(dates)
}

fn is_last_day_of_month(d: NaiveDate) -> bool {
    d.succ_opt().is_none_or(|n| n.month() != d.month())
}

/// The month-end snapshots among `committed` (ascending): the last committed
/// date of each calendar month, except the month of the newest committed
/// date unless that date is the month's last day (the month is not over).
/// Newest last.
pub fn month_ends(committed: &[NaiveDate]) -> Vec<NaiveDate> {
    let Some(&latest) = committed.last() else {
        return Vec::new();
    };
    let mut last_of_month: BTreeMap<(i32, u32), NaiveDate> = BTreeMap::new();
    for &d in committed {
        let e = last_of_month.entry((d.year(), d.month())).or_insert(d);
        if d > *e {
            *e = d;
        }
    }
    last_of_month
        .into_iter()
        .filter(|(ym, d)| *ym != (latest.year(), latest.month()) || is_last_day_of_month(*d))
        .map(|(_, d)| d)
        .collect()
}

/// Decides which dates go, without touching anything.
fn plan(out: &Store, opts: &PruneOptions) -> Result<PruneReport> {
    let dates = all_dates(out)?;
    let committed = snapshot::committed_dates(out, SCORES)?;
    let Some(&latest) = committed.last() else {
        // No committed snapshot: nothing to measure the age against.
        return Ok(PruneReport {
            latest_committed: None,
            cut: None,
            kept_month_ends: Vec::new(),
            deleted: Vec::new(),
            kept: dates.into_iter().collect(),
            dry_run: opts.dry_run,
        });
    };
    let cut = latest - Duration::days(i64::from(opts.keep_days));
    let ends = month_ends(&committed);
    let kept_ends: BTreeSet<NaiveDate> = ends
        .iter()
        .rev()
        .take(opts.keep_month_ends as usize)
        .copied()
        .collect();
    let mut deleted = Vec::new();
    let mut kept = Vec::new();
    let mut kept_month_ends = Vec::new();
    for d in dates {
        if d >= cut || d == latest {
            kept.push(d);
        } else if kept_ends.contains(&d) {
            kept.push(d);
            kept_month_ends.push(d);
        } else {
            let mut objects = Vec::new();
            let mut unlisted = Vec::new();
            for table in TABLES {
                let folder = snapshot::date_folder(table, d);
                let listed = out.list(&folder)?;
                // Temporary files of an interrupted write, which a local
                // store's listing hides.
                unlisted.extend(out.unlisted_local_files(&folder, &listed)?);
                objects.extend(listed.into_iter().map(|o| o.rel));
            }
            objects.extend(unlisted.iter().cloned());
            deleted.push(PrunedDate {
                date: d,
                committed: committed.binary_search(&d).is_ok(),
                objects,
                unlisted,
            });
        }
    }
    Ok(PruneReport {
        latest_committed: Some(latest),
        cut: Some(cut),
        kept_month_ends,
        deleted,
        kept,
        dry_run: opts.dry_run,
    })
}

/// Deletes one date: every table's `_SUCCESS` marker first (scores, whose
/// marker says the date is committed, then summary and metrics), then every
/// other object.
fn delete_date(
    out: &Store,
    date: NaiveDate,
    objects: &[String],
    unlisted: &[String],
) -> Result<()> {
    let markers: Vec<String> = TABLES
        .iter()
        .map(|t| format!("{}/{SUCCESS}", snapshot::date_folder(t, date)))
        .collect();
    for m in &markers {
        out.delete(m)?;
    }
    for rel in objects {
        if unlisted.contains(rel) {
            out.remove_unlisted_local_file(rel)?;
        } else if !markers.contains(rel) {
            out.delete(rel)?;
        }
    }
    // The local disk keeps empty folders, which would still list as dates.
    for table in TABLES {
        if let Some(dir) = out.local_path(&snapshot::date_folder(table, date)) {
            match std::fs::remove_dir(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    tracing::warn!(folder = %dir.display(), error = %e, "could not remove an emptied snapshot folder")
                }
            }
        }
    }
    Ok(())
}

/// Prunes the output: plans, then (unless a dry run) takes the lease,
/// deletes the planned dates oldest first and releases the lease.
pub fn prune(out: &Store, opts: &PruneOptions) -> Result<PruneReport> {
    if opts.dry_run {
        return plan(out, opts);
    }
    let lease = Lease::acquire(out, &opts.run_id)?;
    let result = prune_leased(out, opts);
    let released = lease.release();
    let report = result?;
    if let Err(e) = released {
        tracing::warn!(error = %e, "prune done, but the lease could not be released; it expires by itself");
    }
    Ok(report)
}

fn prune_leased(out: &Store, opts: &PruneOptions) -> Result<PruneReport> {
    // Planned under the lease, so no run commits a date meanwhile.
    let report = plan(out, opts)?;
    for d in &report.deleted {
        if Some(d.date) == report.latest_committed {
            return Err(Error::Internal(format!(
                "prune planned to delete the latest committed snapshot {}",
                d.date
            )));
        }
        tracing::info!(date = %d.date, objects = d.objects.len(), committed = d.committed, "deleting snapshot date");
        delete_date(out, d.date, &d.objects, &d.unlisted)?;
    }
    Ok(report)
}

impl PruneReport {
    /// The human-readable summary printed by `healthscore prune`.
    pub fn text(&self, url: &str) -> String {
        let verb = if self.dry_run {
            "would delete"
        } else {
            "deleted"
        };
        let Some(latest) = self.latest_committed else {
            return format!("prune {url}: no committed snapshot, nothing deleted");
        };
        let mut text = format!(
            "prune {url}: latest committed {latest}, keeping dates on or after {}",
            self.cut.map(|c| c.to_string()).unwrap_or_default()
        );
        if !self.kept_month_ends.is_empty() {
            let ends: Vec<String> = self.kept_month_ends.iter().map(|d| d.to_string()).collect();
            text.push_str(&format!(" and month ends {}", ends.join(", ")));
        }
        text.push_str(&format!("\n  {verb} {} date(s)", self.deleted.len()));
        for d in &self.deleted {
            text.push_str(&format!(
                "\n  {verb} {}{} ({} objects)",
                d.date,
                if d.committed { "" } else { " (not committed)" },
                d.objects.len()
            ));
            if self.dry_run {
                for o in &d.objects {
                    text.push_str(&format!("\n    {o}"));
                }
            }
        }
        text
    }
}
