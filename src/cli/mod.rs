//! The command line: argument parsing (every flag also readable from
//! `HEALTHSCORE_<FLAG>`), logging set-up, and the result printed on stdout
//! (a short text summary or one JSON object, on failure too).

pub mod args;
mod logging;
pub mod monitoring;
mod progress;
mod report;

use std::io::IsTerminal;

use chrono::NaiveDate;

use crate::commands::generate::{self, GenerateOptions};
use crate::commands::run::{self, RunOptions};
use crate::commands::{backfill, explain, Outcome};
use crate::error::{Error, Result};
use crate::pipeline::Pipeline;
use crate::storage::Store;
use crate::time::{dates_every, is_per_date, parse_as_of, parse_date, parse_days, with_as_of};
use args::{CheckArgs, ExplainArgs, GenerateArgs, InputArgs, OutputArgs, PruneArgs, RunArgs};
pub use args::{Cli, Command, Format, LogFormat};
use logging::set_up_logging;
use report::{backfill_outcome, check_report, run_outcome};

/// A failed command: its error and, for `check` refused by a data guard,
/// the report printed with it.
struct Failed {
    error: Error,
    report: Option<Box<Outcome>>,
}

impl From<Error> for Failed {
    fn from(error: Error) -> Self {
        Failed {
            error,
            report: None,
        }
    }
}

/// Runs the parsed command; returns the process exit code.
pub fn main_with(cli: Cli) -> i32 {
    let given = match &cli.command {
        Command::Run(a) => a.run_id.clone(),
        Command::Prune(a) => a.run_id.clone(),
        _ => None,
    };
    let run_id = match given {
        None => uuid::Uuid::new_v4().to_string(),
        Some(id) if valid_run_id(&id) => id,
        Some(id) => {
            eprintln!(
                "healthscore: error: --run-id {:?}: expected 1 to 200 printable characters (it names the lease and the manifest)",
                crate::error::escaped(&id)
            );
            return 64;
        }
    };
    let as_of_for_logs = match &cli.command {
        // A backfill's lines carry the date at hand instead.
        Command::Run(a) if a.from.is_some() => None,
        Command::Run(a) => parse_as_of(a.inputs.as_of.as_deref()).ok(),
        Command::Check(a) => parse_as_of(a.inputs.as_of.as_deref()).ok(),
        _ => None,
    };
    // The live progress line: text output on a terminal only; schedulers
    // keep the plain log lines.
    let format = cli.format;
    let bar = (format == Format::Text
        && cli.log_format == LogFormat::Text
        && std::io::stderr().is_terminal())
    .then(progress::stage_bar);
    set_up_logging(
        cli.log_format,
        cli.verbose,
        bar.clone(),
        &run_id,
        as_of_for_logs,
    );
    crate::output::install_signal_handler();
    let metrics_file = match &cli.command {
        Command::Run(a) => a.metrics_file.clone(),
        _ => None,
    };
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
        Err(Error::Internal(format!("unexpected panic: {what}")).into())
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if let Some(path) = &metrics_file {
        write_metrics_file(path, &result);
    }
    print_result(format, &run_id, result)
}

/// Whether a `--run-id` can name a lease and a manifest: not empty, at
/// most 200 characters, no control characters.
fn valid_run_id(id: &str) -> bool {
    !id.trim().is_empty() && id.chars().count() <= 200 && !id.chars().any(char::is_control)
}

/// Writes the monitoring textfile of a run (`--metrics-file`); a file that
/// cannot be written is a warning: the snapshot's fate is already decided.
fn write_metrics_file(path: &std::path::Path, result: &std::result::Result<Outcome, Failed>) {
    let (json, code) = match result {
        Ok(o) => (Some(&o.json), 0),
        Err(f) => (None, f.error.exit_code()),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let text = monitoring::render(json, code, now);
    if let Err(e) = monitoring::write_atomic(path, &text) {
        eprintln!(
            "healthscore: warning: cannot write the metrics file {}: {e}",
            path.display()
        );
    }
}

/// Prints a command's result on stdout (and an error on stderr) in
/// `format`; returns the exit code.
fn print_result(format: Format, run_id: &str, result: std::result::Result<Outcome, Failed>) -> i32 {
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
        Err(Failed { error: e, report }) => {
            let code = e.exit_code();
            // Never a credential on stdout or stderr (SPEC §8).
            let message = crate::storage::redact(&e.to_string());
            match format {
                Format::Text => {
                    if let Some(r) = &report {
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
                    if let Some(r) = &report {
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
    let url = with_as_of(&a.input, as_of);
    Store::open(
        &url,
        &crate::storage::parse_options(&a.input_option, "input-option")?,
    )
}

fn dispatch(command: Command, run_id: &str) -> std::result::Result<Outcome, Failed> {
    match command {
        Command::Run(a) if a.engine.engine == args::Engine::Spark => Ok(spark_command(a, run_id)?),
        Command::Run(a) if a.from.is_some() || a.cascade => Ok(backfill_command(a, run_id)?),
        Command::Run(a) => Ok(run_command(a, run_id)?),
        Command::Check(a) => check_command(a),
        Command::Explain(a) => Ok(explain_command(a)?),
        Command::Backtest(a) => Ok(crate::commands::backtest::command(a.into_request())?),
        Command::Prune(a) => Ok(prune_command(a, run_id)?),
        Command::Generate(a) => Ok(generate_command(a)?),
        Command::Sql(a) => Ok(sql_command(a)?),
        Command::Report(a) => Ok(report_command(a)?),
    }
}

/// Opens `--output` with its `--output-option`s.
fn open_output(a: &OutputArgs) -> Result<Store> {
    Store::open(
        &a.url,
        &crate::storage::parse_options(&a.options, "output-option")?,
    )
}

/// `healthscore run` for one date.
fn run_command(a: RunArgs, run_id: &str) -> Result<Outcome> {
    let as_of = parse_as_of(a.inputs.as_of.as_deref())?;
    let pipeline = Pipeline::load(&a.inputs.pipeline)?;
    let input = open_input(&a.inputs, as_of)?;
    let output = open_output(&a.output)?;
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

/// `healthscore run --engine spark` (SPEC §10): one date, or each date of
/// `--from/--to` in order (one Spark job each), on one session.
fn spark_command(a: RunArgs, run_id: &str) -> Result<Outcome> {
    if a.cascade {
        return Err(Error::Usage(
            "--cascade is not available with --engine spark: rescore the later dates with --from/--to".into(),
        ));
    }
    let dates = run_dates(&a)?;
    let pipeline = Pipeline::load(&a.inputs.pipeline)?;
    let output = open_output(&a.output)?;
    let cluster = crate::spark::LazyCluster::new(crate::spark::SparkOptions {
        remote: a.engine.spark_remote.clone().unwrap_or_default(),
        settings: crate::storage::parse_options(&a.engine.spark_option, "spark-option")?,
        lost_after: std::time::Duration::from_secs(a.engine.spark_lost_after),
    });
    let mut outcomes = Vec::new();
    for as_of in dates {
        let input = open_input(&a.inputs, as_of)?;
        let opts = RunOptions {
            run_id: run_id.to_string(),
            as_of,
            allow_schema_change: a.allow_schema_change,
        };
        let r = crate::commands::spark::run(&pipeline, &input, &output, &opts, &cluster)?;
        outcomes.push(run_outcome(&output, as_of, &r));
    }
    if outcomes.len() == 1 {
        return Ok(outcomes.remove(0));
    }
    Ok(Outcome {
        text: outcomes
            .iter()
            .map(|o| o.text.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        json: serde_json::json!({
            "dates": outcomes.into_iter().map(|o| o.json).collect::<Vec<_>>(),
        }),
    })
}

/// `healthscore check`: the report, also when a data guard refuses.
fn check_command(a: CheckArgs) -> std::result::Result<Outcome, Failed> {
    let as_of = parse_as_of(a.inputs.as_of.as_deref())?;
    let pipeline = Pipeline::load(&a.inputs.pipeline)?;
    let input = open_input(&a.inputs, as_of)?;
    // Schema checks and row rules first, then the guards, so the
    // report is printed even when a guard refuses the input.
    let checked = crate::aggregate::read::read_inputs(&pipeline, &input, as_of)?;
    let guards = crate::input::accounting::check_guards(&pipeline, &checked.counts, as_of);
    let report = check_report(&pipeline, &checked, as_of, guards.as_ref().err());
    match guards {
        Ok(()) => Ok(report),
        Err(error) => Err(Failed {
            error,
            report: Some(Box::new(report)),
        }),
    }
}

/// `healthscore sql`.
fn sql_command(a: args::SqlArgs) -> Result<Outcome> {
    let dialect = match a.dialect {
        args::SqlDialect::Spark => crate::sql::Dialect::Spark,
        args::SqlDialect::Duckdb => crate::sql::Dialect::DuckDb,
    };
    let as_of = parse_as_of(a.as_of.as_deref())?;
    crate::commands::sql::sql(&a.pipeline, dialect, as_of)
}

/// `healthscore explain`.
fn explain_command(a: ExplainArgs) -> Result<Outcome> {
    let output = open_output(&a.output)?;
    let date = match &a.as_of {
        Some(s) => Some(parse_as_of(Some(s))?),
        None => None,
    };
    explain::explain(&output, &a.customer, date)
}

/// `healthscore report`.
fn report_command(a: args::ReportArgs) -> Result<Outcome> {
    let output = open_output(&a.output)?;
    let date = match &a.as_of {
        Some(s) => Some(parse_as_of(Some(s))?),
        None => None,
    };
    crate::commands::report::report(&output, date, a.out.as_deref())
}

/// `healthscore prune`.
fn prune_command(a: PruneArgs, run_id: &str) -> Result<Outcome> {
    let output = open_output(&a.output)?;
    let report = crate::commands::prune::prune(
        &output,
        &crate::commands::prune::PruneOptions {
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

/// `healthscore generate`.
fn generate_command(a: GenerateArgs) -> Result<Outcome> {
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

/// The dates a `run` scores: every `--every` from `--from` to `--to`, or
/// the one `--as-of`.
fn run_dates(a: &RunArgs) -> Result<Vec<NaiveDate>> {
    match (&a.from, &a.to) {
        (Some(from), Some(to)) => dates_every(
            parse_date("from", from)?,
            parse_date("to", to)?,
            parse_days("every", &a.every)?,
        ),
        _ => Ok(vec![parse_as_of(a.inputs.as_of.as_deref())?]),
    }
}

/// `run --from D1 --to D2` (a backfill) or `run --cascade`.
fn backfill_command(a: RunArgs, run_id: &str) -> Result<Outcome> {
    let dates = run_dates(&a)?;
    let pipeline = Pipeline::load(&a.inputs.pipeline)?;
    let output = open_output(&a.output)?;
    let open_for = |d: NaiveDate| open_input(&a.inputs, d);
    let inputs = if is_per_date(&a.inputs.input) {
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
