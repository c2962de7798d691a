//! healthscore: score the health of every customer account from warehouse
//! Parquet exports and write a dated, committed snapshot for BI tools.
//!
//! Data flows through the modules in this order: [`config`] (the pipeline
//! file, parsed and validated once) → [`source`] (open and check the input
//! tables) → [`metrics`] (lazy aggregations per table; [`kernel`] runs the
//! forms it covers as a columnar kernel) → [`score`]
//! (normalisation, groups, scorecards, bands, drivers) → [`snapshot`]
//! (trend, write, commit). [`run`] drives one date through them and
//! [`backfill`] a range of dates from inputs read once. [`storage`] is the
//! one seam to object stores; [`cli`] is the command line on top.

pub mod backfill;
pub mod backtest;
pub mod cli;
pub mod config;
pub mod contract;
pub mod error;
pub mod explain;
pub mod generate;
pub mod kernel;
pub mod metrics;
pub mod monitoring;
pub mod parquet_file;
pub mod prune;
pub mod run;
pub mod score;
pub mod snapshot;
pub mod source;
pub mod storage;

pub use error::{Error, Result};
