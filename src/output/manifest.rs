//! The manifest of SPEC §6: what a committed date was made from and what
//! it holds, written as the JSON body of every `_SUCCESS` of the date and
//! read back (trend, backfill, explain, the run's report) through this one
//! type, so a key is spelled once. Keys are written in alphabetical order
//! (the order of a `serde_json::Value` object).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::input::accounting::TableCounts;
use crate::input::InputObject;
use crate::output::Written;

/// The JSON body of a date's `_SUCCESS` markers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    /// The run that committed the date (`--run-id`, default a UUID).
    pub run_id: String,
    /// The program that wrote it.
    pub tool: Tool,
    /// The pipeline file the scores were computed with.
    pub pipeline: PipelineInfo,
    /// The as-of date D (YYYY-MM-DD).
    pub as_of: String,
    /// When the run started (RFC 3339, UTC).
    pub started_at: String,
    /// When the data objects were written, just before the markers.
    pub finished_at: String,
    /// Every input object read.
    pub inputs: Vec<InputEntry>,
    /// Row accounting per input table (SPEC §7).
    pub tables: BTreeMap<String, TableCounts>,
    /// The date the trend was computed against, if any.
    pub previous_snapshot: Option<String>,
    /// That date's [`Manifest::scores_sha256`], so a later change of it is
    /// noticed (backfill cascades).
    pub previous_scores_sha256: Option<String>,
    /// The scores table's columns and types, to report schema changes.
    pub scores_schema: Vec<SchemaColumn>,
    /// Accounts scored, per scorecard and per band.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accounts: Option<AccountCounts>,
    /// Warnings about the scores (band shares moved, schema changed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warnings: Option<Vec<String>>,
    /// Rows of the changes table per kind (SPEC §11).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<BTreeMap<String, i64>>,
    /// Overrides applied, per band they set (when the pipeline declares
    /// the overrides table).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overrides_applied: Option<BTreeMap<String, i64>>,
    /// Accounts whose band hysteresis kept their previous band.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bands_held: Option<i64>,
    /// Every object written, in write order.
    pub outputs: Vec<Written>,
    /// One digest of the scores table's parts ([`crate::output::table_digest`]).
    pub scores_sha256: String,
    /// Milliseconds per stage.
    pub stages_ms: BTreeMap<String, u64>,
    /// What computed the tables (SPEC §10): `local` (this machine) or
    /// `spark` (a Spark cluster through Spark Connect).
    #[serde(default = "local_engine")]
    pub engine: String,
    /// The Spark application that computed them (engine `spark`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spark_application_id: Option<String>,
}

/// The engine of a manifest written before the field existed.
fn local_engine() -> String {
    "local".into()
}

/// The program that wrote a manifest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Tool {
    /// Always `healthscore`.
    pub name: String,
    /// The crate version.
    pub version: String,
}

impl Tool {
    /// This program.
    pub fn this() -> Self {
        Tool {
            name: "healthscore".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

/// The pipeline a date was scored with.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PipelineInfo {
    /// The pipeline's name.
    pub name: String,
    /// The pipeline's version.
    pub version: String,
    /// `<name>@<version>`: the scores' model_version.
    pub model_version: String,
    /// SHA-256 of the pipeline file's bytes (hex).
    pub sha256: String,
    /// The file's path as given.
    pub file: String,
    /// The file's text, so `explain` shows the rules a score was made with.
    pub text: String,
}

/// One input object read, with its table.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct InputEntry {
    /// The pipeline table it belongs to.
    pub table: String,
    /// The object.
    #[serde(flatten)]
    pub object: InputObject,
}

/// One column of the scores table.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SchemaColumn {
    /// Column name.
    pub name: String,
    /// polars' name of its type (e.g. `i32`, `f64`, `str`).
    #[serde(rename = "type")]
    pub dtype: String,
}

/// Accounts of a snapshot.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct AccountCounts {
    /// Rows of the scores table.
    pub scored: i64,
    /// Accounts per scorecard.
    pub by_scorecard: BTreeMap<String, i64>,
    /// Accounts per band (`Unscored` included).
    pub by_band: BTreeMap<String, i64>,
}

impl Manifest {
    /// The JSON text written to `_SUCCESS` (pretty, keys in alphabetical
    /// order).
    pub fn to_json_bytes(&self) -> Vec<u8> {
        let value = self.to_value();
        serde_json::to_vec_pretty(&value).expect("a manifest is always JSON")
    }

    /// As a JSON value (for the commands' `--format json` output).
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("a manifest is always JSON")
    }
}
