//! An event table of a range of dates held in day order (SPEC §9): each
//! event table the kernel covers is ordered by day once, so that a date
//! reads only the rows of its widest window; the rows before the windows
//! are accounted for once, cumulatively, as the dates advance, and the
//! rows after the date are only counted. A date's aggregation then costs
//! its windows' rows, not the whole history held.
//!
//! Only tables whose every aggregation the kernel covers are ordered: their
//! results do not depend on the order of the rows ([`kernel::covers`]).
//! The others keep their file order and are read whole each date, as a
//! single run reads them.

use polars::prelude::*;

use crate::aggregate::kernel;
use crate::arrow_views::{bits, only_chunk};
use crate::error::{pl, Result};
use crate::input::{OpenTable, DAY};
use crate::pipeline::Pipeline;
use healthscore_kernel as hk;

/// The context of this module's polars errors.
const ORDERING: &str = "ordering a table by day";

/// An event table held in memory for a range of dates, its rows ordered by
/// day, and the accounting of its rows before the windows of the latest
/// date aggregated.
pub struct DayOrdered {
    /// The table's rows: those with a null day first, then by ascending
    /// day (a stable sort: file order within a day).
    rows: DataFrame,
    /// Rows with a null day (rejected, or counted, on every date).
    nulls: usize,
    /// Each day present and its first row, ascending.
    starts: Vec<(i32, usize)>,
    /// How far back from D the table's windows reach, in days: rows dated
    /// D − reach or before are in no window of D.
    reach: i64,
    /// Rows `nulls .. counted` are accounted for in `earlier`.
    counted: usize,
    /// The accounting of rows `nulls .. counted`.
    earlier: hk::Totals,
    /// Whether the rows carry their account slots ([`DayOrdered::place`]).
    placed: bool,
}

/// What a date reads of a [`DayOrdered`] table.
pub struct DateRows {
    /// The table restricted to the rows its windows can hold on D (and the
    /// rows with a null day).
    pub window: OpenTable,
    /// The rows newly before every window (since the date before), to be
    /// accounted for with the same rules; None when there are none.
    pub newly_earlier: Option<OpenTable>,
    /// Rows dated after D.
    after: i64,
}

/// How many days back from D the windows of `t`'s aggregations reach
/// (offset plus window length); None when one of them has no lower bound.
fn reach(p: &Pipeline, t: &OpenTable) -> Option<i64> {
    let mut widest = 0;
    for m in &p.metrics {
        for (_, a) in m.def.aggregations() {
            if a.table == t.table {
                widest = widest.max(a.offset_days + a.window_days?);
            }
        }
    }
    Some(widest)
}

/// Orders by day every table of `tables` the kernel covers and whose
/// windows all have a lower bound (in place: the table's frame becomes the
/// ordered rows), for a range of dates to read from memory. Each table's
/// entry says how it is held: None for the tables left as they are.
/// `tables` must be in memory ([`crate::input::load_into_memory`]).
pub fn order_by_day(p: &Pipeline, tables: &mut [OpenTable]) -> Result<Vec<Option<DayOrdered>>> {
    let mut ordered = Vec::with_capacity(tables.len());
    for t in tables.iter_mut() {
        let reach = reach(p, t).filter(|_| t.table != "accounts" && kernel::covers(p, t));
        let Some(reach) = reach else {
            ordered.push(None);
            continue;
        };
        let rows = t.frame.clone().collect().map_err(pl(ORDERING))?;
        let Some(order) = day_order(&rows)? else {
            ordered.push(None);
            continue;
        };
        // The table's own reference goes first, so that each column's old
        // order is freed as soon as it is gathered.
        t.frame = DataFrame::empty().lazy();
        let hk::DayOrder {
            rows: positions,
            nulls,
            starts,
        } = order;
        let held = DayOrdered::of(gather(rows, positions)?, (nulls, starts), reach);
        t.frame = held.rows.clone().lazy();
        ordered.push(Some(held));
    }
    Ok(ordered)
}

/// The day order of `rows` ([`hk::day_order`]: the rows with a null day
/// first, file order kept within a day); None when the days span too long
/// for a counting sort.
fn day_order(rows: &DataFrame) -> Result<Option<hk::DayOrder>> {
    let days = rows
        .column(DAY)
        .map_err(pl(ORDERING))?
        .as_materialized_series()
        .cast(&DataType::Int32)
        .map_err(pl(ORDERING))?
        .rechunk();
    let days = only_chunk(days.i32().map_err(pl(ORDERING))?).map_err(pl(ORDERING))?;
    Ok(hk::day_order(days.values(), days.validity().map(bits)))
}

/// `rows` in the order of `positions`, one column at a time (each made
/// one chunk, then gathered), so at most one column exists in both orders.
fn gather(rows: DataFrame, positions: Vec<IdxSize>) -> Result<DataFrame> {
    let positions = IdxCa::from_vec("order".into(), positions);
    let mut out = Vec::with_capacity(rows.width());
    for c in rows.into_columns() {
        out.push(c.rechunk().take(&positions).map_err(pl(ORDERING))?);
    }
    DataFrame::new_infer_height(out).map_err(pl(ORDERING))
}

impl DayOrdered {
    /// `rows`, already in day order (its rows with a null day and each
    /// day's first row), for windows reaching `reach` days back.
    fn of(rows: DataFrame, (nulls, starts): (usize, Vec<(i32, usize)>), reach: i64) -> DayOrdered {
        DayOrdered {
            rows,
            nulls,
            starts,
            reach,
            counted: nulls,
            earlier: hk::Totals::default(),
            placed: false,
        }
    }

    /// Gives the rows their account slots in `index` ([`kernel::SLOT`]),
    /// once: a range's dates share its accounts table, so its known
    /// accounts are the same on every date.
    pub fn place(&mut self, index: &kernel::AccountIndex) -> Result<()> {
        if self.placed {
            return Ok(());
        }
        let ids = self
            .rows
            .column("customer_id")
            .map_err(pl(ORDERING))?
            .as_materialized_series()
            .cast(&DataType::String)
            .map_err(pl(ORDERING))?;
        let slots = index.slots(&ids)?;
        self.rows
            .with_column(Column::new(kernel::SLOT.into(), slots))
            .map_err(pl(ORDERING))?;
        self.placed = true;
        Ok(())
    }

    /// The first row dated after `day` (the row count when none is).
    fn first_after(&self, day: i64) -> usize {
        let i = self.starts.partition_point(|(d, _)| i64::from(*d) <= day);
        self.starts.get(i).map_or(self.rows.height(), |(_, s)| *s)
    }

    /// `t` (this table) with only `rows` as its frame.
    fn with_rows(t: &OpenTable, rows: DataFrame) -> OpenTable {
        OpenTable {
            frame: rows.lazy(),
            ..t.clone()
        }
    }

    /// What date `as_of` reads of the table `t` (this table): the rows
    /// with a null day and those from the first day a window holds through
    /// D, and the rows that have left every window since the date before
    /// (all rows before the windows when the dates went backwards).
    pub fn rows_of(&mut self, t: &OpenTable, as_of: i32) -> Result<DateRows> {
        let d = i64::from(as_of);
        let first = self.first_after(d - self.reach);
        let end = self.first_after(d).max(first);
        let mut window = self.rows.slice(0, self.nulls);
        window
            .vstack_mut(&self.rows.slice(first as i64, end - first))
            .map_err(pl(ORDERING))?;
        if first < self.counted {
            self.forget_earlier();
        }
        let newly = (first > self.counted).then(|| {
            let rows = self.rows.slice(self.counted as i64, first - self.counted);
            Self::with_rows(t, rows)
        });
        self.counted = first;
        Ok(DateRows {
            window: Self::with_rows(t, window),
            newly_earlier: newly,
            after: (self.rows.height() - end) as i64,
        })
    }

    /// Adds the accounting of a date's newly earlier rows (see
    /// [`DayOrdered::rows_of`]) and returns that of every row the date's
    /// window did not read: the rows before its windows and after D.
    pub fn unread(&mut self, newly_earlier: &hk::Totals, rows: &DateRows) -> hk::Totals {
        self.earlier.add(newly_earlier);
        let mut unread = self.earlier.clone();
        unread.add(&hk::Totals {
            rows: rows.after,
            after: rows.after,
            ..Default::default()
        });
        unread
    }

    /// Forgets the accounting of the earlier rows (when a date's newly
    /// earlier rows could not be counted): the next date counts them all.
    pub fn forget_earlier(&mut self) {
        self.counted = self.nulls;
        self.earlier = hk::Totals::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A table of rows dated days 5, null, 3, 5, 3, 9 (`customer_id` names
    /// each row's file position).
    fn table() -> (OpenTable, DataFrame) {
        let rows = df!(
            "customer_id" => ["r0", "r1", "r2", "r3", "r4", "r5"],
            DAY => [Some(5i32), None, Some(3), Some(5), Some(3), Some(9)],
        )
        .unwrap();
        let t = OpenTable {
            table: "usage".into(),
            frame: rows.clone().lazy(),
            objects: Vec::new(),
            columns: Vec::new(),
            parts: Vec::new(),
            source_types: Vec::new(),
        };
        (t, rows)
    }

    fn ids(t: &OpenTable) -> Vec<String> {
        let df = t.frame.clone().collect().unwrap();
        let ids = df.column("customer_id").unwrap().str().unwrap().clone();
        ids.iter().map(|s| s.unwrap().to_string()).collect()
    }

    /// With windows reaching 2 days back, D = 5 reads the null-day row and
    /// days 4-5 (rows 0 and 3), the two day-3 rows are newly before the
    /// windows and the day-9 row is after D; D = 9 then reads the null-day
    /// row and day 9, and the day-5 rows become earlier; going back to D =
    /// 4 forgets the earlier rows and reads days 3-4 again.
    #[test]
    fn a_date_reads_its_windows_rows_and_counts_the_rest_once() {
        let (t, rows) = table();
        let order = day_order(&rows).unwrap().expect("short span");
        let ordered = gather(rows, order.rows).unwrap();
        let mut held = DayOrdered::of(ordered, (order.nulls, order.starts), 2);
        let d5 = held.rows_of(&t, 5).unwrap();
        assert_eq!(ids(&d5.window), ["r1", "r0", "r3"]);
        assert_eq!(ids(d5.newly_earlier.as_ref().unwrap()), ["r2", "r4"]);
        assert_eq!(d5.after, 1);
        let earlier = hk::Totals {
            rows: 2,
            ..Default::default()
        };
        let unread = held.unread(&earlier, &d5);
        assert_eq!((unread.rows, unread.after), (3, 1));

        let d9 = held.rows_of(&t, 9).unwrap();
        assert_eq!(ids(&d9.window), ["r1", "r5"]);
        assert_eq!(ids(d9.newly_earlier.as_ref().unwrap()), ["r0", "r3"]);
        assert_eq!(d9.after, 0);
        let unread = held.unread(&earlier, &d9);
        assert_eq!((unread.rows, unread.after), (4, 0));

        let d4 = held.rows_of(&t, 4).unwrap();
        assert_eq!(ids(&d4.window), ["r1", "r2", "r4"]);
        assert!(d4.newly_earlier.is_none(), "no row is before day 3");
        assert_eq!(d4.after, 3);
        let unread = held.unread(&hk::Totals::default(), &d4);
        assert_eq!((unread.rows, unread.after), (3, 3), "only the rows after D");
    }
}
