//! The live progress line on a terminal (SPEC §8: a bar on a terminal, log
//! lines otherwise): one line that names the stage at hand, its table, the
//! rows where known and the time spent in it, redrawn in place; log lines
//! are printed above it, never through it. Off a terminal nothing here is
//! used and stderr carries the log lines only.
//!
//! The library announces stages with [`crate::progress`] events; the
//! [`StageLine`] layer turns them into the line, and [`AboveTheLine`]
//! writes every log line with the line lifted out of the way.

use std::io::Write;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::Context;
use tracing_subscriber::Layer;

use crate::progress::{BEGINS, DONE, TARGET};

/// A spinner line on stderr, ticking by itself.
pub fn stage_bar() -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_message("starting");
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// The fields of a progress event.
#[derive(Default)]
struct StageFields {
    message: String,
    stage: Option<String>,
    table: Option<String>,
    rows: Option<u64>,
    done: Option<u64>,
    total: Option<u64>,
}

impl Visit for StageFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "stage" => self.stage = Some(value.to_string()),
            "table" => self.table = Some(value.to_string()),
            "message" => self.message = value.to_string(),
            _ => {}
        }
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        match field.name() {
            "rows" => self.rows = Some(value),
            "done" => self.done = Some(value),
            "total" => self.total = Some(value),
            _ => {}
        }
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.record_u64(field, value.max(0) as u64);
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        }
    }
}

impl StageFields {
    /// The line's text: `date 3/30 · aggregate usage · 1,200,000 rows`.
    fn line(&self, date: &str) -> String {
        let mut parts = Vec::new();
        if !date.is_empty() {
            parts.push(date.to_string());
        }
        let mut stage = self.stage.clone().unwrap_or_else(|| "working".into());
        if let Some(t) = &self.table {
            stage = format!("{stage} {t}");
        }
        parts.push(stage);
        if let Some(rows) = self.rows {
            parts.push(format!("{rows} rows"));
        }
        parts.join(" · ")
    }
}

/// The layer that keeps the progress line up to date from the library's
/// stage events (and a backfill's `date done` lines).
pub struct StageLine {
    bar: ProgressBar,
    date: std::sync::Mutex<String>,
}

impl StageLine {
    /// A layer drawing on `bar`.
    pub fn new(bar: ProgressBar) -> Self {
        StageLine {
            bar,
            date: std::sync::Mutex::new(String::new()),
        }
    }
}

impl<S: tracing::Subscriber> Layer<S> for StageLine {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        let mut f = StageFields::default();
        event.record(&mut f);
        let mut date = self.date.lock().unwrap_or_else(|e| e.into_inner());
        if let (Some(done), Some(total)) = (f.done, f.total) {
            *date = format!("date {}/{total}", (done + 1).min(total));
            return;
        }
        if event.metadata().target() != TARGET {
            return;
        }
        if f.message == BEGINS {
            self.bar.reset_elapsed();
            self.bar.set_message(f.line(&date));
        } else if f.message == DONE {
            self.bar.set_message(format!("{} done", f.line(&date)));
        }
    }
}

/// A stderr writer for log lines that lifts the progress line out of the
/// way while it writes (and redacts credentials like every log writer).
#[derive(Clone)]
pub struct AboveTheLine(pub ProgressBar);

impl Write for AboveTheLine {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .suspend(|| crate::storage::RedactingStderr.write(buf))
    }
    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}
