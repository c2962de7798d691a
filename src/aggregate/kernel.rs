//! The columnar kernel path of the per-table aggregation (SPEC §9, issue 7).
//!
//! polars reads the table, evaluates the row rules, the filters and the
//! values per row (the same expressions as [`crate::aggregate::expr`]) and streams
//! the batches out; the dependency-free `healthscore-kernel` crate applies
//! each aggregation's window to the day column (the bounds of the
//! group-by path's window condition), evaluates the filters it can itself
//! (comparisons of a string or integer column with a constant, joined by
//! AND; see `kernel_cond`), maps each row's customer_id to
//! the account's position and folds it into per-account accumulators. This replaces a
//! hash group-by on the string key (and its hash set per account for
//! `count_distinct`) by plain array updates: distinct days and distinct
//! values are `u64` bitmasks.
//!
//! Forms the kernel does not cover (a float `sum`/`mean`, `count_distinct`
//! of a number or of a date other than the table's own date column or over
//! more than 64 days, more than 64 distinct values of a string) go through
//! the group-by of [`crate::aggregate::expr`], which stays the reference semantics.

use std::collections::BTreeMap;
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use crate::arrow_views::{bits, data_buffers, float_column, only_chunk, views, with_strings};
use healthscore_kernel as hk;
use polars::prelude::*;
use polars_arrow::array::Array;
use polars_arrow::bitmap::Bitmap;

use crate::aggregate::expr::{self as metrics, agg_column};
use crate::contract::Kind;
use crate::error::{pl, Result};

/// The context of this module's polars errors.
const INPUTS: &str = "aggregating inputs";
use crate::input::accounting::TableCounts;
use crate::input::rules;
use crate::input::{OpenTable, DAY};
use crate::pipeline::{AggFunc, Aggregation, Pipeline};
use crate::time::date_of;

const AFTER: &str = "__k_after";
/// A column of each row's account slot, looked up once for a table read
/// on many dates ([`AccountIndex::slots`]); the kernel reads it instead of
/// looking the ids up when a table has it.
pub const SLOT: &str = "__k_slot";
const DAY_COL: &str = "__k_day";

fn mask_column(i: usize) -> String {
    format!("__k_mask_{i}")
}

fn rule_column(i: usize) -> String {
    format!("__k_rule_{i}")
}

fn null_column(i: usize) -> String {
    format!("__k_null_{i}")
}

fn value_column(i: usize) -> String {
    format!("__k_value_{i}")
}

fn operand_column(j: usize) -> String {
    format!("__k_operand_{j}")
}

/// The known account ids (every accounts row with a non-null customer_id),
/// indexed for the kernel, and where each accepted account sits among them
/// (the kernel's results come out in the accepted accounts' order).
pub struct AccountIndex {
    index: Arc<hk::AccountIndex>,
    accepted: Column,
    positions: Vec<Option<u32>>,
}

impl AccountIndex {
    /// Each id of `ids`' account slot: its position among the known
    /// accounts, or their count when it is unknown or null (see [`SLOT`]).
    pub fn slots(&self, ids: &Series) -> Result<Vec<u32>> {
        with_strings(ids, |c| self.index.slots(c))
    }

    /// Indexes `known`'s customer_id column (unique, non-null) and finds
    /// `accepted`'s ids (a subset) in it.
    pub fn new(known: &DataFrame, accepted: &DataFrame) -> Result<Self> {
        let ids = |df: &DataFrame| -> Result<Series> {
            Ok(df
                .column("customer_id")
                .map_err(pl(INPUTS))?
                .as_materialized_series()
                .rechunk())
        };
        let (known_ids, accepted_ids) = (ids(known)?, ids(accepted)?);
        let index = with_strings(&known_ids, hk::AccountIndex::new)?;
        let positions = with_strings(&accepted_ids, |c| index.positions(c))?;
        Ok(AccountIndex {
            index: Arc::new(index),
            accepted: accepted_ids.into_column(),
            positions,
        })
    }
}

/// What the kernel computes for one table: each aggregation's output
/// column and shape, the operands and conditions it evaluates itself.
struct TableAggs<'t> {
    outputs: Vec<String>,
    days_since: Vec<Option<i32>>,
    shapes: Vec<AggShape>,
    operands: Operands<'t>,
    conds: Vec<hk::Cond>,
}

/// The kernel's form of every aggregation of `t`'s table (the masks and
/// values polars computes for it pushed onto `exprs`); None when one of
/// them is a form the kernel does not cover.
fn table_aggs<'t>(
    p: &Pipeline,
    t: &'t OpenTable,
    date_column: &str,
    as_of: i32,
    exprs: &mut Vec<Expr>,
) -> Option<TableAggs<'t>> {
    let mut outputs = Vec::new();
    let mut days_since = Vec::new();
    let mut shapes = Vec::new();
    let mut operands = Operands::of(&t.columns);
    let mut conds: Vec<hk::Cond> = Vec::new();
    for (mi, m) in p.metrics.iter().enumerate() {
        for (slot, a) in m.def.aggregations() {
            if a.table != t.table {
                continue;
            }
            let (func, value) = kernel_form(a, t, date_column, as_of)?;
            let i = outputs.len();
            // The rows that count: a condition the kernel evaluates
            // when it can, else a mask polars computes.
            let cond = kernel_cond(a, &mut operands).map(|c| position_or_push(&mut conds, c));
            let row_mask = if cond.is_some() { None } else { mask(a) };
            if let Some(m) = &row_mask {
                exprs.push(m.clone().alias(mask_column(i)));
            }
            let mut days_before = None;
            match value {
                Some(Value::Column(v)) => exprs.push(v.alias(value_column(i))),
                Some(Value::DaysBefore(end)) => days_before = Some(end),
                None => {}
            }
            shapes.push(AggShape {
                func,
                window: window(a, as_of),
                masked: row_mask.is_some(),
                cond,
                days_before,
            });
            outputs.push(agg_column(mi, slot));
            days_since.push((a.func == AggFunc::DaysSince).then_some(as_of));
        }
    }
    Some(TableAggs {
        outputs,
        days_since,
        shapes,
        operands,
        conds,
    })
}

/// A table aggregated by the kernel: the plan that feeds it, and what it
/// needs to turn its result into the group-by path's outputs.
pub struct KernelTable {
    /// The streaming plan: projection, masks, batches into the kernel.
    pub plan: DslPlan,
    /// Each aggregation's output column, in the kernel's order.
    outputs: Vec<String>,
    /// Per output, D when it is a `days_since` (the kernel computes the
    /// latest day; D minus it is taken at the end).
    days_since: Vec<Option<i32>>,
    rules: Vec<String>,
    optional: Vec<String>,
    worker: Arc<Worker>,
}

/// The thread that folds a table's batches into its kernel, so polars
/// goes on decoding and masking the next batches meanwhile (the batch
/// callback only queues). Its sender is dropped to end the stream.
struct Worker {
    sender: Mutex<Option<SyncSender<DataFrame>>>,
    thread: Mutex<Option<JoinHandle<PolarsResult<hk::TableKernel>>>>,
}

/// Batches queued for a kernel at most (a few MiB each).
const QUEUED_BATCHES: usize = 4;

impl Worker {
    fn start(mut kernel: hk::TableKernel, shape: BatchShape) -> Self {
        let (sender, batches) = sync_channel::<DataFrame>(QUEUED_BATCHES);
        let thread = std::thread::spawn(move || {
            for df in batches {
                feed(&mut kernel, &shape, df)?;
            }
            Ok(kernel)
        });
        Worker {
            sender: Mutex::new(Some(sender)),
            thread: Mutex::new(Some(thread)),
        }
    }

    /// Queues a batch; the worker's error when it has stopped.
    fn queue(&self, df: DataFrame) -> PolarsResult<()> {
        let sent = match self
            .sender
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
        {
            Some(s) => s.send(df).is_ok(),
            None => false,
        };
        if sent {
            return Ok(());
        }
        match self.finish() {
            Err(e) => Err(e),
            Ok(_) => Err(polars_err!(ComputeError: "the aggregation kernel stopped early")),
        }
    }

    /// Ends the stream and waits for the kernel (None: already taken).
    fn finish(&self) -> PolarsResult<Option<hk::TableKernel>> {
        self.sender
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let thread = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        match thread {
            None => Ok(None),
            Some(t) => t
                .join()
                .map_err(|_| polars_err!(ComputeError: "the aggregation kernel panicked"))?
                .map(Some),
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // A plan that never ran: end the thread.
        let _ = self.finish();
    }
}

/// The kind of column `c` among a table's canonical `columns` (None: no
/// such column).
fn column_kind(columns: &[(String, Kind)], c: &str) -> Option<Kind> {
    columns.iter().find(|(n, _)| n == c).map(|(_, k)| *k)
}

/// The column whose nulls keep a row out of an aggregation: its value
/// column, except for `count`, which counts rows.
fn counted_column(a: &Aggregation) -> Option<&str> {
    a.column.as_deref().filter(|_| a.func != AggFunc::Count)
}

/// The position of `x` in `v`, pushed first if it is not there.
fn position_or_push<T: PartialEq>(v: &mut Vec<T>, x: T) -> usize {
    v.iter().position(|y| *y == x).unwrap_or_else(|| {
        v.push(x);
        v.len() - 1
    })
}

/// The kernel function of an aggregation and its value expression, or None
/// when the kernel does not cover it.
fn kernel_form(
    a: &Aggregation,
    t: &OpenTable,
    date_column: &str,
    as_of: i32,
) -> Option<(hk::Func, Option<Value>)> {
    let kind = |c: &str| column_kind(&t.columns, c);
    let column = a.column.as_deref();
    let numeric = column
        .and_then(kind)
        .is_some_and(|k| matches!(k, Kind::Int | Kind::Float | Kind::Date));
    let int = column.and_then(kind) == Some(Kind::Int);
    let integers = || {
        Some(Value::Column(
            col(column?).cast(DataType::Int64).fill_null(lit(0i64)),
        ))
    };
    // Integer columns go as they are (the kernel reads them as f64, as the
    // cast would; a 60 M-row cast costs a pass and its memory).
    let numbers = || {
        if int {
            return integers();
        }
        Some(Value::Column(
            col(column?).cast(DataType::Float64).fill_null(lit(0.0)),
        ))
    };
    match a.func {
        AggFunc::Count => Some((hk::Func::Count, None)),
        AggFunc::Sum if int => Some((hk::Func::Sum, integers())),
        AggFunc::Mean if int => Some((hk::Func::Mean, numbers())),
        AggFunc::Min if numeric => Some((hk::Func::Min, numbers())),
        AggFunc::Max if numeric => Some((hk::Func::Max, numbers())),
        AggFunc::First if numeric => Some((hk::Func::First, numbers())),
        AggFunc::Last if numeric => Some((hk::Func::Last, numbers())),
        // The latest day of the window's rows; `finish` turns it into D
        // minus that day.
        AggFunc::DaysSince => Some((
            hk::Func::Max,
            Some(Value::Column(col(DAY).cast(DataType::Int64))),
        )),
        AggFunc::CountDistinct => distinct_form(a, kind(column?)?, date_column, as_of),
        _ => None,
    }
}

/// count_distinct: strings as a set of at most 64 values; the table's own
/// date column over a window of at most 64 days as day bits.
fn distinct_form(
    a: &Aggregation,
    kind: Kind,
    date_column: &str,
    as_of: i32,
) -> Option<(hk::Func, Option<Value>)> {
    let column = a.column.as_deref()?;
    match kind {
        Kind::Str => Some((hk::Func::DistinctStrings, Some(Value::Column(col(column))))),
        Kind::Date
            if column == date_column
                && a.window_days
                    .is_some_and(|n| (1..=hk::MAX_DISTINCT as i64).contains(&n)) =>
        {
            let end = (as_of as i64 - a.offset_days) as i32;
            Some((hk::Func::DistinctBits, Some(Value::DaysBefore(end))))
        }
        _ => None,
    }
}

/// What the kernel reads as an aggregation's values: a column the plan
/// computes, or each row's day counted back from an end day (which the
/// kernel derives from the day column itself).
enum Value {
    Column(Expr),
    DaysBefore(i32),
}

/// Whether the kernel covers every aggregation of table `t` (and its
/// rules, optional columns and dating): such a table's aggregates and
/// counts do not depend on the order of its rows (integer sums, counts,
/// extrema, first/last with ties broken by value, distinct sets).
pub fn covers(p: &Pipeline, t: &OpenTable) -> bool {
    let Some(date_column) = p.source(&t.table).and_then(|s| s.date_column.clone()) else {
        return false;
    };
    let rules = rules::row_rules(&t.table, &t.columns, Some(&date_column));
    let optional = rules::optional_columns(&t.table, &t.columns);
    rules.len() <= hk::MAX_RULES
        && optional.len() <= hk::MAX_NULL_FLAGS
        && table_aggs(p, t, &date_column, 0, &mut Vec::new()).is_some()
}

impl KernelTable {
    /// The kernel plan of table `t`, or None when one of its aggregations
    /// (or its rules, optional columns or dating) is not covered.
    pub fn plan(
        p: &Pipeline,
        t: &OpenTable,
        as_of: i32,
        index: &AccountIndex,
    ) -> Result<Option<Self>> {
        let Some(date_column) = p.source(&t.table).and_then(|s| s.date_column.clone()) else {
            return Ok(None);
        };
        let rules = rules::row_rules(&t.table, &t.columns, Some(&date_column));
        let optional = rules::optional_columns(&t.table, &t.columns);
        if rules.len() > hk::MAX_RULES || optional.len() > hk::MAX_NULL_FLAGS {
            return Ok(None);
        }
        // Booleans go to the kernel as the bitmaps polars computes them in:
        // whether a row is after D, breaks each rule, holds a null.
        let mut exprs = vec![
            col(DAY).gt(lit(as_of)).fill_null(lit(false)).alias(AFTER),
            col(DAY)
                .fill_null(lit(0))
                .cast(DataType::Int32)
                .alias(DAY_COL),
            col("customer_id").cast(DataType::String),
        ];
        for (i, (_, broken)) in rules.iter().enumerate() {
            exprs.push(broken.clone().fill_null(lit(false)).alias(rule_column(i)));
        }
        for (j, c) in optional.iter().enumerate() {
            exprs.push(col(c.as_str()).is_null().alias(null_column(j)));
        }
        let Some(TableAggs {
            outputs,
            days_since,
            shapes,
            operands,
            conds,
        }) = table_aggs(p, t, &date_column, as_of, &mut exprs)
        else {
            return Ok(None);
        };
        let placed = t
            .frame
            .clone()
            .collect_schema()
            .is_ok_and(|s| s.contains(SLOT));
        if placed {
            exprs.push(col(SLOT));
        }
        for (j, (c, kind)) in operands.read.iter().enumerate() {
            let column = match kind {
                Kind::Int => col(c.as_str()).cast(DataType::Int64),
                _ => col(c.as_str()),
            };
            exprs.push(column.alias(operand_column(j)));
        }
        let funcs: Vec<hk::Func> = shapes.iter().map(|s| s.func).collect();
        let shape = BatchShape {
            aggs: shapes,
            rules: rules.len(),
            optional: optional.len(),
            operands: operands.read.iter().map(|(_, k)| *k).collect(),
            conds,
            placed,
        };
        let worker = Arc::new(Worker::start(
            hk::TableKernel::new(index.index.clone(), &funcs),
            shape,
        ));
        let sink = worker.clone();
        let plan = t
            .frame
            .clone()
            .select(exprs)
            .sink_batches(
                PlanCallback::new(move |df: DataFrame| {
                    sink.queue(df)?;
                    Ok(false)
                }),
                false,
                None,
            )
            .map_err(pl(INPUTS))?
            .logical_plan;
        Ok(Some(KernelTable {
            plan,
            outputs,
            days_since,
            rules: rules.into_iter().map(|(n, _)| n).collect(),
            optional,
            worker,
        }))
    }

    /// The table's row accounting and per-account aggregates (customer_id
    /// and the `__agg_*` columns, one row per accepted account in the
    /// accepted accounts' order), once the plan has run; None when the data did not fit the kernel (more than 64
    /// distinct values of a string), for the group-by path to redo.
    pub fn finish(self, index: &AccountIndex) -> Result<Option<(TableCounts, DataFrame)>> {
        self.finish_adding(index, &hk::Totals::default())
    }

    /// [`KernelTable::finish`], with the accounting of the table's rows the
    /// plan did not read added (a range's rows before the windows of the
    /// date and after it).
    pub fn finish_adding(
        self,
        index: &AccountIndex,
        unread: &hk::Totals,
    ) -> Result<Option<(TableCounts, DataFrame)>> {
        let kernel = self.worker.finish().map_err(pl(INPUTS))?;
        let Some((mut totals, results)) = kernel.and_then(hk::TableKernel::finish) else {
            return Ok(None);
        };
        totals.add(unread);
        let mut columns = vec![index.accepted.clone()];
        for ((output, values), since) in self.outputs.iter().zip(results).zip(&self.days_since) {
            // In the accepted accounts' order, NaN (no rows) as null.
            let (mut values, valid) = hk::gather_valid(&values, &index.positions);
            if let Some(as_of) = since {
                // days_since: the latest day's distance from D.
                values.iter_mut().for_each(|v| *v = f64::from(*as_of) - *v);
            }
            let valid = Bitmap::try_new(valid, values.len()).map_err(pl(INPUTS))?;
            columns.push(float_column(output.as_str().into(), values, Some(valid)));
        }
        let frame = DataFrame::new_infer_height(columns).map_err(pl(INPUTS))?;
        Ok(Some((self.counts(&totals), frame)))
    }

    /// The row accounting of the rows the plan read, once it has run (None
    /// when they did not fit the kernel).
    pub fn totals(self) -> Result<Option<hk::Totals>> {
        let kernel = self.worker.finish().map_err(pl(INPUTS))?;
        Ok(kernel.and_then(hk::TableKernel::finish).map(|(t, _)| t))
    }

    fn counts(&self, t: &hk::Totals) -> TableCounts {
        let rejected: BTreeMap<String, i64> = self
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| (r.clone(), t.rejected_by_rule(i)))
            .filter(|(_, n)| *n > 0)
            .collect();
        let mut c = TableCounts {
            rows_read: t.rows,
            after_as_of: t.after,
            rejected,
            orphaned: [
                ("null_customer_id".to_string(), t.orphan_null),
                ("unknown_customer_id".to_string(), t.orphan_unknown),
            ]
            .into_iter()
            .collect(),
            latest_event_date: t.max_day.map(|d| date_of(d).to_string()),
            earliest_event_date: t.min_day.map(|d| date_of(d).to_string()),
            nulls: self
                .optional
                .iter()
                .zip(t.nulls)
                .map(|(c, n)| (c.clone(), n))
                .collect(),
            ..Default::default()
        };
        c.rows_used = c.rows_in_scope() - c.rejected_total() - c.orphaned_total();
        c
    }
}

/// The rows an aggregation counts besides its window: its filter, and a
/// non-null value except for `count`, which counts rows; None when every
/// row counts (validity and the account are the kernel's part).
fn mask(a: &Aggregation) -> Option<Expr> {
    let filter = a.filter.as_ref().map(|f| f.expr.clone());
    let non_null = counted_column(a).map(|c| col(c).is_not_null());
    let cond = match (filter, non_null) {
        (Some(f), Some(n)) => f.and(n),
        (f, n) => f.or(n)?,
    };
    Some(cond.fill_null(lit(false)))
}

/// The days of an aggregation's window, which the kernel applies to the
/// day column itself (the group-by path's bounds).
fn window(a: &Aggregation, as_of: i32) -> hk::Window {
    let (after, through) = metrics::window_bounds(a, as_of);
    hk::Window {
        after: after.unwrap_or(i64::MIN),
        through,
    }
}

/// What the columns of a kernel plan's batches are: the aggregations, the
/// number of rules and of optional columns.
struct BatchShape {
    aggs: Vec<AggShape>,
    rules: usize,
    optional: usize,
    /// The kinds of the columns the kernel's conditions read.
    operands: Vec<Kind>,
    /// The distinct conditions the kernel evaluates.
    conds: Vec<hk::Cond>,
    /// Whether the batches carry each row's account slot ([`SLOT`]).
    placed: bool,
}

/// An aggregation of a kernel plan: its function, window, whether the
/// batches carry a mask column for it (a filter or a value that may be
/// null) or the kernel evaluates its condition, and for distinct days the
/// day they are counted back from.
struct AggShape {
    func: hk::Func,
    window: hk::Window,
    masked: bool,
    /// The condition (in [`BatchShape::conds`]) the kernel evaluates for
    /// the rows that count, instead of a mask column.
    cond: Option<usize>,
    days_before: Option<i32>,
}

/// A Boolean column of a batch as one bitmap (a null reads as false).
fn bitmap(df: &DataFrame, name: &str) -> PolarsResult<Bitmap> {
    let arr = only_chunk(df.column(name)?.as_materialized_series().bool()?)?;
    Ok(match arr.validity() {
        Some(valid) => arr.values() & valid,
        None => arr.values().clone(),
    })
}

/// Folds one batch of the plan's projection into the kernel.
fn feed(k: &mut hk::TableKernel, shape: &BatchShape, mut df: DataFrame) -> PolarsResult<()> {
    if df.height() == 0 {
        return Ok(());
    }
    df.rechunk_mut();
    let ids = df.column("customer_id")?.as_materialized_series().str()?;
    let ids_arr = only_chunk(ids)?;
    let id_buffers = data_buffers(ids_arr);
    let value_columns: Vec<Option<&Series>> = (0..shape.aggs.len())
        .map(|i| {
            df.column(&value_column(i))
                .ok()
                .map(|c| c.as_materialized_series())
        })
        .collect();
    let value_buffers: Vec<Vec<&[u8]>> = value_columns
        .iter()
        .map(|v| v.map(string_buffers).unwrap_or_default())
        .collect();
    let masks = shape
        .aggs
        .iter()
        .enumerate()
        .map(|(i, a)| a.masked.then(|| bitmap(&df, &mask_column(i))).transpose())
        .collect::<PolarsResult<Vec<_>>>()?;
    let rules = (0..shape.rules)
        .map(|i| bitmap(&df, &rule_column(i)))
        .collect::<PolarsResult<Vec<_>>>()?;
    let nulls = (0..shape.optional)
        .map(|j| bitmap(&df, &null_column(j)))
        .collect::<PolarsResult<Vec<_>>>()?;
    let after = bitmap(&df, AFTER)?;
    let operand_series: Vec<&Series> = (0..shape.operands.len())
        .map(|j| Ok(df.column(&operand_column(j))?.as_materialized_series()))
        .collect::<PolarsResult<_>>()?;
    let operand_buffers: Vec<Vec<&[u8]>> =
        operand_series.iter().map(|s| string_buffers(s)).collect();
    let operands = operand_series
        .iter()
        .zip(&shape.operands)
        .zip(&operand_buffers)
        .map(|((s, kind), buffers)| operand(s, *kind, buffers))
        .collect::<PolarsResult<Vec<_>>>()?;
    let cond_masks = hk::eval_conds(&shape.conds, &operands, df.height());
    let mut aggs = Vec::with_capacity(shape.aggs.len());
    for (i, a) in shape.aggs.iter().enumerate() {
        aggs.push(hk::AggColumns {
            window: a.window,
            mask: match a.cond {
                Some(c) => Some(hk::Bits::new(&cond_masks[c], 0)),
                None => masks[i].as_ref().map(bits),
            },
            values: match a.days_before {
                Some(end) => hk::Values::DaysBefore(end),
                None => values(a.func, value_columns[i], &value_buffers[i])?,
            },
        });
    }
    let batch = hk::Batch {
        len: df.height(),
        after: bits(&after),
        day: df
            .column(DAY_COL)?
            .as_materialized_series()
            .i32()?
            .cont_slice()?,
        ids: hk::Strings::new(views(ids_arr), &id_buffers),
        ids_valid: ids_arr.validity().map(bits),
        rules: rules.iter().map(bits).collect(),
        nulls: nulls.iter().map(bits).collect(),
        aggs,
    };
    if shape.placed {
        let slots = df.column(SLOT)?.as_materialized_series().u32()?;
        k.add_placed(&batch, slots.cont_slice()?);
    } else {
        k.add(&batch);
    }
    Ok(())
}

/// The data buffers of a String column's chunks (none for other types).
fn string_buffers(s: &Series) -> Vec<&[u8]> {
    s.str()
        .map(|ca| ca.downcast_iter().flat_map(data_buffers).collect())
        .unwrap_or_default()
}

/// The kernel's view of a column a condition reads.
fn operand<'a>(
    s: &'a Series,
    kind: Kind,
    buffers: &'a [&'a [u8]],
) -> PolarsResult<hk::Operand<'a>> {
    Ok(match kind {
        Kind::Str => {
            let arr = only_chunk(s.str()?)?;
            hk::Operand::Str(
                hk::Strings::new(views(arr), buffers),
                arr.validity().map(bits),
            )
        }
        Kind::Int => {
            let arr = only_chunk(s.i64()?)?;
            hk::Operand::Int(arr.values().as_slice(), arr.validity().map(bits))
        }
        _ => hk::Operand::Other(s.chunks().first().and_then(|a| a.validity()).map(bits)),
    })
}

/// The columns a table's kernel conditions read, in order, with their
/// kinds, among the table's canonical `columns`.
struct Operands<'t> {
    columns: &'t [(String, Kind)],
    read: Vec<(String, Kind)>,
}

impl<'t> Operands<'t> {
    /// No column read yet, of a table of `columns`.
    fn of(columns: &'t [(String, Kind)]) -> Self {
        Operands {
            columns,
            read: Vec::new(),
        }
    }

    /// Column `c`'s kind (None: no such column).
    fn kind(&self, c: &str) -> Option<Kind> {
        column_kind(self.columns, c)
    }

    /// Column `c`'s position among the operands, added if new.
    fn position(&mut self, c: &str) -> Option<usize> {
        let k = self.kind(c)?;
        Some(position_or_push(&mut self.read, (c.to_string(), k)))
    }
}

/// An aggregation's rows that count (its filter, and a non-null value
/// except for `count`) as a condition the kernel evaluates, when its
/// filter compares string columns with strings and integer columns with
/// integers, joined by AND (with NOT of a comparison); None otherwise (and
/// when every row counts). The columns it reads are added to `operands`.
fn kernel_cond(a: &Aggregation, operands: &mut Operands<'_>) -> Option<hk::Cond> {
    let known = operands.read.len();
    let cond = || -> Option<hk::Cond> {
        let mut all = Vec::new();
        if let Some(f) = &a.filter {
            all.push(cond_of(&f.expr, operands)?);
        }
        if let Some(c) = counted_column(a) {
            all.push(hk::Cond::NotNull(operands.position(c)?));
        }
        (!all.is_empty()).then_some(hk::Cond::All(all))
    }();
    if cond.is_none() {
        // Polars computes this mask: the batches need none of the columns
        // a part of it added.
        operands.read.truncate(known);
    }
    cond
}

/// A filter expression as a kernel condition (see [`kernel_cond`]).
fn cond_of(e: &Expr, operands: &mut Operands<'_>) -> Option<hk::Cond> {
    match e {
        Expr::BinaryExpr {
            left,
            op: Operator::And | Operator::LogicalAnd,
            right,
        } => Some(hk::Cond::All(vec![
            cond_of(left, operands)?,
            cond_of(right, operands)?,
        ])),
        Expr::BinaryExpr { left, op, right } => {
            let cmp = match op {
                Operator::Eq => hk::Cmp::Eq,
                Operator::NotEq => hk::Cmp::Ne,
                Operator::Lt => hk::Cmp::Lt,
                Operator::LtEq => hk::Cmp::Le,
                Operator::Gt => hk::Cmp::Gt,
                Operator::GtEq => hk::Cmp::Ge,
                _ => return None,
            };
            // column op constant, or constant op column (the comparison
            // turned around).
            let (column, constant, cmp) = match (left.as_ref(), right.as_ref()) {
                (Expr::Column(c), Expr::Literal(l)) => (c.as_str(), l, cmp),
                (Expr::Literal(l), Expr::Column(c)) => (c.as_str(), l, cmp.flipped()),
                _ => return None,
            };
            match operands.kind(column)? {
                Kind::Str if matches!(cmp, hk::Cmp::Eq | hk::Cmp::Ne) => Some(hk::Cond::StrEq {
                    value: constant.extract_str()?.as_bytes().to_vec(),
                    op: operands.position(column)?,
                    equal: cmp == hk::Cmp::Eq,
                }),
                // An integer constant (not a float, and one that fits i64).
                Kind::Int => Some(hk::Cond::IntCmp {
                    value: constant.extract_i64().ok()?,
                    op: operands.position(column)?,
                    cmp,
                }),
                _ => None,
            }
        }
        // A comparison cast to Boolean (SQL's NOT wraps its operand so) is
        // the comparison.
        Expr::Cast {
            expr,
            dtype: DataTypeExpr::Literal(DataType::Boolean),
            ..
        } => cond_of(expr, operands),
        Expr::Function {
            input,
            function: FunctionExpr::Boolean(BooleanFunction::Not),
        } if input.len() == 1 => match cond_of(&input[0], operands)? {
            hk::Cond::StrEq { op, value, equal } => Some(hk::Cond::StrEq {
                op,
                value,
                equal: !equal,
            }),
            hk::Cond::IntCmp { op, cmp, value } => Some(hk::Cond::IntCmp {
                op,
                cmp: cmp.negated(),
                value,
            }),
            _ => None,
        },
        _ => None,
    }
}

/// The kernel's view of an aggregation's value column.
fn values<'a>(
    f: hk::Func,
    s: Option<&'a Series>,
    buffers: &'a [&'a [u8]],
) -> PolarsResult<hk::Values<'a>> {
    let Some(s) = s else {
        return Ok(hk::Values::None);
    };
    Ok(match f {
        hk::Func::Count => hk::Values::None,
        hk::Func::Sum => hk::Values::Int(s.i64()?.cont_slice()?),
        hk::Func::DistinctStrings => {
            let arr = only_chunk(s.str()?)?;
            hk::Values::Str(hk::Strings::new(views(arr), buffers))
        }
        _ if s.dtype() == &DataType::Int64 => hk::Values::Int(s.i64()?.cont_slice()?),
        _ => hk::Values::Float(s.f64()?.cont_slice()?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `text` compiled over columns feature (string), events (integer),
    /// score (float) and date (date): the condition and the operands it
    /// reads, in order.
    fn compiled(text: &str) -> Option<(hk::Cond, Vec<String>)> {
        let e = polars::sql::sql_expr(text).expect("SQL");
        let columns: Vec<(String, Kind)> = [
            ("feature", Kind::Str),
            ("events", Kind::Int),
            ("score", Kind::Float),
            ("date", Kind::Date),
        ]
        .map(|(n, k)| (n.to_string(), k))
        .into();
        let mut operands = Operands::of(&columns);
        let cond = cond_of(&e, &mut operands)?;
        Some((cond, operands.read.into_iter().map(|(n, _)| n).collect()))
    }

    fn int_cmp(op: usize, cmp: hk::Cmp, value: i64) -> hk::Cond {
        hk::Cond::IntCmp { op, cmp, value }
    }

    fn str_eq(op: usize, value: &str, equal: bool) -> hk::Cond {
        hk::Cond::StrEq {
            op,
            value: value.as_bytes().to_vec(),
            equal,
        }
    }

    /// The forms the kernel evaluates: string (in)equality with a string,
    /// integer comparisons with an integer either way round, NOT of those,
    /// AND of any of them.
    #[test]
    fn filters_of_comparisons_joined_by_and_compile_to_kernel_conditions() {
        assert_eq!(
            compiled("feature = 'login'"),
            Some((str_eq(0, "login", true), vec!["feature".into()]))
        );
        assert_eq!(
            compiled("feature != 'login' and events > 0"),
            Some((
                hk::Cond::All(vec![str_eq(0, "login", false), int_cmp(1, hk::Cmp::Gt, 0)]),
                vec!["feature".into(), "events".into()]
            ))
        );
        // 5 <= events is events >= 5; not (events < 3) is events >= 3.
        let events = vec!["events".to_string()];
        assert_eq!(
            compiled("5 <= events"),
            Some((int_cmp(0, hk::Cmp::Ge, 5), events.clone()))
        );
        assert_eq!(
            compiled("not (events < 3)"),
            Some((int_cmp(0, hk::Cmp::Ge, 3), events))
        );
    }

    /// Everything else stays with polars: OR, IN, a float constant, a
    /// float or date column, a string ordering, two columns, an unknown
    /// column.
    #[test]
    fn other_filters_are_left_to_polars() {
        for text in [
            "feature = 'login' or events > 0",
            "feature in ('login', 'export')",
            "events > 0.5",
            "score > 1",
            "date > 5",
            "feature < 'm'",
            "events > score",
            "missing = 1",
            "not (feature = 'a' and events > 1)",
        ] {
            assert_eq!(compiled(text), None, "{text}");
        }
    }
}
