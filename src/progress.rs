//! Stage times (the manifest's `stages_ms`, SPEC §6) and the progress a
//! long run reports (SPEC §8): a `stage begins` event when a stage starts
//! and a `stage done` line with its time and rows when it ends. They are
//! tracing events: the command line turns them into log lines, or into one
//! live line on a terminal. Nothing here knows which.

use std::time::Instant;

use serde::Serialize;

/// The target of the progress events.
pub const TARGET: &str = "healthscore::progress";
/// The message of the event that starts a stage.
pub const BEGINS: &str = "stage begins";
/// The message of the event that ends a stage.
pub const DONE: &str = "stage done";

/// Announces that `stage` begins: of `table` when it is one table's, over
/// `rows` rows when they are known.
pub fn stage_begins(stage: &str, table: Option<&str>, rows: Option<u64>) {
    tracing::debug!(target: TARGET, stage, table, rows, "stage begins");
}

/// Elapsed milliseconds per stage, in order.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StageTimes(pub Vec<(String, u128)>);

impl StageTimes {
    /// Records (and logs) a stage that started at `started`.
    pub fn record(&mut self, stage: &str, started: Instant, rows: Option<usize>) {
        let ms = started.elapsed().as_millis();
        tracing::info!(
            target: TARGET,
            stage,
            duration_ms = ms as u64,
            rows = rows.map(|r| r as u64),
            "stage done"
        );
        self.0.push((stage.to_string(), ms));
    }
    /// Milliseconds per stage name (the manifest's `stages_ms`).
    pub fn to_map(&self) -> std::collections::BTreeMap<String, u64> {
        self.0.iter().map(|(k, v)| (k.clone(), *v as u64)).collect()
    }
}
