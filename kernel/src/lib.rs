//! The per-account aggregation kernel of healthscore (SPEC §9, issue 7).
//!
//! healthscore's query engine reads, projects and masks an event table in
//! batches (row status, filter masks, values); this crate does what a hash
//! group-by on a string key and per-row window tests do slowly: keep each
//! aggregation's rows of its window of days, map each row's `customer_id`
//! to a dense account index and fold the row into per-account
//! accumulators (sums, counts, extrema, first/last by day, and `u64`
//! bitmasks for distinct days in a window of at most 64 days or distinct
//! values of a column with at most 64 distinct values). It also computes
//! percentile points within a scorecard with one sort
//! ([`percentile_points`]), moves
//! dates to the first day of their month ([`first_of_month`]), evaluates
//! simple row conditions (an aggregation's filter: [`eval_conds`]), numbers
//! the values of few-valued text and float columns in first-seen order for
//! the Parquet writer's dictionaries ([`few_valued_strings`],
//! [`first_seen_keys`], [`few_valued_floats`]), gives float pages their
//! statistics ([`min_max`]) and scores each account from its raw values in
//! one pass ([`score_rows`]: points, groups, score, band, completeness,
//! losses and the three top drivers, where a chain of row-wise
//! expressions per metric and group, and a per-row top three, are slow).
//! For SPEC §11's changes it finds each changed account's previous row by
//! a merge of sorted ids ([`sorted_positions`]) and the metric that caused
//! the change ([`change_causes`]).
//! It also decodes the codes it writes: each row's drivers
//! ([`driver_positions`]), its band ([`band_positions`]) and the rows
//! rejected per rule ([`Totals::rejected_by_rule`]).
//!
//! It takes plain slices (no dependency on the engine), so it is compiled
//! with optimisations even in healthscore's dev profile.

mod accounting;
mod aggregation;
mod bits;
mod calendar;
mod changes;
mod conditions;
mod encoding;
mod index;
pub(crate) mod scoring;
mod strings;

pub use accounting::{Totals, MAX_NULL_FLAGS, MAX_RULES};
pub use aggregation::{AggColumns, Batch, Func, TableKernel, Values, Window, MAX_DISTINCT};
pub use bits::Bits;
pub use calendar::{day_order, first_of_month, DayOrder};
pub use changes::{change_causes, sorted_positions, Causes, Side};
pub use conditions::{eval_cond, eval_conds, Cmp, Cond, Operand};
pub use encoding::{
    few_valued_floats, few_valued_strings, first_seen_keys, min_max, FirstSeen, Keys,
};
pub use index::AccountIndex;
pub use scoring::{
    band_position, band_positions, driver_position, driver_positions, gather_valid,
    integers_from_floats, nulls_from_nan, percentile_points, score_rows, Floats, PointsRule,
    RowInputs, RowOutputs, ScoreModel, ScoredMetric, DRIVER_BITS,
};
pub use strings::{strictly_ascending, Strings};

#[cfg(test)]
mod tests;
