//! Logging to stderr (SPEC §8): text lines, or with `--log-format json` one
//! object a line for schedulers (ts, level, run_id, as_of, stage, table,
//! rows, duration_ms, message).

use std::io::IsTerminal;

use chrono::{NaiveDate, Utc};

use indicatif::ProgressBar;
use tracing::Level;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::prelude::*;
use tracing_subscriber::{fmt, EnvFilter};

use super::args::LogFormat;
use super::progress::{AboveTheLine, StageLine};

/// Installs the log subscriber for the process: JSON lines or text lines
/// on stderr (credentials redacted). With `bar` (text on a terminal) the
/// lines are printed above the live progress line, and the INFO lines only
/// with `verbose`; warnings and errors always. `HEALTHSCORE_LOG` (an
/// `EnvFilter` directive) overrides the level.
pub fn set_up_logging(
    format: LogFormat,
    verbose: bool,
    bar: Option<ProgressBar>,
    run_id: &str,
    as_of: Option<NaiveDate>,
) {
    let level = if bar.is_some() && !verbose {
        "warn"
    } else {
        "info"
    };
    let filter =
        EnvFilter::try_from_env("HEALTHSCORE_LOG").unwrap_or_else(|_| EnvFilter::new(level));
    let registry = tracing_subscriber::registry();
    let _ = match (format, bar) {
        (LogFormat::Json, _) => registry
            .with(
                fmt::layer()
                    .event_format(JsonLines {
                        run_id: run_id.to_string(),
                        as_of: as_of.map(|d| d.to_string()),
                    })
                    // Plain span fields, so `span_as_of` reads them.
                    .with_ansi(false)
                    .with_writer(|| crate::storage::RedactingStderr)
                    .with_filter(filter),
            )
            .try_init(),
        (LogFormat::Text, Some(bar)) => {
            let above = AboveTheLine(bar.clone());
            registry
                .with(
                    fmt::layer()
                        .with_target(false)
                        .with_ansi(true)
                        .with_writer(move || above.clone())
                        .with_filter(filter),
                )
                .with(StageLine::new(bar).with_filter(filter_fn(|m| {
                    m.target() == crate::progress::TARGET || *m.level() <= Level::INFO
                })))
                .try_init()
        }
        (LogFormat::Text, None) => registry
            .with(
                fmt::layer()
                    .with_target(false)
                    .with_ansi(std::io::stderr().is_terminal())
                    .with_writer(|| crate::storage::RedactingStderr)
                    .with_filter(filter),
            )
            .try_init(),
    };
    let span = tracing::info_span!("job", run_id, as_of = as_of.map(|d| d.to_string()));
    // Keep the span entered for the whole process so every line carries it.
    std::mem::forget(span.entered());
}

/// `--log-format json`: one flat object a line for schedulers — ts, level,
/// run_id, as_of, then the event's own fields (stage, table, rows,
/// duration_ms, message…).
struct JsonLines {
    run_id: String,
    as_of: Option<String>,
}

/// Collects an event's fields into a JSON object.
struct JsonFields<'a>(&'a mut serde_json::Map<String, serde_json::Value>);

impl tracing::field::Visit for JsonFields<'_> {
    fn record_i64(&mut self, field: &tracing::field::Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_f64(&mut self, field: &tracing::field::Field, value: f64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_bool(&mut self, field: &tracing::field::Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().into(), format!("{value:?}").into());
    }
}

impl<S, N> tracing_subscriber::fmt::FormatEvent<S, N> for JsonLines
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let mut map = serde_json::Map::new();
        map.insert("ts".into(), Utc::now().to_rfc3339().into());
        map.insert(
            "level".into(),
            event.metadata().level().as_str().to_lowercase().into(),
        );
        map.insert("run_id".into(), self.run_id.clone().into());
        let as_of = span_as_of(ctx).or_else(|| self.as_of.clone());
        map.insert("as_of".into(), as_of.into());
        event.record(&mut JsonFields(&mut map));
        writeln!(writer, "{}", serde_json::Value::Object(map))
    }
}

/// The innermost `as_of` field among the spans an event is in (a
/// backfill enters a span per date), as its span recorded it.
fn span_as_of<S, N>(ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>) -> Option<String>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    let scope = ctx.event_scope()?;
    for span in scope {
        let ext = span.extensions();
        let Some(fields) = ext.get::<tracing_subscriber::fmt::FormattedFields<N>>() else {
            continue;
        };
        if let Some(rest) = fields.fields.split("as_of=").nth(1) {
            let value = rest.split(' ').next().unwrap_or("").trim_matches('"');
            return Some(value.to_string());
        }
    }
    None
}
