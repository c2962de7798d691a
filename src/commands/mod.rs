//! One module per command of SPEC §8: each drives the stages
//! (pipeline → input → aggregate → score → output) and returns what the
//! command line renders. Nothing here imports the command line.

pub mod backfill;
pub mod backtest;
pub mod explain;
pub mod generate;
pub mod prune;
pub mod report;
pub mod run;
pub mod spark;
pub mod sql;

/// What a command reports on stdout.
pub struct Outcome {
    /// Human-readable summary.
    pub text: String,
    /// Machine-readable object (status and exit code are added).
    pub json: serde_json::Value,
}
