//! The aggregate stage of a date: every input table opened and read once,
//! its rows accounted for (SPEC §7, [`crate::input::accounting`]) and
//! aggregated per account (SPEC §4), through the kernel where it covers
//! the aggregation and through polars expressions otherwise.

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::NaiveDate;
use polars::prelude::*;

use crate::aggregate::day_order::{DateRows, DayOrdered};
use crate::aggregate::expr as metrics;
use crate::aggregate::kernel;
use crate::error::{pl, Error, Result};
use crate::input::accounting::{accept_accounts, table_counts, TableCounts};
use crate::input::overrides::read_overrides;
use crate::input::{self as source, rules, InputObject, OpenTable};
use crate::pipeline::{Pipeline, OVERRIDES};
use crate::progress::{stage_begins, StageTimes};
use crate::storage::Store;
use crate::time::day_of;
use healthscore_kernel as hk;

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
    /// The overrides applied on D, one row per account (SPEC §11), when the
    /// pipeline declares the table.
    pub overrides: Option<DataFrame>,
    /// Stage timings so far.
    pub stages: StageTimes,
}

/// Reads, validates and aggregates every input table for date `as_of`:
/// schema checks and row accounting, without the data guards (`check`
/// reports the counts even when a guard trips).
pub fn read_inputs(p: &Pipeline, input: &Store, as_of: NaiveDate) -> Result<Checked> {
    let mut stages = StageTimes::default();
    let t = Instant::now();
    stage_begins("open", None, None);
    let tables = source::open_tables(p, input)?;
    stages.record("open", t, None);
    aggregate_inputs(p, input, &tables, &mut [], as_of, stages)
}

/// Rows in a table's objects, when every footer gave them.
fn rows_of(t: &OpenTable) -> Option<u64> {
    t.objects.iter().map(|o| o.rows).sum()
}

/// Validates and aggregates already opened input tables for date `as_of`
/// (row accounting, accepted accounts, every metric's aggregations); a
/// range of dates opens the tables once and calls this for each date, with
/// the tables [`crate::aggregate::day_order::order_by_day`] ordered (`ordered`, indexed like
/// `tables`; empty when none is).
pub fn aggregate_inputs(
    p: &Pipeline,
    input: &Store,
    tables: &[OpenTable],
    ordered: &mut [Option<DayOrdered>],
    as_of: NaiveDate,
    mut stages: StageTimes,
) -> Result<Checked> {
    let d = day_of(as_of);
    let t = Instant::now();
    let accounts_table = tables
        .iter()
        .find(|t| t.table == "accounts")
        .ok_or_else(|| Error::Internal("accounts not opened".into()))?;
    stage_begins("accounts", None, rows_of(accounts_table));
    let (accounts, known, account_counts) = accept_accounts(p, accounts_table, d)?;
    stages.record("accounts", t, Some(accounts.height()));

    let t = Instant::now();
    let event_tables: Vec<(usize, &OpenTable)> = tables
        .iter()
        .enumerate()
        .filter(|(_, t)| t.table != "accounts" && t.table != OVERRIDES)
        .collect();
    let rows: Option<u64> = event_tables.iter().map(|(_, t)| rows_of(t)).sum();
    stage_begins("aggregate", None, rows);
    let index = kernel::AccountIndex::new(&known, &accounts)?;
    let mut plans = Vec::new();
    let mut readings = Vec::new();
    for &(i, et) in &event_tables {
        let held = ordered.get_mut(i).and_then(Option::as_mut);
        let reading = Reading::plan(p, et, held, d, &index)?;
        plans.push(match &reading.kernel {
            Some(k) => k.plan.clone(),
            None => metrics::aggregate_table(p, et, d)?.logical_plan,
        });
        readings.push(reading);
    }
    // The rows newly before the windows of a range's date are counted
    // alongside.
    plans.extend(
        readings
            .iter()
            .filter_map(|r| r.range.as_ref()?.earlier.as_ref())
            .map(|k| k.plan.clone()),
    );
    let grouped = if plans.is_empty() {
        Vec::new()
    } else {
        let tables: Vec<&OpenTable> = event_tables.iter().map(|(_, t)| *t).collect();
        LazyFrame::collect_all_with_engine(plans, Engine::Streaming, OptFlags::default())
            .map_err(|e| source::unreadable_object(&tables, read_error(input, e)))?
    };
    let mut counts = BTreeMap::new();
    counts.insert("accounts".to_string(), account_counts);
    let mut aggregates = Vec::new();
    for ((&(i, et), g), reading) in event_tables.iter().zip(grouped).zip(readings) {
        let held = ordered.get_mut(i).and_then(Option::as_mut);
        let (c, frame) = reading.finish(p, input, et, g, held, d, (&index, &known))?;
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
    let overrides = match tables.iter().find(|t| t.table == OVERRIDES) {
        Some(t) => {
            let (c, applied) =
                read_overrides(p, t, &known, d).map_err(|e| source::unreadable_object(&[t], e))?;
            counts.insert(OVERRIDES.to_string(), c);
            Some(applied)
        }
        None => None,
    };
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
        overrides,
        stages,
    })
}

/// How one event table is read on a date: through the kernel (its plan)
/// or a polars group-by (None), and for a day-ordered table of a range the
/// rows the date reads and the kernel counting the rows newly before its
/// windows.
struct Reading {
    kernel: Option<kernel::KernelTable>,
    range: Option<RangeReading>,
}

/// A day-ordered table's reading on one date of a range.
struct RangeReading {
    rows: DateRows,
    earlier: Option<kernel::KernelTable>,
}

impl Reading {
    /// The reading of `et` on day `d` (`held`: its day order in a range).
    fn plan(
        p: &Pipeline,
        et: &OpenTable,
        held: Option<&mut DayOrdered>,
        d: i32,
        index: &kernel::AccountIndex,
    ) -> Result<Reading> {
        let Some(held) = held else {
            let kernel = kernel::KernelTable::plan(p, et, d, index)?;
            return Ok(Reading {
                kernel,
                range: None,
            });
        };
        held.place(index)?;
        let rows = held.rows_of(et, d)?;
        let kernel = kernel::KernelTable::plan(p, &rows.window, d, index)?;
        let earlier = match &rows.newly_earlier {
            Some(t) => kernel::KernelTable::plan(p, t, d, index)?,
            None => None,
        };
        Ok(Reading {
            kernel,
            range: Some(RangeReading { rows, earlier }),
        })
    }

    /// The table's row accounting and aggregates once the plans have run
    /// (`g`: the group-by's result when there is no kernel).
    #[allow(clippy::too_many_arguments)]
    fn finish(
        self,
        p: &Pipeline,
        input: &Store,
        et: &OpenTable,
        g: DataFrame,
        held: Option<&mut DayOrdered>,
        d: i32,
        (index, known): (&kernel::AccountIndex, &DataFrame),
    ) -> Result<(TableCounts, DataFrame)> {
        let unread = unread_rows(self.range, held)?;
        let Some(k) = self.kernel else {
            return group_by_table(p, et, g, known);
        };
        let done = match unread {
            Some(unread) => k.finish_adding(index, &unread)?,
            None => None,
        };
        match done {
            Some(done) => Ok(done),
            // Too many distinct values for the kernel: the group-by over
            // every row of the table.
            None => {
                let g = source::collect_streaming(metrics::aggregate_table(p, et, d)?)
                    .map_err(|e| source::unreadable_object(&[et], read_error(input, e)))?;
                group_by_table(p, et, g, known)
            }
        }
    }
}

/// The accounting of the rows a date of a range did not read (none when
/// the table is not day-ordered); None when its newly earlier rows did not
/// fit the kernel (the date then reads the whole table, and the next one
/// counts the earlier rows afresh).
fn unread_rows(
    range: Option<RangeReading>,
    held: Option<&mut DayOrdered>,
) -> Result<Option<hk::Totals>> {
    let (Some(r), Some(held)) = (range, held) else {
        return Ok(Some(hk::Totals::default()));
    };
    let newly = match r.earlier {
        Some(e) => e.totals()?,
        None => Some(hk::Totals::default()),
    };
    Ok(match newly {
        Some(n) => Some(held.unread(&n, &r.rows)),
        None => {
            held.forget_earlier();
            None
        }
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
    let rules = rules::rule_names(p, et);
    let optional = rules::optional_columns(&et.table, &et.columns);
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
