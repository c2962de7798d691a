//! The library's error type: every failure names what broke and maps to one
//! of the exit codes of SPEC §7 (0 ok, 1 retryable, 2 fix the input, 64 usage).

use std::fmt;

/// Result alias used across the crate.
pub type Result<T> = std::result::Result<T, Error>;

/// One problem found in a pipeline file, located for the person who edits it.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigIssue {
    /// 1-based line in the pipeline file.
    pub line: usize,
    /// 1-based column in the pipeline file.
    pub column: usize,
    /// What is wrong and what to change.
    pub message: String,
}

/// Everything that can stop a run. The variant decides the exit code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The pipeline file is invalid; every issue is listed (exit 2).
    #[error("{}", format_config_issues(file, issues))]
    Pipeline {
        /// Path of the pipeline file.
        file: String,
        /// All problems found, in file order.
        issues: Vec<ConfigIssue>,
    },
    /// The input breaks the data contract: a missing table or column, a wrong
    /// type, a duplicate account (exit 2).
    #[error("{message}")]
    Contract {
        /// Table concerned.
        table: String,
        /// Column concerned, when one is.
        column: Option<String>,
        /// File concerned, when one is.
        file: Option<String>,
        /// What was found and what was expected.
        message: String,
    },
    /// A data guard tripped (rejected or orphaned share, stale export): exit 2.
    #[error("{message}")]
    Guard {
        /// Table concerned.
        table: String,
        /// Which guard and by how much.
        message: String,
    },
    /// Reading or writing storage failed (exit 1, a retry may succeed).
    #[error("storage error during {operation} of {url}: {message}")]
    Storage {
        /// What was being done: read, write, list, delete.
        operation: String,
        /// The object or folder, as a URL without credentials.
        url: String,
        /// The store's explanation.
        message: String,
    },
    /// A Parquet object could not be decoded (exit 1).
    #[error("cannot read Parquet object {url}: {message}")]
    Corrupt {
        /// The object's URL.
        url: String,
        /// The decoder's explanation.
        message: String,
    },
    /// Another run holds the output's lease (exit 1).
    #[error("locked: output {url} is leased by run {holder} on {host} until {expires}; wait for it to finish or for the lease to expire, or, when that run was killed, rerun with --run-id {holder} to take its lease over")]
    Locked {
        /// Output root.
        url: String,
        /// Run id of the holder.
        holder: String,
        /// Host of the holder.
        host: String,
        /// Lease expiry (RFC 3339).
        expires: String,
    },
    /// The run was interrupted by SIGTERM/SIGINT (exit 1).
    #[error(
        "interrupted by signal; the lease was released and no _SUCCESS was written for this date"
    )]
    Interrupted,
    /// A committed snapshot that a run reads (the previous date, for the
    /// trend) is damaged: its manifest or a part is missing, unreadable, or
    /// not the bytes its manifest records (exit 2: retrying cannot help;
    /// rerunning that date repairs it).
    #[error("the committed snapshot of {date} at {url} is damaged: {message}. Rerun that date (healthscore run --as-of {date} with its inputs) to repair it; nothing was written")]
    Damaged {
        /// The snapshot's date.
        date: String,
        /// The object or folder concerned.
        url: String,
        /// What is wrong with it.
        message: String,
    },
    /// The Spark cluster (`run --engine spark`) cannot be reached, was lost,
    /// or failed the job (exit 1: nothing was committed; a retry may
    /// succeed once the cluster is back).
    #[error("Spark Connect endpoint {endpoint}: {message}; nothing was committed")]
    Engine {
        /// The endpoint, as given to --spark-remote (without its token).
        endpoint: String,
        /// What failed, with Spark's own error.
        message: String,
    },
    /// A command-line value is wrong (exit 64).
    #[error("{0}")]
    Usage(String),
    /// A snapshot or customer asked for does not exist (exit 2 for explain).
    #[error("{0}")]
    NotFound(String),
    /// An unexpected failure inside the engine (exit 1).
    #[error("internal error: {0}")]
    Internal(String),
}

fn format_config_issues(file: &str, issues: &[ConfigIssue]) -> String {
    let mut out = format!(
        "pipeline file {file} has {} error{}:",
        issues.len(),
        if issues.len() == 1 { "" } else { "s" }
    );
    for i in issues {
        out.push_str(&format!(
            "\n  {file}:{}:{}: {}",
            i.line, i.column, i.message
        ));
    }
    out
}

impl Error {
    /// The same error with `context` (e.g. "backfill date 2026-01-31")
    /// before the message of an input problem, so a run over many dates
    /// says which date's input broke the contract or tripped a guard.
    pub fn at(self, context: &str) -> Error {
        match self {
            Error::Guard { table, message } => Error::Guard {
                table,
                message: format!("{context}: {message}"),
            },
            Error::Contract {
                table,
                column,
                file,
                message,
            } => Error::Contract {
                table,
                column,
                file,
                message: format!("{context}: {message}"),
            },
            other => other,
        }
    }

    /// The process exit code of SPEC §7.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Pipeline { .. }
            | Error::Contract { .. }
            | Error::Guard { .. }
            | Error::Damaged { .. }
            | Error::NotFound(_) => 2,
            Error::Usage(_) => 64,
            Error::Storage { .. }
            | Error::Corrupt { .. }
            | Error::Locked { .. }
            | Error::Interrupted
            | Error::Engine { .. }
            | Error::Internal(_) => 1,
        }
    }

    /// A short machine-readable name of the error's kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Pipeline { .. } => "pipeline",
            Error::Contract { .. } => "contract",
            Error::Guard { .. } => "guard",
            Error::Storage { .. } => "storage",
            Error::Corrupt { .. } => "corrupt",
            Error::Locked { .. } => "locked",
            Error::Interrupted => "interrupted",
            Error::Usage(_) => "usage",
            Error::NotFound(_) => "not_found",
            Error::Damaged { .. } => "damaged_snapshot",
            Error::Engine { .. } => "engine",
            Error::Internal(_) => "internal",
        }
    }

    /// Whether a scheduler may retry without anyone fixing anything.
    pub fn retryable(&self) -> bool {
        self.exit_code() == 1
    }

    /// Table named by the error, when there is one.
    pub fn table(&self) -> Option<&str> {
        match self {
            Error::Contract { table, .. } | Error::Guard { table, .. } => Some(table),
            _ => None,
        }
    }

    /// Column named by the error, when there is one.
    pub fn column(&self) -> Option<&str> {
        match self {
            Error::Contract { column, .. } => column.as_deref(),
            _ => None,
        }
    }

    /// File or object named by the error, when there is one.
    pub fn file(&self) -> Option<&str> {
        match self {
            Error::Pipeline { file, .. } => Some(file),
            Error::Contract { file, .. } => file.as_deref(),
            Error::Storage { url, .. }
            | Error::Corrupt { url, .. }
            | Error::Damaged { url, .. } => Some(url),
            _ => None,
        }
    }

    /// First line named by the error (pipeline errors), when there is one.
    pub fn line(&self) -> Option<usize> {
        match self {
            Error::Pipeline { issues, .. } => issues.first().map(|i| i.line),
            _ => None,
        }
    }

    /// A contract error about one table and column.
    pub fn contract(table: &str, column: Option<&str>, message: impl Into<String>) -> Self {
        Error::Contract {
            table: table.to_string(),
            column: column.map(str::to_string),
            file: None,
            message: message.into(),
        }
    }

    /// Wraps an unexpected polars failure.
    pub fn polars(context: &str, e: impl fmt::Display) -> Self {
        Error::Internal(format!("{context}: {e}"))
    }
}

/// `s` with every control character escaped (`\u{1b}`, `\n`…), so an id
/// or a run id from an export or a lease quoted in a message cannot write
/// to the operator's terminal or forge a log line (SPEC §7).
pub fn escaped(s: &str) -> String {
    if !s.chars().any(char::is_control) {
        return s.to_string();
    }
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// A `map_err` adapter: a polars error while doing `context` as an
/// internal error (the one copy of this helper).
pub fn pl<E: fmt::Display>(context: &'static str) -> impl Fn(E) -> Error {
    move |e| Error::polars(context, e)
}
