//! SPEC §4 metric aggregations over each input table: [`expr`] builds them
//! as polars expressions (the reference semantics), [`kernel`] runs the
//! forms it covers through the columnar `healthscore-kernel` crate.

pub mod expr;
pub mod kernel;
pub mod read;
