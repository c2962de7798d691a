//! The command line: argument parsing (every flag also readable from
//! `HEALTHSCORE_<FLAG>`), logging set-up, and the result printed on stdout
//! (a short text summary or one JSON object, on failure too).

use std::io::IsTerminal;

use chrono::{NaiveDate, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::Pipeline;
use crate::error::{Error, Result};
use crate::generate::{self, GenerateOptions};
use crate::run::{self, RunOptions};
use crate::storage::Store;
use crate::{backfill, explain, snapshot};

/// healthscore: score the health of every customer account from warehouse
/// Parquet exports and write a dated snapshot for BI tools.
#[derive(Parser, Debug)]
#[command(name = "healthscore", version, about, long_about = None)]
pub struct Cli {
    /// What stdout carries: a short text summary or one JSON object.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "text",
        env = "HEALTHSCORE_FORMAT"
    )]
    pub format: Format,
    /// Progress and log lines on stderr: text, or one JSON object a line.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "text",
        env = "HEALTHSCORE_LOG_FORMAT"
    )]
    pub log_format: LogFormat,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Result format on stdout.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq)]
pub enum Format {
    /// Human-readable summary.
    Text,
    /// One JSON object.
    Json,
}

/// Log format on stderr.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line (ts, level, run_id, as_of, stage, …).
    Json,
}

/// Commands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Score every account for one date and commit a snapshot.
    Run(RunArgs),
    /// Validate the pipeline and the inputs; write nothing.
    Check(CheckArgs),
    /// One account's breakdown from a written snapshot.
    Explain(ExplainArgs),
    /// Write realistic synthetic exports of every table.
    Generate(GenerateArgs),
    /// Measure how well past scores foresaw churn; suggest group weights.
    Backtest(crate::backtest::BacktestArgs),
    /// Delete old snapshot dates (retention), under the run lease.
    Prune(PruneArgs),
}

/// Input options shared by run and check.
#[derive(Args, Debug)]
pub struct InputArgs {
    /// The pipeline file (pipelines/*.toml).
    #[arg(long, env = "HEALTHSCORE_PIPELINE")]
    pub pipeline: String,
    /// Folder of the warehouse exports; `{as_of}` is replaced by D.
    #[arg(long, env = "HEALTHSCORE_INPUT")]
    pub input: String,
    /// The as-of date D (YYYY-MM-DD, UTC); default yesterday in UTC.
    #[arg(long, env = "HEALTHSCORE_AS_OF")]
    pub as_of: Option<String>,
    /// Object-store option for the input (KEY=VALUE, repeatable).
    #[arg(
        long = "input-option",
        env = "HEALTHSCORE_INPUT_OPTION",
        value_delimiter = ','
    )]
    pub input_option: Vec<String>,
}

/// `healthscore run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    /// Inputs.
    pub inputs: InputArgs,
    /// Output root (scores/ and summary/ go under it).
    #[arg(long, env = "HEALTHSCORE_OUTPUT")]
    pub output: String,
    /// Run id recorded in the lease and manifest (default: a fresh UUID).
    #[arg(long, env = "HEALTHSCORE_RUN_ID")]
    pub run_id: Option<String>,
    /// Object-store option for the output (KEY=VALUE, repeatable).
    #[arg(
        long = "output-option",
        env = "HEALTHSCORE_OUTPUT_OPTION",
        value_delimiter = ','
    )]
    pub output_option: Vec<String>,
    /// Write the run's figures to this local file in the Prometheus text
    /// format (atomically, on failure too), for a textfile collector.
    #[arg(long, value_name = "PATH", env = "HEALTHSCORE_METRICS_FILE")]
    pub metrics_file: Option<std::path::PathBuf>,
    /// Commit even if scores columns were removed or retyped since the
    /// previous snapshot (added columns never need it).
    #[arg(long, env = "HEALTHSCORE_ALLOW_SCHEMA_CHANGE")]
    pub allow_schema_change: bool,
    /// Backfill: the first date of a range to score in one process
    /// (YYYY-MM-DD; with --to, instead of --as-of).
    #[arg(long, value_name = "DATE", requires = "to", conflicts_with = "as_of")]
    pub from: Option<String>,
    /// Backfill: the last date of the range (included when on the step).
    #[arg(long, value_name = "DATE", requires = "from", conflicts_with = "as_of")]
    pub to: Option<String>,
    /// Backfill: the step between dates, in days (1d daily, 7d weekly).
    #[arg(long, value_name = "Nd", default_value = "1d", requires = "from")]
    pub every: String,
    /// Backfill: rescore dates already committed with the same pipeline,
    /// input objects and previous snapshot (skipped otherwise).
    #[arg(long, env = "HEALTHSCORE_FORCE")]
    pub force: bool,
    /// After scoring, rescore the later committed dates whose previous
    /// snapshot changed (their trend depends on it).
    #[arg(long, env = "HEALTHSCORE_CASCADE")]
    pub cascade: bool,
}

/// `healthscore prune`.
#[derive(Args, Debug)]
pub struct PruneArgs {
    /// Output root holding the snapshots.
    #[arg(long, env = "HEALTHSCORE_OUTPUT")]
    pub output: String,
    /// Keep the dates on or after the newest committed date minus N days.
    #[arg(long, value_name = "N", env = "HEALTHSCORE_KEEP_DAYS")]
    pub keep_days: u32,
    /// Keep also the last M month-end snapshots (last committed date of
    /// each complete calendar month).
    #[arg(
        long,
        value_name = "M",
        default_value_t = 0,
        env = "HEALTHSCORE_KEEP_MONTH_ENDS"
    )]
    pub keep_month_ends: u32,
    /// List what would be deleted; delete nothing.
    #[arg(long, env = "HEALTHSCORE_DRY_RUN")]
    pub dry_run: bool,
    /// Run id recorded in the lease (default: a fresh UUID).
    #[arg(long, env = "HEALTHSCORE_RUN_ID")]
    pub run_id: Option<String>,
    /// Object-store option for the output (KEY=VALUE, repeatable).
    #[arg(
        long = "output-option",
        env = "HEALTHSCORE_OUTPUT_OPTION",
        value_delimiter = ','
    )]
    pub output_option: Vec<String>,
}

/// `healthscore check`.
#[derive(Args, Debug)]
pub struct CheckArgs {
    #[command(flatten)]
    /// Inputs.
    pub inputs: InputArgs,
}

/// `healthscore explain`.
#[derive(Args, Debug)]
pub struct ExplainArgs {
    /// Output root holding the snapshots.
    #[arg(long, env = "HEALTHSCORE_OUTPUT")]
    pub output: String,
    /// The customer_id to explain.
    #[arg(long, env = "HEALTHSCORE_CUSTOMER")]
    pub customer: String,
    /// Snapshot date (default: the latest committed).
    #[arg(long, env = "HEALTHSCORE_AS_OF")]
    pub as_of: Option<String>,
    /// Object-store option for the output (KEY=VALUE, repeatable).
    #[arg(
        long = "output-option",
        env = "HEALTHSCORE_OUTPUT_OPTION",
        value_delimiter = ','
    )]
    pub output_option: Vec<String>,
}

/// `healthscore generate`.
#[derive(Args, Debug)]
pub struct GenerateArgs {
    /// Number of accounts.
    #[arg(long, env = "HEALTHSCORE_ACCOUNTS")]
    pub accounts: usize,
    /// Destination folder.
    #[arg(long, env = "HEALTHSCORE_OUT")]
    pub out: String,
    /// Random seed (same seed, same files).
    #[arg(long, default_value_t = 42, env = "HEALTHSCORE_SEED")]
    pub seed: u64,
    /// The as-of date the data leads up to (default yesterday in UTC).
    #[arg(long, env = "HEALTHSCORE_AS_OF")]
    pub as_of: Option<String>,
    /// Days of usage up to the as-of date (a longer history to backfill).
    #[arg(long, default_value_t = generate::USAGE_DAYS, env = "HEALTHSCORE_USAGE_DAYS")]
    pub usage_days: u32,
    /// Object-store option for the destination (KEY=VALUE, repeatable).
    #[arg(
        long = "output-option",
        env = "HEALTHSCORE_OUTPUT_OPTION",
        value_delimiter = ','
    )]
    pub output_option: Vec<String>,
}

/// Parses `--as-of`, defaulting to yesterday in UTC.
pub fn parse_as_of(s: Option<&str>) -> Result<NaiveDate> {
    match s {
        None => Ok(Utc::now().date_naive() - chrono::Duration::days(1)),
        Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map_err(|_| Error::Usage(format!("--as-of {s}: expected a date YYYY-MM-DD"))),
    }
}

fn set_up_logging(format: LogFormat, run_id: &str, as_of: Option<NaiveDate>) {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_env("HEALTHSCORE_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = match format {
        LogFormat::Json => tracing_subscriber::fmt()
            .event_format(JsonLines {
                run_id: run_id.to_string(),
                as_of: as_of.map(|d| d.to_string()),
            })
            .with_env_filter(filter)
            .with_writer(|| crate::storage::RedactingStderr)
            .try_init(),
        LogFormat::Text => tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_target(false)
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(|| crate::storage::RedactingStderr)
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
        _ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
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
        let as_of = crate::run::working_date().or_else(|| self.as_of.clone());
        map.insert("as_of".into(), as_of.into());
        event.record(&mut JsonFields(&mut map));
        writeln!(writer, "{}", serde_json::Value::Object(map))
    }
}

/// What a command reports on stdout.
pub struct Outcome {
    /// Human-readable summary.
    pub text: String,
    /// Machine-readable object (status and exit code are added).
    pub json: serde_json::Value,
}

/// Runs the parsed command; returns the process exit code.
pub fn main_with(cli: Cli) -> i32 {
    let run_id = match &cli.command {
        Command::Run(a) => a
            .run_id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
        Command::Prune(a) => a
            .run_id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
        _ => uuid::Uuid::new_v4().to_string(),
    };
    let as_of_for_logs = match &cli.command {
        // A backfill's lines carry the date at hand instead.
        Command::Run(a) if a.from.is_some() => None,
        Command::Run(a) => parse_as_of(a.inputs.as_of.as_deref()).ok(),
        Command::Check(a) => parse_as_of(a.inputs.as_of.as_deref()).ok(),
        _ => None,
    };
    set_up_logging(cli.log_format, &run_id, as_of_for_logs);
    snapshot::install_signal_handler();
    let format = cli.format;
    let metrics_file = match &cli.command {
        Command::Run(a) => a.metrics_file.clone(),
        _ => None,
    };
    let progress = (format == Format::Text && std::io::stderr().is_terminal()).then(|| {
        let pb = indicatif::ProgressBar::new_spinner();
        pb.set_message("working");
        pb.enable_steady_tick(std::time::Duration::from_millis(120));
        let _ = PROGRESS.set(pb.clone());
        pb
    });
    // Never a panic (SPEC §7): one escaping the engine is an internal error
    // (exit 1, retryable), reported like any other.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        dispatch(cli.command, &run_id)
    }))
    .unwrap_or_else(|payload| {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown cause".into());
        Err(Error::Internal(format!("unexpected panic: {what}")))
    });
    if let Some(pb) = progress {
        pb.finish_and_clear();
    }
    if let Some(path) = &metrics_file {
        let (json, code) = match &result {
            Ok(o) => (Some(&o.json), 0),
            Err(e) => (None, e.exit_code()),
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        let text = crate::monitoring::render(json, code, now);
        // The snapshot's fate is already decided: a metrics file that
        // cannot be written is a warning, not a failed run.
        if let Err(e) = crate::monitoring::write_atomic(path, &text) {
            eprintln!(
                "healthscore: warning: cannot write the metrics file {}: {e}",
                path.display()
            );
        }
    }
    match result {
        Ok(o) => {
            match format {
                Format::Text => println!("{}", o.text),
                Format::Json => {
                    let mut j = o.json;
                    j["status"] = "ok".into();
                    j["exit_code"] = 0.into();
                    println!("{j}");
                }
            }
            0
        }
        Err(e) => {
            let code = e.exit_code();
            // Never a credential on stdout or stderr (SPEC §8).
            let message = crate::storage::redact(&e.to_string());
            let report = REPORT_ON_ERROR.get();
            match format {
                Format::Text => {
                    if let Some(r) = report {
                        println!("{}", r.text);
                    }
                    eprintln!("healthscore: error: {message}")
                }
                Format::Json => {
                    let mut j = serde_json::json!({
                        "status": "error",
                        "exit_code": code,
                        "run_id": run_id,
                        "error": {
                            "kind": e.kind(),
                            "message": message,
                            "table": e.table(),
                            "column": e.column(),
                            "file": e.file(),
                            "line": e.line(),
                            "retryable": e.retryable(),
                        }
                    });
                    if let Some(r) = report {
                        // `check` refused by a data guard: its report too.
                        if let Some(fields) = r.json.as_object() {
                            for (k, v) in fields {
                                j[k] = v.clone();
                            }
                        }
                    }
                    println!("{j}");
                    eprintln!("healthscore: error: {message}");
                }
            }
            code
        }
    }
}

fn open_input(a: &InputArgs, as_of: NaiveDate) -> Result<Store> {
    let url = a.input.replace("{as_of}", &as_of.to_string());
    Store::open(
        &url,
        &crate::storage::parse_options(&a.input_option, "input-option")?,
    )
}

fn dispatch(command: Command, run_id: &str) -> Result<Outcome> {
    match command {
        Command::Run(a) if a.from.is_some() || a.cascade => backfill_command(a, run_id),
        Command::Run(a) => {
            let as_of = parse_as_of(a.inputs.as_of.as_deref())?;
            let pipeline = Pipeline::load(&a.inputs.pipeline)?;
            let input = open_input(&a.inputs, as_of)?;
            let output = Store::open(
                &a.output,
                &crate::storage::parse_options(&a.output_option, "output-option")?,
            )?;
            let r = run::run(
                &pipeline,
                &input,
                &output,
                &RunOptions {
                    run_id: run_id.to_string(),
                    as_of,
                    allow_schema_change: a.allow_schema_change,
                },
            )?;
            Ok(run_outcome(&output, as_of, &r))
        }
        Command::Check(a) => {
            let as_of = parse_as_of(a.inputs.as_of.as_deref())?;
            let pipeline = Pipeline::load(&a.inputs.pipeline)?;
            let input = open_input(&a.inputs, as_of)?;
            // Schema checks and row rules first, then the guards, so the
            // report is printed even when a guard refuses the input.
            let checked = run::read_inputs(&pipeline, &input, as_of)?;
            let guards = run::check_guards(&pipeline, &checked.counts, as_of);
            let report = check_report(&pipeline, &checked, as_of, guards.as_ref().err());
            match guards {
                Ok(()) => Ok(report),
                Err(e) => {
                    let _ = REPORT_ON_ERROR.set(report);
                    Err(e)
                }
            }
        }
        Command::Explain(a) => {
            let output = Store::open(
                &a.output,
                &crate::storage::parse_options(&a.output_option, "output-option")?,
            )?;
            let date = match &a.as_of {
                Some(s) => Some(parse_as_of(Some(s))?),
                None => None,
            };
            explain::explain(&output, &a.customer, date)
        }
        Command::Backtest(a) => crate::backtest::command(a),
        Command::Prune(a) => {
            let output = Store::open(
                &a.output,
                &crate::storage::parse_options(&a.output_option, "output-option")?,
            )?;
            let report = crate::prune::prune(
                &output,
                &crate::prune::PruneOptions {
                    keep_days: a.keep_days,
                    keep_month_ends: a.keep_month_ends,
                    dry_run: a.dry_run,
                    run_id: run_id.to_string(),
                },
            )?;
            let mut json = serde_json::to_value(&report).unwrap_or_default();
            json["run_id"] = run_id.into();
            json["output"] = output.url().into();
            Ok(Outcome {
                text: report.text(output.url()),
                json,
            })
        }
        Command::Generate(a) => {
            let as_of = parse_as_of(a.as_of.as_deref())?;
            let out = Store::open(
                &a.out,
                &crate::storage::parse_options(&a.output_option, "output-option")?,
            )?;
            let report = generate::generate(
                &GenerateOptions {
                    accounts: a.accounts,
                    seed: a.seed,
                    as_of,
                    usage_days: a.usage_days,
                },
                &out,
            )?;
            let mut text = format!(
                "generated {} accounts (seed {}, as of {as_of}) into {}\n",
                a.accounts,
                a.seed,
                out.url()
            );
            for (t, n) in &report.tables {
                text.push_str(&format!("  {t}: {n} rows\n"));
            }
            Ok(Outcome {
                text: text.trim_end().to_string(),
                json: serde_json::json!({
                    "out": out.url(),
                    "as_of": as_of.to_string(),
                    "tables": report.tables.iter().map(|(t, n)| (t.clone(), serde_json::json!(n))).collect::<serde_json::Map<_, _>>(),
                }),
            })
        }
    }
}

/// `run --from D1 --to D2` (a backfill) or `run --cascade`.
fn backfill_command(a: RunArgs, run_id: &str) -> Result<Outcome> {
    let dates = match (&a.from, &a.to) {
        (Some(from), Some(to)) => {
            let from = parse_date("--from", from)?;
            let to = parse_date("--to", to)?;
            backfill::dates_between(from, to, backfill::parse_every(&a.every)?)?
        }
        _ => vec![parse_as_of(a.inputs.as_of.as_deref())?],
    };
    let pipeline = Pipeline::load(&a.inputs.pipeline)?;
    let output = Store::open(
        &a.output,
        &crate::storage::parse_options(&a.output_option, "output-option")?,
    )?;
    let open_for = |d: NaiveDate| open_input(&a.inputs, d);
    let inputs = if a.inputs.input.contains("{as_of}") {
        backfill::Inputs::PerDate(&open_for)
    } else {
        backfill::Inputs::Shared(open_input(&a.inputs, dates[0])?)
    };
    let progress = |done: usize, total: usize, o: &backfill::DateOutcome| {
        tracing::info!(
            stage = "backfill",
            date = %o.date,
            action = ?o.action,
            done = done as u64,
            total = total as u64,
            "date done"
        );
        if let Some(pb) = PROGRESS.get() {
            pb.set_message(format!("{done}/{total} dates ({} {:?})", o.date, o.action));
        }
    };
    let r = backfill::backfill(
        &pipeline,
        &inputs,
        &output,
        &backfill::BackfillOptions {
            run_id: run_id.to_string(),
            // A single date with --cascade is rescored, like any `run`.
            force: a.force || a.from.is_none(),
            cascade: a.cascade,
            allow_schema_change: a.allow_schema_change,
            dates,
        },
        &progress,
    )?;
    Ok(backfill_outcome(&output, run_id, &r))
}

fn parse_date(flag: &str, s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| Error::Usage(format!("{flag} {s}: expected a date YYYY-MM-DD")))
}

fn backfill_outcome(output: &Store, run_id: &str, r: &backfill::BackfillResult) -> Outcome {
    let count = |a: backfill::Action| r.dates.iter().filter(|d| d.action == a).count();
    let (scored, skipped, cascaded) = (
        count(backfill::Action::Scored),
        count(backfill::Action::Skipped),
        count(backfill::Action::Cascaded),
    );
    let mut text = format!(
        "run {run_id}: {} dates into {}: {scored} scored, {skipped} skipped (up to date), {cascaded} rescored by cascade\n",
        r.dates.len(),
        output.url()
    );
    for d in &r.dates {
        let accounts = d
            .accounts
            .map(|n| format!(", {n} accounts"))
            .unwrap_or_default();
        text.push_str(
            &format!("  {} {:?}: {}{accounts}\n", d.date, d.action, d.reason).to_lowercase(),
        );
    }
    // The last scored date's figures at the top level, as for a one-date
    // run (the metrics file and schedulers read them).
    let mut json = match &r.last {
        Some((date, last)) => run_outcome(output, *date, last).json,
        None => serde_json::json!({"run_id": run_id, "output": output.url()}),
    };
    json["dates"] = serde_json::to_value(&r.dates).unwrap_or_default();
    json["scored"] = scored.into();
    json["skipped"] = skipped.into();
    json["cascaded"] = cascaded.into();
    Outcome {
        text: text.trim_end().to_string(),
        json,
    }
}

/// The spinner on stderr (a terminal and text output only), whose message
/// a long command updates.
static PROGRESS: std::sync::OnceLock<indicatif::ProgressBar> = std::sync::OnceLock::new();

/// The report of `check` when a data guard refuses the input, printed
/// with the error.
static REPORT_ON_ERROR: std::sync::OnceLock<Outcome> = std::sync::OnceLock::new();

fn percent(n: i64, of: i64) -> String {
    if of <= 0 {
        "-".into()
    } else {
        format!("{:.2}%", 100.0 * n as f64 / of as f64)
    }
}

/// `healthscore check`'s report: per table its rows, date range, rows
/// rejected and orphaned by rule (with their share of the rows dated on or
/// before D next to the guard), and the null shares of optional columns
/// among the rows used. Counts and column names only, never a value.
fn check_report(
    p: &Pipeline,
    checked: &run::Checked,
    as_of: NaiveDate,
    refused: Option<&Error>,
) -> Outcome {
    let s = &p.settings;
    let mut text = match refused {
        None => format!(
            "check {as_of} with {}: inputs pass the contract and the data guards; nothing written",
            p.model_version()
        ),
        Some(_) => format!(
            "check {as_of} with {}: a data guard refuses the inputs (see the error); nothing written",
            p.model_version()
        ),
    };
    let mut tables = serde_json::Map::new();
    for (t, c) in &checked.counts {
        let scope = c.rows_in_scope();
        let dates = match (&c.earliest_event_date, &c.latest_event_date) {
            (Some(a), Some(b)) => format!(", dated {a} to {b}"),
            _ => String::new(),
        };
        text.push_str(&format!(
            "\n{t}: {} rows read, {} used{dates}",
            c.rows_read, c.rows_used
        ));
        if c.not_yet_customers.is_none() {
            text.push_str(&format!("\n  after as-of: {}", c.after_as_of));
        }
        let rejected: Vec<String> = c
            .rejected
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(r, n)| format!("{r} {n}"))
            .collect();
        let of_rows = if c.not_yet_customers.is_some() {
            format!("{scope} rows")
        } else {
            format!("{scope} rows dated on or before {as_of}")
        };
        text.push_str(&format!(
            "\n  rejected: {} ({} of {of_rows}; max_rejected_share {:.2}%)",
            if rejected.is_empty() {
                "none".to_string()
            } else {
                rejected.join(", ")
            },
            percent(c.rejected_total(), scope),
            s.max_rejected_share * 100.0,
        ));
        if c.not_yet_customers.is_none() {
            let orphaned: Vec<String> =
                c.orphaned.iter().map(|(r, n)| format!("{r} {n}")).collect();
            text.push_str(&format!(
                "\n  orphaned: {} ({}; max_orphaned_share {:.2}%)",
                orphaned.join(", "),
                percent(c.orphaned_total(), scope),
                s.max_orphaned_share * 100.0,
            ));
        }
        if let Some(n) = c.not_yet_customers {
            text.push_str(&format!(
                "\n  not yet customers: {n}; excluded by filter: {}",
                c.excluded_by_filter.unwrap_or(0)
            ));
        }
        let mut null_shares = serde_json::Map::new();
        if !c.nulls.is_empty() {
            let parts: Vec<String> = c
                .nulls
                .iter()
                .map(|(col, n)| format!("{col} {}", percent(*n, c.rows_used)))
                .collect();
            text.push_str(&format!("\n  nulls among rows used: {}", parts.join(", ")));
            for (col, n) in &c.nulls {
                let share = (c.rows_used > 0).then(|| *n as f64 / c.rows_used as f64);
                null_shares.insert(col.clone(), serde_json::json!(share));
            }
        }
        let mut j = serde_json::to_value(c).unwrap_or_default();
        j["earliest_event_date"] = serde_json::json!(c.earliest_event_date);
        j["latest_event_date"] = serde_json::json!(c.latest_event_date);
        j["rejected_share"] =
            serde_json::json!((scope > 0).then(|| c.rejected_total() as f64 / scope as f64));
        j["orphaned_share"] =
            serde_json::json!((scope > 0).then(|| c.orphaned_total() as f64 / scope as f64));
        j["null_shares"] = serde_json::Value::Object(null_shares);
        tables.insert(t.clone(), j);
    }
    if let Some(t) = &s.lag_table {
        text.push_str(&format!(
            "\nfreshness: {t} latest event date {}, must be on or after {} (max_lag_days {})",
            checked
                .counts
                .get(t)
                .and_then(|c| c.latest_event_date.clone())
                .unwrap_or_else(|| "none".into()),
            as_of - chrono::Duration::days(s.max_lag_days),
            s.max_lag_days
        ));
    }
    Outcome {
        text,
        json: serde_json::json!({
            "as_of": as_of.to_string(),
            "pipeline": p.model_version(),
            "guards": {
                "max_rejected_share": s.max_rejected_share,
                "max_orphaned_share": s.max_orphaned_share,
                "max_lag_days": s.max_lag_days,
                "lag_table": s.lag_table,
            },
            "tables": tables,
            "stages_ms": checked.stages.to_json(),
        }),
    }
}

fn run_outcome(output: &Store, as_of: NaiveDate, r: &run::RunResult) -> Outcome {
    let m = &r.manifest;
    let mut text = format!(
        "run {} for {as_of}: {} accounts scored with {} → {}\n",
        m["run_id"].as_str().unwrap_or(""),
        r.scores.height(),
        m["pipeline"]["model_version"].as_str().unwrap_or(""),
        output.url_of(&snapshot::date_folder(snapshot::SCORES, as_of)),
    );
    if let Some(bands) = m["accounts"]["by_band"].as_object() {
        let parts: Vec<String> = bands.iter().map(|(b, n)| format!("{b} {n}")).collect();
        text.push_str(&format!("  bands: {}\n", parts.join(", ")));
    }
    if let Some(warnings) = m["warnings"].as_array() {
        for w in warnings.iter().filter_map(|w| w.as_str()) {
            text.push_str(&format!("  warning: {w}\n"));
        }
    }
    if let Some(prev) = m["previous_snapshot"].as_str() {
        text.push_str(&format!("  trend against {prev}\n"));
    } else {
        text.push_str("  no previous snapshot: trend is new\n");
    }
    let mut j = serde_json::json!({
        "run_id": m["run_id"],
        "as_of": as_of.to_string(),
        "output": output.url(),
        "accounts": m["accounts"],
        "tables": m["tables"],
        "stages_ms": m["stages_ms"],
        "outputs": m["outputs"],
        "previous_snapshot": m["previous_snapshot"],
        "warnings": m["warnings"],
    });
    if let Some(tables) = m["tables"].as_object() {
        for (t, c) in tables {
            let mut extras = Vec::new();
            for key in ["rejected", "orphaned"] {
                if let Some(map) = c[key].as_object() {
                    for (r, n) in map {
                        if n.as_i64().unwrap_or(0) > 0 {
                            extras.push(format!("{key} {r} {n}"));
                        }
                    }
                }
            }
            for key in ["after_as_of", "not_yet_customers", "excluded_by_filter"] {
                if c[key].as_i64().unwrap_or(0) > 0 {
                    extras.push(format!("{key} {}", c[key]));
                }
            }
            if !extras.is_empty() {
                text.push_str(&format!("  {t}: {}\n", extras.join(", ")));
            }
        }
    }
    j["summary"] = serde_json::json!(r.summary.height());
    Outcome {
        text: text.trim_end().to_string(),
        json: j,
    }
}
