//! The command line's arguments (clap derive): every flag of SPEC §8, each
//! also readable from `HEALTHSCORE_<FLAG>`. The doc comments are the
//! `--help` text.

use crate::commands::generate;

use clap::{Args, Parser, Subcommand, ValueEnum};

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
    /// On a terminal, also print each stage's INFO line above the progress
    /// line (off a terminal they are always printed).
    #[arg(short, long, global = true, env = "HEALTHSCORE_VERBOSE")]
    pub verbose: bool,
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
    Backtest(BacktestArgs),
    /// Delete old snapshot dates (retention), under the run lease.
    Prune(PruneArgs),
    /// Print the pipeline compiled to SQL (Spark or DuckDB) for one date.
    Sql(SqlArgs),
    /// Write one self-contained HTML page for the CS team from committed
    /// snapshots: band mix and its history, MRR by band, changes with their
    /// cause and playbook, overrides in force.
    Report(ReportArgs),
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
    #[command(flatten)]
    /// Output.
    pub output: OutputArgs,
    /// Run id recorded in the lease and manifest (default: a fresh UUID).
    #[arg(long, env = "HEALTHSCORE_RUN_ID")]
    pub run_id: Option<String>,
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
    #[command(flatten)]
    /// Where the tables are computed.
    pub engine: EngineArgs,
}

/// Where `run` computes the tables (SPEC §10).
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// This machine (polars).
    Local,
    /// A Spark cluster, through Spark Connect (--spark-remote).
    Spark,
}

/// The engine flags of `run`.
#[derive(Args, Debug)]
pub struct EngineArgs {
    /// Where the tables are computed: `local` (this machine) or `spark`
    /// (a Spark cluster through Spark Connect; SPEC §10).
    #[arg(long, value_enum, default_value = "local", env = "HEALTHSCORE_ENGINE")]
    pub engine: Engine,
    /// The Spark Connect endpoint of `--engine spark`:
    /// sc://HOST:PORT[/;token=…;use_ssl=true].
    #[arg(
        long,
        value_name = "URL",
        env = "HEALTHSCORE_SPARK_REMOTE",
        required_if_eq("engine", "spark")
    )]
    pub spark_remote: Option<String>,
    /// A Spark setting for the run's session, KEY=VALUE (repeatable),
    /// e.g. spark.sql.shuffle.partitions=400.
    #[arg(long, value_name = "KEY=VALUE")]
    pub spark_option: Vec<String>,
    /// Seconds the Spark endpoint may refuse connections during a call
    /// before the cluster counts as lost (exit 1).
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub spark_lost_after: u64,
}

/// `healthscore prune`.
#[derive(Args, Debug)]
pub struct PruneArgs {
    #[command(flatten)]
    /// Output.
    pub output: OutputArgs,
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
}

/// `--output` and its `--output-option`s, of the commands that write or
/// read a snapshot folder.
#[derive(Args, Debug)]
pub struct OutputArgs {
    /// Output root: the snapshot folders (scores/, summary/, metrics/,
    /// changes/) go under it.
    #[arg(long = "output", env = "HEALTHSCORE_OUTPUT")]
    pub url: String,
    /// Object-store option for the output (KEY=VALUE, repeatable).
    #[arg(
        long = "output-option",
        value_name = "KEY=VALUE",
        env = "HEALTHSCORE_OUTPUT_OPTION",
        value_delimiter = ','
    )]
    pub options: Vec<String>,
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
    #[command(flatten)]
    /// Output.
    pub output: OutputArgs,
    /// The customer_id to explain.
    #[arg(long, env = "HEALTHSCORE_CUSTOMER")]
    pub customer: String,
    /// Snapshot date (default: the latest committed).
    #[arg(long, env = "HEALTHSCORE_AS_OF")]
    pub as_of: Option<String>,
}

/// `healthscore report`.
#[derive(Args, Debug)]
pub struct ReportArgs {
    #[command(flatten)]
    /// Output.
    pub output: OutputArgs,
    /// Snapshot date shown (default: the latest committed); the history
    /// covers up to 12 committed dates up to it.
    #[arg(long, env = "HEALTHSCORE_AS_OF")]
    pub as_of: Option<String>,
    /// The HTML file to write (default: print the page on stdout).
    #[arg(long, env = "HEALTHSCORE_OUT")]
    pub out: Option<std::path::PathBuf>,
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

/// `healthscore backtest`.
#[derive(Args, Debug)]
pub struct BacktestArgs {
    /// The pipeline file to evaluate (pipelines/*.toml).
    #[arg(long, env = "HEALTHSCORE_PIPELINE")]
    pub pipeline: String,
    /// Folder of the warehouse exports; `{as_of}` is replaced by each date.
    #[arg(long, env = "HEALTHSCORE_INPUT")]
    pub input: String,
    /// Location of the churn_labels table relative to --input (a URL or an
    /// absolute path is taken as it is).
    #[arg(long, default_value = "churn_labels", env = "HEALTHSCORE_LABELS")]
    pub labels: String,
    /// First as-of date (YYYY-MM-DD).
    #[arg(long, env = "HEALTHSCORE_FROM")]
    pub from: String,
    /// Last as-of date (YYYY-MM-DD); dates are from, from + every, … ≤ to.
    #[arg(long, env = "HEALTHSCORE_TO")]
    pub to: String,
    /// Step between as-of dates (`30d`, `4w` or a number of days).
    #[arg(long, default_value = "30d", env = "HEALTHSCORE_EVERY")]
    pub every: String,
    /// Churn within this many days after D counts as foreseen (`90d`).
    #[arg(long, default_value = "90d", env = "HEALTHSCORE_HORIZON")]
    pub horizon: String,
    /// Folder the report goes to (report.json, report.md, report.html).
    #[arg(long, env = "HEALTHSCORE_REPORT")]
    pub report: String,
    /// A second pipeline evaluated on the same data, to compare with.
    #[arg(long, env = "HEALTHSCORE_COMPARE")]
    pub compare: Option<String>,
    /// Bands that count as an alert for lead time (default: the two
    /// lowest-scored bands, e.g. Critical,At-Risk).
    #[arg(long, value_delimiter = ',', env = "HEALTHSCORE_ALERT_BANDS")]
    pub alert_bands: Vec<String>,
    /// L2 penalty of the weight fit (on the mean log-loss).
    #[arg(long, default_value_t = 0.001, env = "HEALTHSCORE_L2")]
    pub l2: f64,
    /// Object-store option for the input (KEY=VALUE, repeatable).
    #[arg(
        long = "input-option",
        env = "HEALTHSCORE_INPUT_OPTION",
        value_delimiter = ','
    )]
    pub input_option: Vec<String>,
    /// Object-store option for the report folder (KEY=VALUE, repeatable).
    #[arg(
        long = "report-option",
        env = "HEALTHSCORE_REPORT_OPTION",
        value_delimiter = ','
    )]
    pub report_option: Vec<String>,
}

impl BacktestArgs {
    /// The backtest's request: the arguments as given, parsed and checked by
    /// [`crate::commands::backtest::command`].
    pub fn into_request(self) -> crate::commands::backtest::Request {
        crate::commands::backtest::Request {
            pipeline: self.pipeline,
            input: self.input,
            labels: self.labels,
            from: self.from,
            to: self.to,
            every: self.every,
            horizon: self.horizon,
            report: self.report,
            compare: self.compare,
            alert_bands: self.alert_bands,
            l2: self.l2,
            input_option: self.input_option,
            report_option: self.report_option,
        }
    }
}

/// SQL dialects of `healthscore sql`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq)]
pub enum SqlDialect {
    /// Spark SQL (Spark 3.4 or later, Spark Connect).
    Spark,
    /// DuckDB.
    Duckdb,
}

/// `healthscore sql`.
#[derive(Args, Debug)]
pub struct SqlArgs {
    /// The pipeline file (pipelines/*.toml).
    #[arg(long, env = "HEALTHSCORE_PIPELINE")]
    pub pipeline: String,
    /// The SQL dialect of the script.
    #[arg(long, value_enum, env = "HEALTHSCORE_DIALECT")]
    pub dialect: SqlDialect,
    /// The as-of date D (YYYY-MM-DD, UTC); default yesterday in UTC.
    #[arg(long, env = "HEALTHSCORE_AS_OF")]
    pub as_of: Option<String>,
}
