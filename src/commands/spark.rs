//! `healthscore run --engine spark` (SPEC §10): the checks, guards,
//! commit protocol and manifest of `run`, with the tables computed by a
//! Spark cluster from the pipeline compiled to SQL. healthscore reads the
//! inputs' footers (SPEC §7's schema errors), takes the lease, registers
//! the input views, runs the script, reads the row accounting back and
//! applies the data guards; the cluster writes the parts under
//! `_staging/<run_id>/`, and only then does healthscore commit them under
//! the date's deterministic names. The staging prefix is removed whatever
//! the outcome.

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::{NaiveDate, Utc};
use polars::prelude::*;

use super::run::{
    every_kind, lowest_band_share, lowest_band_warning, manifest_before_writing, schema_changes,
    sealed_manifest, tally, RunOptions, RunResult,
};
use crate::error::{Error, Result};
use crate::input::accounting::{check_guards, check_rows_drop, duplicate_ids, TableCounts};
use crate::input::{open_tables, OpenTable};
use crate::output::manifest::{AccountCounts, Manifest};
use crate::output::{self as snapshot, Lease, Part, Table};
use crate::pipeline::{Pipeline, OVERRIDES};
use crate::progress::{stage_begins, StageTimes};
use crate::spark::cluster::{int, text};
use crate::spark::{staging, views, Cluster, LazyCluster};
use crate::sql::{self, Dialect};
use crate::storage::Store;

/// `healthscore run --engine spark` for one date, on a connected cluster.
pub fn run(
    p: &Pipeline,
    input: &Store,
    output: &Store,
    opts: &RunOptions,
    cluster: &LazyCluster,
) -> Result<RunResult> {
    let started = Utc::now();
    let mut stages = StageTimes::default();
    let t = Instant::now();
    stage_begins("open", None, None);
    // The footers only: the schema errors of SPEC §7 before anything is
    // sent to the cluster or written.
    let tables = open_tables(p, input)?;
    stages.record("open", t, None);
    let lease = Lease::acquire(output, &opts.run_id)?;
    let cluster = match cluster.get() {
        Ok(c) => c,
        Err(e) => {
            let _ = lease.release();
            return Err(e);
        }
    };
    let staging = staging::folder(&opts.run_id);
    let job = Job {
        p,
        input,
        output,
        opts,
        cluster,
        staging: &staging,
    };
    let result = job.score_and_commit(&tables, started, stages);
    if let Err(e) = staging::remove(output, &staging) {
        tracing::warn!(error = %e, "the staging prefix could not be removed");
    }
    let released = lease.release();
    let r = result?;
    if let Err(e) = released {
        tracing::warn!(error = %e, "snapshot committed, but the lease could not be released; it expires by itself");
    }
    Ok(r)
}

/// One date's run on the cluster.
struct Job<'a> {
    p: &'a Pipeline,
    input: &'a Store,
    output: &'a Store,
    opts: &'a RunOptions,
    cluster: &'a Cluster,
    staging: &'a str,
}

/// What the manifest needs that only the cluster knows, read in one
/// query: changes per kind, overrides per band, bands held.
struct Facts {
    changes: BTreeMap<String, i64>,
    overrides: BTreeMap<String, i64>,
    held: i64,
}

impl Job<'_> {
    fn score_and_commit(
        &self,
        tables: &[OpenTable],
        started: chrono::DateTime<Utc>,
        mut stages: StageTimes,
    ) -> Result<RunResult> {
        let (p, output, as_of) = (self.p, self.output, self.opts.as_of);
        let t = Instant::now();
        stage_begins("previous", None, None);
        let prev = previous(output, as_of)?;
        let prev_date = prev.as_ref().map(|(d, _)| d.to_string());
        let same_model = prev
            .as_ref()
            .is_some_and(|(_, m)| m.pipeline.model_version == p.model_version());
        stages.record("previous", t, None);

        let t = Instant::now();
        stage_begins("score", None, None);
        self.register_views(tables, prev.as_ref().map(|(d, _)| *d))?;
        for statement in sql::statements(p, as_of, Dialect::Spark)? {
            self.cluster
                .execute("running the pipeline's SQL", &statement)?;
        }
        self.refuse_duplicate_ids()?;
        let counts = self.row_accounting()?;
        check_guards(p, &counts, as_of)?;
        if let (Some((d, m)), true) = (&prev, same_model) {
            check_rows_drop(p, &counts, &m.tables, &d.to_string())?;
        }
        // Every output reads the scored view: computed once, kept by the
        // cluster (memory, then disk) while the tables are written.
        self.cluster.execute(
            "computing the scores",
            &format!("CACHE TABLE {}", sql::SCORED_VIEW),
        )?;
        let staged = self.write_tables()?;
        let facts = self.facts()?;
        self.cluster.execute(
            "releasing the cached scores",
            &format!("UNCACHE TABLE IF EXISTS {}", sql::SCORED_VIEW),
        )?;
        stages.record("score", t, None);

        let scores_part = staged[0].1.first().ok_or_else(|| {
            Error::Internal("the cluster wrote no part of the scores table".into())
        })?;
        let schema = staging::schema(output, scores_part)?;
        let schema_notes = schema_changes(
            output,
            prev_date.as_deref(),
            &schema,
            self.opts.allow_schema_change,
        )?;
        let summary = staging::read(output, &staged[1].1)?;
        let inputs: Vec<_> = tables
            .iter()
            .flat_map(|t| t.objects.iter().map(|o| (t.table.clone(), o.clone())))
            .collect();
        let prev_digest = prev.as_ref().map(|(_, m)| m.scores_sha256.clone());
        let mut m = manifest_before_writing(
            p,
            (&inputs, &counts),
            self.opts,
            started,
            (prev_date.clone(), prev_digest),
            &schema,
        );
        let prev_share = prev.as_ref().and_then(|(_, m)| lowest_share_of(p, m));
        let mut warnings = lowest_band_warning(
            p,
            prev_date.as_deref(),
            prev_share,
            lowest_band_share(p, &summary),
        );
        warnings.extend(schema_notes);
        for w in &warnings {
            tracing::warn!(stage = "score", "{w}");
        }
        m.engine = "spark".into();
        m.spark_application_id = Some(self.cluster.application_id()?);
        m.accounts = Some(account_counts(&summary));
        m.warnings = Some(warnings);
        m.changes = Some(facts.changes);
        m.bands_held = Some(facts.held);
        m.overrides_applied = p.has_overrides().then_some(facts.overrides);

        let write_started = Instant::now();
        stage_begins("write", None, None);
        let tables: Vec<Table> = staged
            .iter()
            .map(|(table, parts)| {
                let parts = parts
                    .iter()
                    .map(|rel| Part::Encoded(Box::new(move || staging::fetch(output, rel))))
                    .collect();
                Table::of(table, parts)
            })
            .collect();
        snapshot::commit(output, as_of, tables, |written| {
            stages.record("write", write_started, None);
            sealed_manifest(m, written, &stages)
        })?;
        let manifest = snapshot::read_manifest(output, snapshot::SCORES, as_of)?
            .ok_or_else(|| Error::Internal("manifest vanished after commit".into()))?;
        Ok(RunResult {
            manifest,
            scores: DataFrame::empty(),
            summary,
        })
    }

    /// The input views, then `previous_scores` (the snapshot of `prev`).
    fn register_views(&self, tables: &[OpenTable], prev: Option<NaiveDate>) -> Result<()> {
        for statement in views::input_views(self.p, self.input, tables) {
            self.cluster
                .execute("registering the input views", &statement)?;
        }
        let folder = prev.map(|d| snapshot::date_folder(snapshot::SCORES, d));
        self.cluster.execute(
            "registering previous_scores",
            &views::previous_scores(self.output, folder.as_deref()),
        )
    }

    /// Stops the run when an accounts id appears more than once (as
    /// `run` does), naming up to five of them.
    fn refuse_duplicate_ids(&self) -> Result<()> {
        if self.p.source("accounts").is_none() {
            return Ok(());
        }
        let rows = self.cluster.rows(
            "checking that accounts ids are unique",
            "SELECT customer_id, count(*) OVER () AS ids FROM duplicate_ids ORDER BY customer_id LIMIT 5",
        )?;
        match rows.first() {
            None => Ok(()),
            Some(first) => {
                let examples: Vec<String> = rows.iter().filter_map(|r| text(r, 0)).collect();
                Err(duplicate_ids(int(first, 1) as usize, &examples))
            }
        }
    }

    /// The row accounting of SPEC §7 (`row_accounting`, `event_dates`), as
    /// the manifest records it.
    fn row_accounting(&self) -> Result<BTreeMap<String, TableCounts>> {
        let mut counts: BTreeMap<String, TableCounts> = BTreeMap::new();
        let rows = self.cluster.rows(
            "reading the row accounting",
            "SELECT table_name, count_name, `rows` FROM row_accounting",
        )?;
        for row in rows {
            let (Some(table), Some(name)) = (text(&row, 0), text(&row, 1)) else {
                continue;
            };
            let c = counts.entry(table.clone()).or_default();
            set_count(c, &table, &name, int(&row, 2))?;
        }
        let dates = self.cluster.rows(
            "reading the event dates",
            "SELECT table_name, CAST(earliest_event_date AS STRING), CAST(latest_event_date AS STRING) FROM event_dates",
        )?;
        for row in dates {
            if let Some(c) = text(&row, 0).and_then(|t| counts.get_mut(&t)) {
                c.earliest_event_date = text(&row, 1);
                c.latest_event_date = text(&row, 2);
            }
        }
        Ok(counts)
    }

    /// Has the cluster write every table of the date under the staging
    /// prefix: (table, its staged parts in order). Without the long
    /// metrics table, no parts for it: the date's folder is only cleared.
    fn write_tables(&self) -> Result<Vec<(&'static str, Vec<String>)>> {
        let mut staged = Vec::new();
        for table in [
            snapshot::SCORES,
            snapshot::SUMMARY,
            snapshot::METRICS,
            snapshot::CHANGES,
        ] {
            let parts = if table == snapshot::METRICS && !self.p.settings.metrics_table {
                Vec::new()
            } else {
                staging::write_table(self.cluster, self.output, self.staging, table, table)?
            };
            staged.push((table, parts));
        }
        Ok(staged)
    }

    /// Changes per kind, overrides per band and bands held, in one query.
    fn facts(&self) -> Result<Facts> {
        let mut query = String::from(
            "SELECT 'changes' AS what, coalesce(CAST(kind AS STRING), 'null') AS k, count(*) AS n FROM changes GROUP BY 1, 2 \
             UNION ALL SELECT 'held', NULL, accounts FROM bands_held",
        );
        if self.p.has_overrides() {
            query.push_str(" UNION ALL SELECT 'overrides', coalesce(band, 'null'), count(*) FROM scores WHERE override_reason IS NOT NULL GROUP BY 1, 2");
        }
        let mut facts = Facts {
            changes: BTreeMap::new(),
            overrides: BTreeMap::new(),
            held: 0,
        };
        for row in self
            .cluster
            .rows("counting changes and overrides", &query)?
        {
            let key = text(&row, 1).unwrap_or_default();
            match text(&row, 0).as_deref() {
                Some("changes") => {
                    facts.changes.insert(key, int(&row, 2));
                }
                Some("overrides") => {
                    facts.overrides.insert(key, int(&row, 2));
                }
                _ => facts.held = int(&row, 2),
            }
        }
        facts.changes = every_kind(&facts.changes);
        Ok(facts)
    }
}

/// Sets one count of `row_accounting` (its `count_name`) on a table's
/// accounting as `run` records it: rejections per rule only when some row
/// broke it (every rule for the overrides), orphans and nulls always.
fn set_count(c: &mut TableCounts, table: &str, name: &str, n: i64) -> Result<()> {
    match name {
        "rows_read" => c.rows_read = n,
        "after_as_of" => c.after_as_of = n,
        "rows_used" => c.rows_used = n,
        "not_yet_customers" => c.not_yet_customers = Some(n),
        "excluded_by_filter" => c.excluded_by_filter = Some(n),
        "expired" => c.expired = Some(n),
        "superseded" => c.superseded = Some(n),
        other => match other.split_once('.') {
            Some(("rejected", rule)) => {
                if n > 0 || table == OVERRIDES {
                    c.rejected.insert(rule.to_string(), n);
                }
            }
            Some(("orphaned", kind)) => {
                c.orphaned.insert(kind.to_string(), n);
            }
            Some(("nulls", column)) => {
                c.nulls.insert(column.to_string(), n);
            }
            _ => {
                return Err(Error::Internal(format!(
                    "row_accounting of {table}: unknown count {other}"
                )))
            }
        },
    }
    Ok(())
}

/// Accounts scored, per scorecard and per band, from the summary table.
fn account_counts(summary: &DataFrame) -> AccountCounts {
    let by_band = tally(summary.clone().lazy(), "band", col("accounts").sum());
    AccountCounts {
        scored: by_band.values().sum(),
        by_scorecard: tally(summary.clone().lazy(), "scorecard", col("accounts").sum()),
        by_band,
    }
}

/// The previous snapshot's share of accounts in the lowest band, from its
/// manifest.
fn lowest_share_of(p: &Pipeline, m: &Manifest) -> Option<f64> {
    let a = m.accounts.as_ref()?;
    let lowest = a.by_band.get(&p.bands[0].name).copied().unwrap_or(0);
    Some(if a.scored == 0 {
        0.0
    } else {
        lowest as f64 / a.scored as f64
    })
}

/// The previous snapshot of `as_of` and its manifest, every scores part
/// its manifest lists present with the size it records (the cluster reads
/// their bytes; `run` on this machine checks their SHA-256 too).
fn previous(output: &Store, as_of: NaiveDate) -> Result<Option<(NaiveDate, Manifest)>> {
    let Some(date) = snapshot::latest_committed(output, Some(as_of))? else {
        return Ok(None);
    };
    let folder = snapshot::date_folder(snapshot::SCORES, date);
    let damaged = |url: String, message: &str| Error::Damaged {
        date: date.to_string(),
        url,
        message: message.to_string(),
    };
    let manifest = snapshot::read_manifest(output, snapshot::SCORES, date)?
        .ok_or_else(|| damaged(output.url_of(&folder), "its _SUCCESS vanished"))?;
    let listed = output.list(&folder)?;
    for w in manifest
        .outputs
        .iter()
        .filter(|w| w.table == snapshot::SCORES)
    {
        let name = w.path.rsplit('/').next().unwrap_or_default();
        let found = listed
            .iter()
            .find(|o| o.rel.rsplit('/').next() == Some(name));
        match found {
            None => {
                return Err(damaged(
                    w.path.clone(),
                    "a part its manifest lists is missing",
                ))
            }
            Some(o) if o.size as usize != w.bytes => {
                return Err(damaged(
                    w.path.clone(),
                    "a part is not the one its manifest records (its size differs)",
                ))
            }
            Some(_) => {}
        }
    }
    Ok(Some((date, manifest)))
}
