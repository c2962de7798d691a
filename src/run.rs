//! The job itself: open the inputs, account for every row, check the data
//! guards, score, and (for `run`) commit a snapshot. `check` stops after
//! the guards; backtests reuse [`check_inputs`] and [`score_accounts`] without writing.

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::{NaiveDate, Utc};
use polars::prelude::*;
use serde::Serialize;

use crate::config::Pipeline;
use crate::contract::TENURE_DAYS;
use crate::error::{Error, Result};
use crate::kernel;
use crate::metrics::{self, agg_column, AFTER, MAX_DAY, ROWS};
use crate::score;
use crate::snapshot::{self, Lease, Written};
use crate::source::{self, InputObject, OpenTable};
use crate::storage::Store;

/// Row accounting of one table (SPEC §7), as in the manifest.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct TableCounts {
    /// Rows in the table's objects.
    pub rows_read: i64,
    /// Rows dated after D, dropped before validation.
    pub after_as_of: i64,
    /// Rejected rows per rule.
    pub rejected: BTreeMap<String, i64>,
    /// Orphaned rows: `null_customer_id`, `unknown_customer_id`.
    pub orphaned: BTreeMap<String, i64>,
    /// Rows that fed the metrics (or accounts scored).
    pub rows_used: i64,
    /// accounts only: signed up after D.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_yet_customers: Option<i64>,
    /// accounts only: excluded by the pipeline's account filter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub excluded_by_filter: Option<i64>,
    /// Latest event date among the rows used.
    pub latest_event_date: Option<String>,
    /// Earliest event date among the rows used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub earliest_event_date: Option<String>,
    /// Nulls of each optional (nullable) contract column among the rows
    /// used (accounts: name, segment, signup_date, seats,
    /// onboarding_completion_pct; support_tickets: closed_at).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub nulls: BTreeMap<String, i64>,
}

impl TableCounts {
    /// Rows dated on or before D (the base of the guard shares).
    pub fn rows_in_scope(&self) -> i64 {
        self.rows_read - self.after_as_of
    }
    /// All rejected rows.
    pub fn rejected_total(&self) -> i64 {
        self.rejected.values().sum()
    }
    /// All orphaned rows.
    pub fn orphaned_total(&self) -> i64 {
        self.orphaned.values().sum()
    }
}

/// Elapsed milliseconds per stage, in order.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StageTimes(pub Vec<(String, u128)>);

impl StageTimes {
    /// Records (and logs) a stage that started at `started`.
    pub fn record(&mut self, stage: &str, started: Instant, rows: Option<usize>) {
        let ms = started.elapsed().as_millis();
        tracing::info!(
            stage,
            duration_ms = ms as u64,
            rows = rows.map(|r| r as u64),
            "stage done"
        );
        self.0.push((stage.to_string(), ms));
    }
    /// As a JSON object.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Object(
            self.0
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::json!(*v as u64)))
                .collect(),
        )
    }
}

/// The as-of date being worked on, for log lines: a backfill moves it
/// from date to date.
static WORKING_DATE: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// Sets the as-of date log lines carry from now on.
pub fn set_working_date(date: Option<NaiveDate>) {
    if let Ok(mut d) = WORKING_DATE.lock() {
        *d = date.map(|d| d.to_string());
    }
}

/// The as-of date set by [`set_working_date`], if any.
pub fn working_date() -> Option<String> {
    WORKING_DATE.lock().ok().and_then(|d| d.clone())
}

/// Everything known after reading and checking the inputs.
pub struct Checked {
    /// Accepted accounts (customer_id unique, signed up by D, passing the
    /// filter) with `tenure_days`.
    pub accounts: DataFrame,
    /// Per-table aggregates keyed by customer_id (known accounts only).
    pub aggregates: Vec<(String, DataFrame)>,
    /// Row accounting per table.
    pub counts: BTreeMap<String, TableCounts>,
    /// Input objects per table.
    pub inputs: Vec<(String, InputObject)>,
    /// Stage timings so far.
    pub stages: StageTimes,
}

fn day_of(d: NaiveDate) -> i32 {
    (d - NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days() as i32
}

/// A UTC day number as `YYYY-MM-DD`.
pub(crate) fn date_of(day: i32) -> String {
    (NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch") + chrono::Duration::days(day as i64))
        .format("%Y-%m-%d")
        .to_string()
}

fn pl(context: &'static str) -> impl Fn(PolarsError) -> Error {
    move |e| Error::polars(context, e)
}

fn scalar_i64(df: &DataFrame, column: &str) -> i64 {
    df.column(column)
        .ok()
        .and_then(|c| c.get(0).ok())
        .and_then(|v| v.extract::<i64>())
        .unwrap_or(0)
}

/// Reads, validates and aggregates every input table for date `as_of`,
/// then checks the data guards.
pub fn check_inputs(p: &Pipeline, input: &Store, as_of: NaiveDate) -> Result<Checked> {
    let checked = read_inputs(p, input, as_of)?;
    check_guards(p, &checked.counts, as_of)?;
    Ok(checked)
}

/// Reads, validates and aggregates every input table for date `as_of`:
/// schema checks and row accounting, without the data guards (`check`
/// reports the counts even when a guard trips).
pub fn read_inputs(p: &Pipeline, input: &Store, as_of: NaiveDate) -> Result<Checked> {
    let mut stages = StageTimes::default();
    let t = Instant::now();
    let tables = source::open_tables(p, input)?;
    stages.record("open", t, None);
    aggregate_inputs(p, input, &tables, as_of, stages)
}

/// Validates and aggregates already opened input tables for date `as_of`
/// (row accounting, accepted accounts, every metric's aggregations); a
/// backfill opens the tables once and calls this for each date.
pub fn aggregate_inputs(
    p: &Pipeline,
    input: &Store,
    tables: &[OpenTable],
    as_of: NaiveDate,
    mut stages: StageTimes,
) -> Result<Checked> {
    let d = day_of(as_of);
    let t = Instant::now();
    let accounts_table = tables
        .iter()
        .find(|t| t.table == "accounts")
        .ok_or_else(|| Error::Internal("accounts not opened".into()))?;
    let (accounts, known, account_counts) = accept_accounts(p, accounts_table, d)?;
    stages.record("accounts", t, Some(accounts.height()));

    let t = Instant::now();
    let event_tables: Vec<&OpenTable> = tables.iter().filter(|t| t.table != "accounts").collect();
    let index = kernel::AccountIndex::new(&known, &accounts)?;
    let mut plans = Vec::new();
    let mut kernels = Vec::new();
    for et in &event_tables {
        let k = kernel::KernelTable::plan(p, et, d, &index)?;
        plans.push(match &k {
            Some(k) => k.plan.clone(),
            None => metrics::aggregate_table(p, et, d)?.logical_plan,
        });
        kernels.push(k);
    }
    let grouped = if plans.is_empty() {
        Vec::new()
    } else {
        LazyFrame::collect_all_with_engine(plans, Engine::Streaming, OptFlags::default())
            .map_err(|e| source::unreadable_object(&event_tables, read_error(input, e)))?
    };
    let mut counts = BTreeMap::new();
    counts.insert("accounts".to_string(), account_counts);
    let mut aggregates = Vec::new();
    for ((et, g), k) in event_tables.iter().zip(grouped).zip(kernels) {
        let (c, frame) = match k {
            None => group_by_table(p, et, g, &known)?,
            Some(k) => match k.finish(&index)? {
                Some(done) => done,
                // Too many distinct values for the kernel: the group-by.
                None => {
                    let g = collect_streaming(metrics::aggregate_table(p, et, d)?)
                        .map_err(|e| source::unreadable_object(&[et], read_error(input, e)))?;
                    group_by_table(p, et, g, &known)?
                }
            },
        };
        tracing::info!(
            stage = "aggregate",
            table = et.table.as_str(),
            rows = c.rows_read,
            rows_used = c.rows_used,
            rejected = c.rejected_total(),
            orphaned = c.orphaned_total(),
            "table read"
        );
        counts.insert(et.table.clone(), c);
        aggregates.push((et.table.clone(), frame));
    }
    stages.record("aggregate", t, None);

    let inputs = tables
        .iter()
        .flat_map(|t| t.objects.iter().map(move |o| (t.table.clone(), o.clone())))
        .collect();
    Ok(Checked {
        accounts,
        aggregates,
        counts,
        inputs,
        stages,
    })
}

/// A table's row accounting and its aggregates of known accounts, from its
/// group-by (the path of [`metrics::aggregate_table`]).
fn group_by_table(
    p: &Pipeline,
    et: &OpenTable,
    g: DataFrame,
    known: &DataFrame,
) -> Result<(TableCounts, DataFrame)> {
    let rules = metrics::rule_names(p, et);
    let optional = metrics::optional_columns(&et.table, &et.columns);
    let c = table_counts(&g, known, &rules, &optional)?;
    let known_only = g
        .lazy()
        .join(
            known.clone().lazy(),
            [col("customer_id")],
            [col("customer_id")],
            JoinArgs::new(JoinType::Semi),
        )
        .collect()
        .map_err(pl("joining aggregates"))?;
    Ok((c, known_only))
}

fn read_error(input: &Store, e: PolarsError) -> Error {
    match e {
        PolarsError::ComputeError(_) | PolarsError::IO { .. } => Error::Corrupt {
            url: input.url().to_string(),
            message: e.to_string(),
        },
        other => Error::polars("aggregating inputs", other),
    }
}

/// Accepted accounts, the set of known ids, and the accounts' row counts.
fn accept_accounts(
    p: &Pipeline,
    t: &OpenTable,
    d: i32,
) -> Result<(DataFrame, DataFrame, TableCounts)> {
    let all = collect_streaming(t.frame.clone()).map_err(|e| {
        let fallback = Error::Corrupt {
            url: t
                .objects
                .first()
                .map(|o| o.path.clone())
                .unwrap_or_default(),
            message: e.to_string(),
        };
        source::unreadable_object(&[t], fallback)
    })?;
    let rows_read = all.height() as i64;
    let null_ids = all
        .column("customer_id")
        .map_err(pl("accounts"))?
        .null_count() as i64;
    let with_id = all
        .lazy()
        .filter(col("customer_id").is_not_null())
        .collect()
        .map_err(pl("accounts"))?;
    // Exports are usually sorted by id: strictly ascending ids are unique
    // without a hash group-by.
    if !ids_strictly_ascending(&with_id).map_err(pl("accounts"))? {
        refuse_duplicate_ids(&with_id)?;
    }
    let known = with_id
        .clone()
        .lazy()
        .select([col("customer_id"), lit(true).alias("__known")])
        .collect()
        .map_err(pl("accounts"))?;
    let not_yet = col("signup_date").gt(lit(d)).fill_null(lit(false));
    let not_yet_n = with_id
        .clone()
        .lazy()
        .select([not_yet.clone().cast(DataType::Int64).sum().alias("n")])
        .collect()
        .map_err(pl("accounts"))?;
    let not_yet_n = scalar_i64(&not_yet_n, "n");
    let mut current = with_id.lazy().filter(not_yet.not());
    let mut excluded = 0;
    if let Some(f) = &p.accounts.filter {
        let keep = f.expr.clone().fill_null(lit(false));
        let n = current
            .clone()
            .select([keep.clone().not().cast(DataType::Int64).sum().alias("n")])
            .collect()
            .map_err(|e| {
                Error::contract(
                    "accounts",
                    None,
                    format!("accounts.filter `{}` cannot be evaluated: {e}", f.text),
                )
            })?;
        excluded = scalar_i64(&n, "n");
        current = current.filter(keep);
    }
    let accepted = current
        .with_column(
            (lit(d) - col("signup_date"))
                .cast(DataType::Int32)
                .alias(TENURE_DAYS),
        )
        .collect()
        .map_err(pl("accounts"))?;
    let counts = TableCounts {
        rows_read,
        after_as_of: 0,
        rejected: [("null_customer_id".to_string(), null_ids)]
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .collect(),
        orphaned: BTreeMap::new(),
        rows_used: accepted.height() as i64,
        not_yet_customers: Some(not_yet_n),
        excluded_by_filter: Some(excluded),
        latest_event_date: None,
        earliest_event_date: None,
        nulls: metrics::optional_columns(&t.table, &t.columns)
            .into_iter()
            .filter_map(|c| {
                let n = accepted.column(&c).ok()?.null_count() as i64;
                Some((c, n))
            })
            .collect(),
    };
    Ok((accepted, known, counts))
}

/// Stops the run when an accounts id appears more than once, naming up
/// to five of them.
fn refuse_duplicate_ids(with_id: &DataFrame) -> Result<()> {
    let dups = with_id
        .clone()
        .lazy()
        .group_by([col("customer_id")])
        .agg([len().alias("n")])
        .filter(col("n").gt(lit(1)))
        .sort(["customer_id"], SortMultipleOptions::default())
        .collect()
        .map_err(pl("accounts"))?;
    if dups.height() > 0 {
        let examples: Vec<String> = dups
            .column("customer_id")
            .map_err(pl("accounts"))?
            .str()
            .map_err(pl("accounts"))?
            .iter()
            .take(5)
            .flatten()
            .map(str::to_string)
            .collect();
        return Err(Error::contract(
            "accounts",
            Some("customer_id"),
            format!(
                "table accounts: column customer_id must be unique; {} ids appear more than once, e.g. {}. Deduplicate the accounts export",
                dups.height(),
                examples.join(", ")
            ),
        ));
    }
    Ok(())
}

/// Sums a table's group-by into its row accounting.
fn table_counts(
    g: &DataFrame,
    known: &DataFrame,
    rules: &[String],
    optional: &[String],
) -> Result<TableCounts> {
    let scope = col(ROWS) - col(AFTER);
    let is_known = col("__known").fill_null(lit(false));
    let mut exprs = vec![
        col(ROWS).sum().alias("rows_read"),
        col(AFTER).sum().alias("after_as_of"),
        scope
            .clone()
            .filter(col("customer_id").is_null())
            .sum()
            .alias("orphan_null"),
        scope
            .filter(col("customer_id").is_not_null().and(is_known.clone().not()))
            .sum()
            .alias("orphan_unknown"),
        col(MAX_DAY)
            .filter(is_known.clone())
            .max()
            .cast(DataType::Int64)
            .alias("max_day"),
        col(metrics::MIN_DAY)
            .filter(is_known.clone())
            .min()
            .cast(DataType::Int64)
            .alias("min_day"),
    ];
    for c in optional {
        exprs.push(
            col(metrics::nulls_column(c))
                .filter(is_known.clone())
                .sum()
                .alias(metrics::nulls_column(c)),
        );
    }
    for r in rules {
        exprs.push(
            col(metrics::rule_column(r))
                .filter(is_known.clone())
                .sum()
                .alias(r.as_str()),
        );
    }
    let s = g
        .clone()
        .lazy()
        .join(
            known.clone().lazy(),
            [col("customer_id")],
            [col("customer_id")],
            JoinArgs::new(JoinType::Left),
        )
        .select(exprs)
        .collect()
        .map_err(pl("counting rows"))?;
    let mut c = TableCounts {
        rows_read: scalar_i64(&s, "rows_read"),
        after_as_of: scalar_i64(&s, "after_as_of"),
        ..Default::default()
    };
    for r in rules {
        let n = scalar_i64(&s, r);
        if n > 0 {
            c.rejected.insert(r.clone(), n);
        }
    }
    c.orphaned
        .insert("null_customer_id".into(), scalar_i64(&s, "orphan_null"));
    c.orphaned.insert(
        "unknown_customer_id".into(),
        scalar_i64(&s, "orphan_unknown"),
    );
    c.rows_used = c.rows_in_scope() - c.rejected_total() - c.orphaned_total();
    let day = |name: &str| {
        s.column(name)
            .ok()
            .and_then(|col| col.get(0).ok())
            .and_then(|v| v.extract::<i64>())
            .map(|d| date_of(d as i32))
    };
    c.latest_event_date = day("max_day");
    c.earliest_event_date = day("min_day");
    for o in optional {
        c.nulls
            .insert(o.clone(), scalar_i64(&s, &metrics::nulls_column(o)));
    }
    Ok(c)
}

/// The data guards of SPEC §7: rejected share, orphaned share, export lag.
pub fn check_guards(
    p: &Pipeline,
    counts: &BTreeMap<String, TableCounts>,
    as_of: NaiveDate,
) -> Result<()> {
    let s = &p.settings;
    for (table, c) in counts {
        let scope = c.rows_in_scope().max(0);
        if scope == 0 {
            continue;
        }
        let rejected = c.rejected_total() as f64 / scope as f64;
        if rejected > s.max_rejected_share {
            let rules: Vec<String> = c
                .rejected
                .iter()
                .map(|(r, n)| format!("{r}: {n}"))
                .collect();
            return Err(Error::Guard {
                table: table.clone(),
                message: format!(
                    "table {table}: {} of {scope} rows dated on or before {as_of} were rejected ({:.2}%), above max_rejected_share {:.2}% ({}). Fix the export or raise settings.max_rejected_share; nothing was written",
                    c.rejected_total(),
                    rejected * 100.0,
                    s.max_rejected_share * 100.0,
                    rules.join(", ")
                ),
            });
        }
        let orphaned = c.orphaned_total() as f64 / scope as f64;
        if orphaned > s.max_orphaned_share {
            return Err(Error::Guard {
                table: table.clone(),
                message: format!(
                    "table {table}: {} of {scope} rows have a null or unknown customer_id ({:.2}%), above max_orphaned_share {:.2}% (null: {}, unknown: {}). Check that customer_id matches accounts.customer_id (padding, re-keying); nothing was written",
                    c.orphaned_total(),
                    orphaned * 100.0,
                    s.max_orphaned_share * 100.0,
                    c.orphaned.get("null_customer_id").unwrap_or(&0),
                    c.orphaned.get("unknown_customer_id").unwrap_or(&0),
                ),
            });
        }
    }
    if let Some(t) = &s.lag_table {
        let latest = counts.get(t).and_then(|c| c.latest_event_date.clone());
        let limit = as_of - chrono::Duration::days(s.max_lag_days);
        let fresh = latest
            .as_deref()
            .and_then(|l| NaiveDate::parse_from_str(l, "%Y-%m-%d").ok())
            .is_some_and(|l| l >= limit);
        if !fresh {
            return Err(Error::Guard {
                table: t.clone(),
                message: format!(
                    "table {t}: latest event date is {}, expected on or after {limit} (as-of {as_of} minus max_lag_days {}). The export looks stalled; rerun when it has caught up, or pass an earlier --as-of",
                    latest.unwrap_or_else(|| "none".into()),
                    s.max_lag_days
                ),
            });
        }
    }
    Ok(())
}

/// Names of the aggregation columns whose empty value is 0.
fn zero_when_empty_columns(p: &Pipeline) -> Vec<String> {
    let mut out = Vec::new();
    for (mi, m) in p.metrics.iter().enumerate() {
        for (slot, a) in m.def.aggregations() {
            if a.func.zero_when_empty() {
                out.push(agg_column(mi, slot));
            }
        }
    }
    out
}

/// The scoring plan for checked inputs: every account's metrics, points,
/// groups, score, band, drivers and trend against `prev` (internal columns
/// included).
fn scoring_plan(p: &Pipeline, checked: &Checked, prev: Option<DataFrame>) -> Result<LazyFrame> {
    Ok(rows_plan(p, global_plan(p, checked, prev)?))
}

/// The part of the scoring plan computed over every account at once: every
/// number of the scores (see [`score::global_scores`]), with the previous
/// snapshot's columns beside each account.
fn global_plan(p: &Pipeline, checked: &Checked, prev: Option<DataFrame>) -> Result<LazyFrame> {
    let global = score::global_scores(p, scoring_inputs(p, checked)?);
    Ok(score::join_previous(global, prev.map(|d| d.lazy())))
}

/// The rest of the scoring plan over [`global_plan`]'s rows, row by row
/// (so over any slice of them): the names of scorecard, band, color and
/// drivers, the playbook and the trend.
fn rows_plan(p: &Pipeline, global: LazyFrame) -> LazyFrame {
    let scored = score::row_scores(p, global);
    let with_drivers = score::with_drivers(p, scored);
    score::trend_columns(with_drivers, p.settings.trend_threshold, &p.model_version())
}

/// The frame scoring starts from: one row per accepted account with its
/// account columns, `tenure_days` and every aggregation column (empty
/// aggregations that count as 0 filled).
fn scoring_inputs(p: &Pipeline, checked: &Checked) -> Result<LazyFrame> {
    // Aggregates row-aligned with the accounts (the kernel's) are placed
    // beside them; the others are joined on customer_id.
    let mut base = checked.accounts.clone();
    let mut joined = Vec::new();
    for (table, agg) in &checked.aggregates {
        let cols: Vec<Expr> = std::iter::once(col("customer_id"))
            .chain(p.metrics.iter().enumerate().flat_map(|(mi, m)| {
                m.def
                    .aggregations()
                    .into_iter()
                    .filter(|(_, a)| &a.table == table)
                    .map(move |(slot, _)| col(agg_column(mi, slot)))
            }))
            .collect();
        let agg = agg
            .clone()
            .lazy()
            .select(cols)
            .collect()
            .map_err(pl("scoring"))?;
        if same_ids(&base, &agg) {
            let columns = agg.columns().iter().skip(1).cloned().collect::<Vec<_>>();
            base.hstack_mut(&columns).map_err(pl("scoring"))?;
        } else {
            joined.push(agg);
        }
    }
    let mut wide = base.lazy();
    for agg in joined {
        wide = wide.join(
            agg.lazy(),
            [col("customer_id")],
            [col("customer_id")],
            JoinArgs {
                maintain_order: MaintainOrderJoin::Left,
                ..JoinArgs::new(JoinType::Left)
            },
        );
    }
    let zeros: Vec<Expr> = zero_when_empty_columns(p)
        .into_iter()
        .map(|c| col(c.as_str()).fill_null(lit(0.0)))
        .collect();
    if !zeros.is_empty() {
        wide = wide.with_columns(zeros);
    }
    Ok(wide)
}

/// Scores checked inputs: the scores table (SPEC §6 columns and order),
/// with trend against `prev`.
pub fn score_accounts(
    p: &Pipeline,
    checked: &Checked,
    prev: Option<DataFrame>,
) -> Result<DataFrame> {
    // The in-memory engine here: the streaming one was ~1 s faster on the 1M
    // workload, but its float sums were not bit-for-bit the same from run to
    // run, and reruns must write identical bytes.
    let scores = score::select_output(p, scoring_plan(p, checked, prev)?)
        .collect()
        .map_err(pl("scoring"))?;
    sorted_by_customer(scores).map_err(pl("scoring"))
}

/// The frame sorted by customer_id (SPEC §6). Scoring keeps the accepted
/// accounts' order, which is already that: checking it is one pass over
/// the ids, where a sort of the whole wide frame would hold a second copy
/// of it (gigabytes for 10M accounts).
fn sorted_by_customer(df: DataFrame) -> PolarsResult<DataFrame> {
    if ids_strictly_ascending(&df)? {
        Ok(df)
    } else {
        df.sort(["customer_id"], SortMultipleOptions::default())
    }
}

/// Whether `df`'s customer_id column is strictly ascending (so sorted and
/// unique): one pass of comparisons with the previous row.
fn ids_strictly_ascending(df: &DataFrame) -> PolarsResult<bool> {
    if df.height() < 2 {
        return Ok(true);
    }
    let ids = df.column("customer_id")?.as_materialized_series();
    if let Ok(Some(ascending)) = crate::kernel::strictly_ascending(ids) {
        return Ok(ascending);
    }
    // With nulls (or not text): neighbours compared where both are ids.
    let ids = col("customer_id");
    let in_order = df
        .select(["customer_id"])?
        .lazy()
        .select([ids
            .clone()
            .gt(ids.shift(lit(1)))
            .all(true)
            .alias("in_order")])
        .collect()?;
    Ok(in_order
        .column("in_order")?
        .get(0)?
        .extract_bool()
        .unwrap_or(false))
}

/// Scores accounts a row group at a time for the commit (see
/// [`snapshot::Part::Made`]): the columns that need every account are
/// computed once, then each slice of rows on demand; the slices made are
/// kept for the tables written after the scores.
struct RowScorer<'a> {
    p: &'a Pipeline,
    /// [`global_plan`]'s rows, in the accounts' (customer_id) order;
    /// released once every row is scored.
    global: std::sync::Mutex<DataFrame>,
    /// The slices scored so far (output columns, losses and the
    /// scorecard's position), in row order.
    made: std::sync::Mutex<Vec<DataFrame>>,
}

impl<'a> RowScorer<'a> {
    /// Computes the global part of the scoring for checked inputs.
    fn new(p: &'a Pipeline, checked: &Checked, prev: Option<DataFrame>) -> Result<Self> {
        // The in-memory engine here: the streaming one's float sums were
        // not bit-for-bit the same from run to run (reruns must write
        // identical bytes), and it was no faster when measured again.
        let global = global_plan(p, checked, prev)?
            .collect()
            .and_then(sorted_by_customer)
            .map_err(pl("scoring"))?;
        Ok(RowScorer {
            p,
            global: std::sync::Mutex::new(global),
            made: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// The global rows (a cheap copy: columns are shared).
    fn global(&self) -> DataFrame {
        locked(&self.global).clone()
    }

    /// Accounts to score.
    fn rows(&self) -> usize {
        self.global().height()
    }

    /// Rows `start .. start + len` of `global` scored: output columns,
    /// losses and the scorecard's position.
    fn score(&self, global: &DataFrame, start: usize, len: usize) -> Result<DataFrame> {
        let slice = global.slice(start as i64, len).lazy();
        score::select_output_with_losses(self.p, rows_plan(self.p, slice))
            .collect()
            .map_err(pl("scoring"))
    }

    /// The scores table's columns of no rows (its schema).
    fn schema(&self) -> Result<DataFrame> {
        let none = self.score(&self.global(), 0, 0)?;
        score::scores_of(self.p, &none).map_err(pl("scoring"))
    }

    /// The scores table's columns of rows `start .. start + len`, keeping
    /// the slice (calls come in row order, as the commit writes them).
    fn scores(&self, start: usize, len: usize) -> Result<DataFrame> {
        let slice = self.score(&self.global(), start, len)?;
        let scores = score::scores_of(self.p, &slice).map_err(pl("scoring"))?;
        locked(&self.made).push(slice);
        Ok(scores)
    }

    /// Every row scored, once the scores are written: the slices kept, end
    /// to end. The global rows are released (at 10M accounts their
    /// aggregation and intermediate columns are GiBs).
    fn scored(&self) -> Result<DataFrame> {
        let global = std::mem::take(&mut *locked(&self.global));
        let mut made = std::mem::take(&mut *locked(&self.made));
        if made.is_empty() {
            return self.score(&global, 0, 0);
        }
        drop(global);
        let mut all = made.remove(0);
        for slice in &made {
            all.vstack_mut(slice).map_err(pl("scoring"))?;
        }
        Ok(all)
    }
}

/// `m`'s value: a thread that panicked while holding it has already
/// failed the run, which then reports that error.
fn locked<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What scoring produced, once the scores table is written: every row
/// scored with its losses, the scores and summary tables, and the
/// warnings about them.
struct ScoredTables {
    with_losses: DataFrame,
    scores: DataFrame,
    summary: DataFrame,
    warnings: Vec<String>,
}

/// Whether two frames hold the same customer_id column, row for row.
fn same_ids(a: &DataFrame, b: &DataFrame) -> bool {
    match (a.column("customer_id"), b.column("customer_id")) {
        (Ok(x), Ok(y)) => {
            a.height() == b.height()
                && x.as_materialized_series()
                    .equals(y.as_materialized_series())
        }
        _ => false,
    }
}

/// Collects a plan on polars' streaming engine (lower peak memory than the
/// in-memory engine when reading a whole table).
fn collect_streaming(lf: LazyFrame) -> PolarsResult<DataFrame> {
    lf.collect_with_engine(Engine::Streaming)
        .map(|r| r.unwrap_single())
}

/// Compares the scores schema with the previous snapshot's (from its
/// manifest): added columns are reported; removed or retyped ones stop the
/// run (exit 2, nothing written) unless `allow` — a BI reader of the folder
/// breaks on them.
fn schema_changes(
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
    let Some(prev) = manifest["scores_schema"].as_array() else {
        return Ok(Vec::new());
    };
    let now: Vec<(String, String)> = scores
        .schema()
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect();
    let prev: Vec<(String, String)> = prev
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap_or("").to_string(),
                c["type"].as_str().unwrap_or("").to_string(),
            )
        })
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
fn lowest_band_share(p: &Pipeline, summary: &DataFrame) -> f64 {
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
fn lowest_band_warning(
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
    pub manifest: serde_json::Value,
    /// The scores table written.
    pub scores: DataFrame,
    /// The summary table written.
    pub summary: DataFrame,
}

/// Accounts per value of `column` ("null" for none) of the summary table.
fn count_by(summary: &DataFrame, column: &str) -> serde_json::Value {
    let df = summary
        .clone()
        .lazy()
        .group_by([col(column)])
        .agg([col("accounts").sum().cast(DataType::Int64).alias("n")])
        .sort([column], SortMultipleOptions::default())
        .collect();
    let mut map = serde_json::Map::new();
    if let Ok(df) = df {
        if let (Ok(k), Ok(n)) = (df.column(column), df.column("n")) {
            for i in 0..df.height() {
                let key = k
                    .get(i)
                    .ok()
                    .and_then(|v| v.get_str().map(str::to_string))
                    .unwrap_or_else(|| "null".into());
                let value = n.get(i).ok().and_then(|v| v.extract::<i64>()).unwrap_or(0);
                map.insert(key, serde_json::json!(value));
            }
        }
    }
    serde_json::Value::Object(map)
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

/// Scores checked inputs for `opts.as_of` (trend against the latest
/// committed earlier date) and commits the date's snapshot. The caller
/// holds the output's lease.
pub fn score_and_commit(
    p: &Pipeline,
    mut checked: Checked,
    output: &Store,
    opts: &RunOptions,
    started: chrono::DateTime<Utc>,
) -> Result<RunResult> {
    let t = Instant::now();
    let prev = snapshot::previous_for_trend(output, opts.as_of)?;
    let prev_date = prev.as_ref().map(|(d, _)| d.to_string());
    let prev_digest = match &prev {
        Some((d, _)) => snapshot::read_manifest(output, snapshot::SCORES, *d)?
            .and_then(|m| m["scores_sha256"].as_str().map(str::to_string)),
        None => None,
    };
    checked.stages.record("previous", t, None);

    // Scoring and writing overlap: the columns that need every account are
    // computed first, then the scores table is scored a row group at a
    // time while the row group before is encoded; the summary and the long
    // metrics table are made from the rows scored.
    let t = Instant::now();
    let prev_lowest_share = prev
        .as_ref()
        .map(|(_, df)| band_share(df, "prev_band", &p.bands[0].name));
    let scorer = RowScorer::new(p, &checked, prev.map(|(_, df)| df))?;
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
    let stages = std::sync::Mutex::new(checked.stages.clone());
    let record = |stage: &str, started: Instant, rows: Option<usize>| {
        locked(&stages).record(stage, started, rows)
    };
    let scored: std::sync::OnceLock<ScoredTables> = std::sync::OnceLock::new();
    let finish_scoring = || -> Result<&ScoredTables> {
        let with_losses = scorer.scored()?;
        let scores = score::scores_of(p, &with_losses).map_err(pl("scoring"))?;
        let summary = score::summary(p, &with_losses).map_err(pl("summary"))?;
        let mut warnings = lowest_band_warning(
            p,
            prev_date.as_deref(),
            prev_lowest_share,
            lowest_band_share(p, &summary),
        );
        for w in &warnings {
            tracing::warn!(stage = "score", "{w}");
        }
        warnings.extend(schema_notes.iter().cloned());
        record("score", t, Some(scores.height()));
        Ok(scored.get_or_init(|| ScoredTables {
            with_losses,
            scores,
            summary,
            warnings,
        }))
    };

    let manifest_base = serde_json::json!({
        "run_id": opts.run_id,
        "tool": {"name": "healthscore", "version": env!("CARGO_PKG_VERSION")},
        "pipeline": {
            "name": p.name,
            "version": p.version,
            "model_version": p.model_version(),
            "sha256": p.sha256,
            "file": p.file,
            "text": p.source_text,
        },
        "as_of": opts.as_of.to_string(),
        "started_at": started.to_rfc3339(),
        "inputs": checked.inputs.iter().map(|(t, o)| serde_json::json!({
            "table": t, "path": o.path, "size": o.size, "rows": o.rows, "etag": o.etag, "last_modified": o.last_modified,
        })).collect::<Vec<_>>(),
        "tables": checked.counts,
        "previous_snapshot": prev_date,
        "previous_scores_sha256": prev_digest,
        "scores_schema": schema.schema().iter().map(|(n, t)| serde_json::json!({"name": n.as_str(), "type": t.to_string()})).collect::<Vec<_>>(),
    });
    let write_started = Instant::now();
    let make_scores = |start: usize, len: usize| scorer.scores(start, len);
    let rows = scorer.rows();
    snapshot::commit(
        output,
        opts.as_of,
        vec![
            snapshot::Table::of(snapshot::SCORES, snapshot::made_parts(rows, &make_scores)),
            snapshot::Table {
                name: snapshot::SUMMARY,
                parts: Box::new(|| {
                    let done = finish_scoring()?;
                    Ok(snapshot::frames(snapshot::parts(&done.summary)))
                }),
            },
            // Without the long table (settings.metrics_table = false) no
            // parts: the date's metrics folder is only cleared.
            snapshot::Table {
                name: snapshot::METRICS,
                parts: Box::new(|| {
                    let Some(done) = scored.get().filter(|_| p.settings.metrics_table) else {
                        return Ok(Vec::new());
                    };
                    let metrics = score::long_metrics(p, &done.with_losses)?;
                    Ok(snapshot::frames(snapshot::packed_parts(metrics, rows)))
                }),
            },
        ],
        |written: &[Written]| {
            let mut m = manifest_base.clone();
            if let Some(done) = scored.get() {
                m["accounts"] = serde_json::json!({
                    "scored": done.scores.height(),
                    "by_scorecard": count_by(&done.summary, "scorecard"),
                    "by_band": count_by(&done.summary, "band"),
                });
                m["warnings"] = serde_json::json!(done.warnings);
            }
            record("write", write_started, None);
            m["outputs"] = serde_json::to_value(written).unwrap_or_default();
            m["scores_sha256"] = snapshot::table_digest(written, snapshot::SCORES).into();
            m["finished_at"] = serde_json::json!(Utc::now().to_rfc3339());
            m["stages_ms"] = locked(&stages).to_json();
            m
        },
    )?;
    let manifest = snapshot::read_manifest(output, snapshot::SCORES, opts.as_of)?
        .ok_or_else(|| Error::Internal("manifest vanished after commit".into()))?;
    let done = scored
        .into_inner()
        .ok_or_else(|| Error::Internal("scoring did not finish".into()))?;
    Ok(RunResult {
        manifest,
        scores: done.scores,
        summary: done.summary,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[&str]) -> DataFrame {
        DataFrame::new_infer_height(vec![
            Column::new("customer_id".into(), v.to_vec()),
            Column::new("x".into(), (0..v.len() as i64).collect::<Vec<_>>()),
        ])
        .unwrap()
    }

    fn order(df: &DataFrame) -> Vec<String> {
        df.column("customer_id")
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .map(|s| s.unwrap().to_string())
            .collect()
    }

    #[test]
    fn scores_in_account_order_stay_as_they_are_and_others_are_sorted() {
        let sorted = sorted_by_customer(ids(&["A", "B", "C10", "C2"])).unwrap();
        assert_eq!(order(&sorted), ["A", "B", "C10", "C2"]);
        assert_eq!(sorted.column("x").unwrap().i64().unwrap().get(3), Some(3));
        let fixed = sorted_by_customer(ids(&["B", "A", "C"])).unwrap();
        assert_eq!(order(&fixed), ["A", "B", "C"]);
        assert_eq!(fixed.column("x").unwrap().i64().unwrap().get(0), Some(1));
        assert_eq!(sorted_by_customer(ids(&[])).unwrap().height(), 0);
    }
}
