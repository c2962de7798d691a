//! SPEC §4 metric aggregations over each input table: [`expr`] builds them
//! as polars expressions (the reference semantics), [`kernel`] runs the
//! forms it covers through the columnar `healthscore-kernel` crate;
//! [`read`] runs a date's aggregate stage; [`range`] holds the tables of a
//! range of dates, ordered by [`day_order`] so that each date reads only
//! its windows' rows.

pub mod day_order;
pub mod expr;
pub mod kernel;
pub mod range;
pub mod read;
