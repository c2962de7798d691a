//! A range of dates read from memory (SPEC §9, `run --from/--to` and
//! `backtest`): the input tables opened and read once for every date,
//! ordered by day where that lets a date read only its windows' rows
//! ([`crate::aggregate::day_order`]), then aggregated date after date.

use std::time::Instant;

use chrono::NaiveDate;

use crate::aggregate::day_order::{order_by_day, DayOrdered};
use crate::aggregate::read::{aggregate_inputs, Checked};
use crate::error::{Error, Result};
use crate::input::{self as source, InputObject, OpenTable};
use crate::pipeline::Pipeline;
use crate::progress::StageTimes;
use crate::storage::Store;

/// The inputs of a range of dates: one store for every date (opened and
/// read once), or a store per date when the input URL holds `{as_of}`.
pub enum Inputs<'a> {
    /// The same input objects for every date.
    Shared(Store),
    /// A different input folder per date.
    PerDate(&'a dyn Fn(NaiveDate) -> Result<Store>),
}

/// The number of dates from which a range orders its shared tables by day
/// ([`order_by_day`]). Ordering once costs as much as reading only the
/// windows saves over about 6 dates of 100k accounts and 27 dates of 1M
/// (measured on the 2-core benchmark machine: 0.3 and 13 s once, against
/// 50 and 500 ms saved a date); a shorter range aggregates every date from
/// the rows in file order.
pub const ORDER_FROM_DATES: usize = 24;

/// The input tables of a range of dates (`run --from/--to`, `backtest`):
/// shared inputs opened once and, when a date must be aggregated, read
/// into memory once (and ordered by day for a range of
/// [`ORDER_FROM_DATES`] dates or more); per-date inputs opened for the
/// date at hand.
#[derive(Default)]
pub struct RangeReader {
    /// Whether shared tables are ordered by day once read.
    order: bool,
    store: Option<Store>,
    tables: Vec<OpenTable>,
    /// How each shared table is held in memory.
    ordered: Vec<Option<DayOrdered>>,
    opened_for: Option<NaiveDate>,
    in_memory: bool,
}

impl RangeReader {
    /// A reader for a range of `dates` dates.
    pub fn new(dates: usize) -> Self {
        RangeReader {
            order: dates >= ORDER_FROM_DATES,
            ..Default::default()
        }
    }

    /// Opens the tables `date` reads (schema checks, footers), unless open.
    pub fn open(&mut self, p: &Pipeline, inputs: &Inputs, date: NaiveDate) -> Result<()> {
        let store = match inputs {
            Inputs::Shared(_) if self.store.is_some() => return Ok(()),
            Inputs::PerDate(_) if self.opened_for == Some(date) => return Ok(()),
            Inputs::Shared(store) => store.clone(),
            Inputs::PerDate(open) => open(date)?,
        };
        self.tables = source::open_tables(p, &store)?;
        self.ordered = Vec::new();
        self.store = Some(store);
        self.opened_for = Some(date);
        self.in_memory = false;
        Ok(())
    }

    /// The input objects of the open tables.
    pub fn objects(&self) -> Vec<(String, InputObject)> {
        self.tables
            .iter()
            .flat_map(|t| t.objects.iter().map(move |o| (t.table.clone(), o.clone())))
            .collect()
    }

    /// Opens (see [`RangeReader::open`]) and aggregates the tables for
    /// `date`: shared ones are read into memory on first use, so every
    /// date after the first reads no input object.
    pub fn aggregate(
        &mut self,
        p: &Pipeline,
        inputs: &Inputs,
        date: NaiveDate,
        mut stages: StageTimes,
    ) -> Result<Checked> {
        self.open(p, inputs, date)?;
        if matches!(inputs, Inputs::Shared(_)) && !self.in_memory {
            let t = Instant::now();
            source::load_into_memory(&mut self.tables)?;
            if self.order {
                self.ordered = order_by_day(p, &mut self.tables)?;
            }
            stages.record("open", t, None);
            self.in_memory = true;
        }
        let store = self
            .store
            .clone()
            .ok_or_else(|| Error::Internal("input tables not opened".into()))?;
        aggregate_inputs(p, &store, &self.tables, &mut self.ordered, date, stages)
    }
}
