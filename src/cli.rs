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
use crate::{explain, snapshot};

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

fn parse_options(opts: &[String], flag: &str) -> Result<Vec<(String, String)>> {
    opts.iter()
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.to_string()))
                .ok_or_else(|| Error::Usage(format!("--{flag} {s}: expected KEY=VALUE")))
        })
        .collect()
}

fn set_up_logging(format: LogFormat, run_id: &str, as_of: Option<NaiveDate>) {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_env("HEALTHSCORE_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = match format {
        LogFormat::Json => tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .try_init(),
        LogFormat::Text => tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_target(false)
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(std::io::stderr)
            .try_init(),
    };
    let span = tracing::info_span!("job", run_id, as_of = as_of.map(|d| d.to_string()));
    // Keep the span entered for the whole process so every line carries it.
    std::mem::forget(span.entered());
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
        _ => uuid::Uuid::new_v4().to_string(),
    };
    let as_of_for_logs = match &cli.command {
        Command::Run(a) => parse_as_of(a.inputs.as_of.as_deref()).ok(),
        Command::Check(a) => parse_as_of(a.inputs.as_of.as_deref()).ok(),
        _ => None,
    };
    set_up_logging(cli.log_format, &run_id, as_of_for_logs);
    snapshot::install_signal_handler();
    let format = cli.format;
    let progress = (format == Format::Text && std::io::stderr().is_terminal()).then(|| {
        let pb = indicatif::ProgressBar::new_spinner();
        pb.set_message("working");
        pb.enable_steady_tick(std::time::Duration::from_millis(120));
        pb
    });
    let result = dispatch(cli.command, &run_id);
    if let Some(pb) = progress {
        pb.finish_and_clear();
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
            match format {
                Format::Text => eprintln!("healthscore: error: {e}"),
                Format::Json => {
                    let j = serde_json::json!({
                        "status": "error",
                        "exit_code": code,
                        "run_id": run_id,
                        "error": {
                            "kind": e.kind(),
                            "message": e.to_string(),
                            "table": e.table(),
                            "column": e.column(),
                            "file": e.file(),
                            "line": e.line(),
                            "retryable": e.retryable(),
                        }
                    });
                    println!("{j}");
                    eprintln!("healthscore: error: {e}");
                }
            }
            code
        }
    }
}

fn open_input(a: &InputArgs, as_of: NaiveDate) -> Result<Store> {
    let url = a.input.replace("{as_of}", &as_of.to_string());
    Store::open(&url, &parse_options(&a.input_option, "input-option")?)
}

fn dispatch(command: Command, run_id: &str) -> Result<Outcome> {
    match command {
        Command::Run(a) => {
            let as_of = parse_as_of(a.inputs.as_of.as_deref())?;
            let pipeline = Pipeline::load(&a.inputs.pipeline)?;
            let input = open_input(&a.inputs, as_of)?;
            let output = Store::open(
                &a.output,
                &parse_options(&a.output_option, "output-option")?,
            )?;
            let r = run::run(
                &pipeline,
                &input,
                &output,
                &RunOptions {
                    run_id: run_id.to_string(),
                    as_of,
                },
            )?;
            Ok(run_outcome(&output, as_of, &r))
        }
        Command::Check(a) => {
            let as_of = parse_as_of(a.inputs.as_of.as_deref())?;
            let pipeline = Pipeline::load(&a.inputs.pipeline)?;
            let input = open_input(&a.inputs, as_of)?;
            let checked = run::check_inputs(&pipeline, &input, as_of)?;
            let mut text = format!(
                "check {as_of}: pipeline {} ok; inputs pass the contract and the data guards\n",
                pipeline.model_version()
            );
            text.push_str(&counts_text(&checked.counts, true));
            Ok(Outcome {
                text,
                json: serde_json::json!({
                    "as_of": as_of.to_string(),
                    "pipeline": pipeline.model_version(),
                    "tables": checked.counts,
                    "stages_ms": checked.stages.to_json(),
                }),
            })
        }
        Command::Explain(a) => {
            let output = Store::open(
                &a.output,
                &parse_options(&a.output_option, "output-option")?,
            )?;
            let date = match &a.as_of {
                Some(s) => Some(parse_as_of(Some(s))?),
                None => None,
            };
            explain::explain(&output, &a.customer, date)
        }
        Command::Generate(a) => {
            let as_of = parse_as_of(a.as_of.as_deref())?;
            let out = Store::open(&a.out, &parse_options(&a.output_option, "output-option")?)?;
            let report = generate::generate(
                &GenerateOptions {
                    accounts: a.accounts,
                    seed: a.seed,
                    as_of,
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

fn counts_text(counts: &std::collections::BTreeMap<String, run::TableCounts>, all: bool) -> String {
    let mut text = String::new();
    for (t, c) in counts {
        let mut extras = Vec::new();
        if c.after_as_of > 0 {
            extras.push(format!("after as-of {}", c.after_as_of));
        }
        for (r, n) in &c.rejected {
            if *n > 0 {
                extras.push(format!("rejected {r} {n}"));
            }
        }
        for (r, n) in &c.orphaned {
            if *n > 0 {
                extras.push(format!("orphaned {r} {n}"));
            }
        }
        if let Some(n) = c.not_yet_customers.filter(|n| *n > 0) {
            extras.push(format!("not yet customers {n}"));
        }
        if let Some(n) = c.excluded_by_filter.filter(|n| *n > 0) {
            extras.push(format!("excluded by filter {n}"));
        }
        if all || !extras.is_empty() {
            text.push_str(&format!(
                "  {t}: {} rows read, {} used{}{}{}\n",
                c.rows_read,
                c.rows_used,
                c.latest_event_date
                    .as_ref()
                    .map(|d| format!(", latest {d}"))
                    .unwrap_or_default(),
                if extras.is_empty() { "" } else { "; " },
                extras.join(", ")
            ));
        }
    }
    text
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
