//! healthscore: score the health of every customer account from warehouse
//! Parquet exports and write a dated, committed snapshot for BI tools.
//!
//! Data flows through the modules in this order, and imports point the same
//! way (a stage imports only the stages before it and the base modules):
//! [`pipeline`] (the pipeline file, parsed and validated once) → [`input`]
//! (open and check the input tables, the row rules and their accounting) →
//! [`aggregate`] (per-table aggregations: polars expressions, and the
//! columnar kernel for the forms it covers) → [`score`] (normalisation,
//! groups, scorecards, bands, drivers, trend, output columns) → [`output`]
//! (snapshot layout, manifest, lease, commit, reading snapshots back).
//! [`commands`] drive the stages, one module per command; [`cli`] is the
//! command line on top. [`storage`] is the one seam to object stores;
//! [`error`], [`time`], [`contract`], [`arrow_views`], [`progress`] and
//! [`render`] (HTML/SVG for the reports) are the base. [`sql`] compiles a
//! pipeline to SQL for engines beyond one machine; [`spark`] is the seam to
//! a Spark cluster that runs it.
//!
//! Where each section of the SPEC lives:
//!
//! | SPEC | module |
//! |---|---|
//! | §1 the job | [`commands::run`] |
//! | §2 input contract (tables, columns, types) | [`contract`], [`input`] |
//! | §3 time (as-of, windows, day numbers, `--every`) | [`time`] |
//! | §4 pipeline semantics: metrics | [`pipeline`], [`aggregate`] |
//! | §4 normalisation, groups, scorecards, bands, drivers | [`score`] |
//! | §4 trend (the previous snapshot beside each account) | [`score::previous`] |
//! | §5 the default pipeline | `pipelines/default.toml` |
//! | §6 output layout, manifest, lease, commit | [`output`], [`output::manifest`], [`output::lease`] |
//! | §6 Parquet types and encoding | [`output::parquet`] |
//! | §7 exit codes, errors | [`error`] |
//! | §7 row rules, accounting, data guards | [`input::rules`], [`input::accounting`] |
//! | §7 a damaged previous snapshot | [`output::read_verified_scores`] |
//! | §8 commands and flags | [`cli`], [`commands`] |
//! | §9 performance | `docs/performance.md`, `bench/` |
//! | §9 ranges of dates read once (`run --from/--to`, `backtest`) | [`aggregate::range`], [`aggregate::day_order`] |
//! | §8 progress on stderr, logs | [`progress`], `cli::logging`, `cli::progress` |
//! | §10 the pipeline compiled to SQL | [`sql`], [`commands::sql`] |
//! | §10 `run --engine spark` (Spark Connect, staging, commit) | [`commands::spark`], [`spark`] |
//! | §11 changes and their cause, hysteresis | [`score::changes`] |
//! | §11 overrides | [`input::overrides`], [`score`] (`with_override`) |
//! | §11 the CS team's page | [`commands::report`], [`render`] |

pub mod aggregate;
pub mod arrow_views;
pub mod cli;
pub mod commands;
pub mod contract;
pub mod error;
pub mod input;
pub mod output;
pub mod pipeline;
pub mod progress;
pub mod render;
pub mod score;
pub mod spark;
pub mod sql;
pub mod storage;
pub mod time;

pub use error::{Error, Result};
