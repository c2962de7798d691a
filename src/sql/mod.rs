//! The pipeline compiled to SQL (SPEC §10): `healthscore sql` prints a
//! script that a SQL engine (Spark, DuckDB) runs over views named after the
//! pipeline's tables, producing the same tables as `run`.
//!
//! # Contract of the script
//!
//! The caller registers, before running it:
//! - one view per table of the pipeline (`accounts`, `usage`, … and any
//!   extra event table), named after the table, with the canonical column
//!   names (the pipeline's column mapping already applied) and the types of
//!   SPEC §2 (any integer width, Date or Timestamp of any unit and zone,
//!   any string type);
//! - `previous_scores`: the previous snapshot's scores table as written
//!   (at least customer_id, score, band and model_version), with no rows
//!   when there is none. Its scorecard and `<metric>_points` columns are
//!   read for the changes' causes when present: the script reads them
//!   through the row as JSON (`to_json`/`from_json`, exact for DOUBLE in
//!   both engines), so a column the table lacks (a metric the previous
//!   snapshot did not score, or an empty table with the four columns
//!   alone) is null there, and the metric counts as not present, as in
//!   `run`.
//!
//! It then runs the statements in order (separated by `;`) and selects
//! from the temporary views the script defines:
//! - `scores`: the scores table of SPEC §6 (same columns, order and types:
//!   score, prev_score, score_change INT; numbers DOUBLE; with SPEC §11's
//!   band_model, override_reason, override_set_by and override_expires_on
//!   (DATE) after model_version when the pipeline declares overrides),
//!   ordered by customer_id;
//! - `summary`: the summary table of SPEC §6, in its order;
//! - `metrics` (when `settings.metrics_table`): the long metrics table
//!   (customer_id, scorecard, group, metric, raw, points, loss,
//!   model_version), by metric in declared order, then customer_id;
//! - `changes`: the changes table of SPEC §11 (columns, types, rows and
//!   order as `run`'s): empty unless previous_scores holds this
//!   pipeline's model_version;
//! - `row_accounting`: SPEC §7's counts in a long format, one row per
//!   (table_name, count_name) with `rows` BIGINT: `rows_read`,
//!   `after_as_of`, `rejected.<rule>` (every rule of the table, 0
//!   included), `orphaned.null_customer_id`,
//!   `orphaned.unknown_customer_id`, `rows_used`; for accounts
//!   `rows_read`, `after_as_of`, `rejected.null_customer_id`, `rows_used`,
//!   `not_yet_customers`, `excluded_by_filter`; for overrides (SPEC §11)
//!   an event table's counts (its rules those of
//!   `input::overrides::RULES`, rows_used the overrides applied), then
//!   `expired` and `superseded`; after them, `nulls.<column>` for each
//!   optional contract column the table reads (its nulls among the rows
//!   used). The names are the manifest's keys under `tables.<table>`;
//! - `event_dates`: per dated table (overrides last), table_name,
//!   earliest_event_date and latest_event_date (DATE) among its rows used
//!   (overrides: the latest set_on applied), the manifest's dates that the
//!   staleness guard reads;
//! - `duplicate_ids`: customer_id and copies (BIGINT) of every accounts
//!   id that more than one row holds, by id; `run` refuses such an
//!   accounts table (SPEC §7, exit 2), and so must the caller when this
//!   view has rows (the other views are then meaningless);
//! - `bands_held`: one row, `accounts` BIGINT, the accounts whose band
//!   hysteresis kept a band other than the model's (the manifest's
//!   `bands_held`; 0 without hysteresis).
//!
//! Overrides (SPEC §11, when the pipeline declares `[sources.overrides]`):
//! the overrides view is read like an event table (dated by set_on), and
//! the override in force on D that takes precedence replaces the band
//! (after hysteresis), so color, summary and changes follow it; an
//! account with an override in force has no changes row.
//!
//! Timestamps: the UTC calendar date of every timestamp is used whatever
//! the session's time zone. DuckDB: day numbers come from `epoch_us`
//! (microseconds since the epoch in UTC for TIMESTAMP, TIMESTAMPTZ and
//! DATE alike). Spark: the script starts with
//! `SET spark.sql.session.timeZone = UTC`, so `to_date` gives the UTC date
//! of a TIMESTAMP, and a TIMESTAMP_NTZ (a timestamp without zone: UTC by
//! SPEC §2) its own date.
//!
//! Band hysteresis (SPEC §11, `settings.band_hysteresis_points` > 0) is
//! compiled into the band (and so color, summary and changes) of
//! `scores`; it reads the previous *model* band: `run` takes the previous
//! snapshot's `band_model` column where it exists, else `band`. The
//! compiler cannot see the previous table's columns, so it decides from
//! the pipeline: a pipeline that declares overrides (whose scores carry
//! band_model) reads band_model (through JSON, as above, so a previous
//! snapshot without the column falls back to `band`); any other reads
//! `band` alone, which equals band_model unless the previous snapshot of
//! the same model_version applied overrides — a pipeline that does not
//! declare them cannot have written such a snapshot under the same
//! name@version unless its file changed without a version bump.
//!
//! Dates are handled as day numbers (days since 1970-01-01), as `run` does,
//! so a filter, an aggregation (`max(date)`) or a predicate on a date
//! column sees the same numbers in both engines.

mod aggregate;
pub mod expr;
mod inputs;
mod output;
mod score;

/// The view every output view reads (each account scored, with its
/// names, drivers and playbook): an engine that recomputes a view for
/// each query that reads it (Spark) caches this one once, so the scores,
/// summary, metrics and changes are not each computed from the inputs.
pub use score::SCORED_VIEW;

use chrono::NaiveDate;

use crate::error::{Error, Result};
use crate::pipeline::Pipeline;

/// The SQL dialects the pipeline compiles to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// Spark SQL (Spark 3.4 or later; Spark Connect).
    Spark,
    /// DuckDB (1.1 or later).
    DuckDb,
}

impl Dialect {
    /// The text type.
    pub(crate) fn string_type(self) -> &'static str {
        match self {
            Dialect::Spark => "STRING",
            Dialect::DuckDb => "VARCHAR",
        }
    }

    /// The 32-bit integer type.
    pub(crate) fn int_type(self) -> &'static str {
        match self {
            Dialect::Spark => "INT",
            Dialect::DuckDb => "INTEGER",
        }
    }

    /// `x` (a DOUBLE) where finite, else null (NaN and ±inf are missing).
    pub(crate) fn finite(self, x: &str) -> String {
        match self {
            Dialect::DuckDb => format!("CASE WHEN isfinite({x}) THEN {x} END"),
            // NaN compares above +inf in Spark.
            Dialect::Spark => format!("CASE WHEN abs({x}) < double('Infinity') THEN {x} END"),
        }
    }

    /// The UTC day number (days since 1970-01-01, INT) of a DATE or
    /// TIMESTAMP of any kind.
    pub(crate) fn day_number(self, x: &str) -> String {
        match self {
            Dialect::DuckDb => {
                format!("CAST(fdiv(epoch_us({x}), 86400000000) AS INTEGER)")
            }
            Dialect::Spark => format!("datediff(to_date({x}), DATE'1970-01-01')"),
        }
    }

    /// The DATE of day number `day`.
    pub(crate) fn date_of_day(self, day: &str) -> String {
        match self {
            Dialect::DuckDb => format!("CAST(DATE '1970-01-01' + CAST({day} AS INTEGER) AS DATE)"),
            Dialect::Spark => format!("date_add(DATE'1970-01-01', {day})"),
        }
    }

    /// The day number of the first day of day number `day`'s month.
    pub(crate) fn month_start(self, day: &str) -> String {
        match self {
            Dialect::DuckDb => format!(
                "date_diff('day', DATE '1970-01-01', CAST(date_trunc('month', DATE '1970-01-01' + {day}) AS DATE))"
            ),
            Dialect::Spark => format!(
                "datediff(trunc(date_add(DATE'1970-01-01', {day}), 'MM'), DATE'1970-01-01')"
            ),
        }
    }

    /// A two-field (d, v) record, ordered by d then v (for first/last).
    pub(crate) fn pair(self, d: &str, v: &str) -> String {
        match self {
            Dialect::DuckDb => format!("struct_pack(d := {d}, v := {v})"),
            Dialect::Spark => format!("named_struct('d', {d}, 'v', {v})"),
        }
    }

    /// The optional columns `fields` (name, SQL type) of the row of the
    /// relation `alias` (a table alias), as a struct: a column the
    /// relation lacks is null there (the row goes through JSON, which
    /// keeps every DOUBLE exactly: both engines write the shortest text
    /// that reads back to the same number).
    pub(crate) fn optional_fields(self, alias: &str, fields: &[(String, &str)]) -> String {
        match self {
            Dialect::DuckDb => {
                let schema: Vec<String> = fields
                    .iter()
                    .map(|(n, t)| format!("{}:{}", serde_json::json!(n), serde_json::json!(t)))
                    .collect();
                format!(
                    "from_json(to_json({alias}), {})",
                    expr::string_lit(self, &format!("{{{}}}", schema.join(",")))
                )
            }
            Dialect::Spark => {
                let schema: Vec<String> = fields
                    .iter()
                    .map(|(n, t)| format!("{} {t}", expr::ident(self, n)))
                    .collect();
                format!(
                    "from_json(to_json(struct({alias}.*)), {})",
                    expr::string_lit(self, &schema.join(", "))
                )
            }
        }
    }

    /// `CREATE … VIEW name AS`.
    pub(crate) fn create_view(self, name: &str) -> String {
        match self {
            Dialect::DuckDb => format!("CREATE OR REPLACE TEMP VIEW {name} AS"),
            Dialect::Spark => format!("CREATE OR REPLACE TEMPORARY VIEW {name} AS"),
        }
    }
}

/// What the stages share: the pipeline, the dialect, and D.
pub(crate) struct Ctx<'a> {
    /// The pipeline compiled.
    pub p: &'a Pipeline,
    /// The dialect written.
    pub d: Dialect,
    /// D as a day number.
    pub day: i64,
}

impl Ctx<'_> {
    /// A quoted identifier.
    pub fn q(&self, name: &str) -> String {
        expr::ident(self.d, name)
    }

    /// A string literal.
    pub fn s(&self, text: &str) -> String {
        expr::string_lit(self.d, text)
    }
}

/// The script under construction: statements, each after its comment.
pub(crate) struct Script {
    d: Dialect,
    text: String,
    /// The statements alone, in order, for a caller that runs them one
    /// at a time.
    statements: Vec<String>,
}

impl Script {
    /// A `--` comment block (one line per item, control characters removed).
    pub fn comment(&mut self, lines: &[String]) {
        for l in lines {
            self.text.push_str("-- ");
            self.text.push_str(&expr::comment_text(l));
            self.text.push('\n');
        }
    }

    /// A temporary view `name` (given already quoted or as a plain
    /// internal name) defined by `body`, after `comment`.
    pub fn view(&mut self, name: &str, comment: &[String], body: &str) {
        self.comment(comment);
        let statement = format!("{}\n{}", self.d.create_view(name), body.trim_end());
        self.text.push_str(&statement);
        self.text.push_str(";\n\n");
        self.statements.push(statement);
    }

    /// A statement as it is.
    pub fn statement(&mut self, comment: &[String], sql: &str) {
        self.comment(comment);
        self.text.push_str(sql);
        self.text.push_str(";\n\n");
        self.statements.push(sql.to_string());
    }
}

/// View names the script defines for its caller, and the previous
/// snapshot's input view: no pipeline table may be named so.
const RESERVED_VIEWS: [&str; 9] = [
    "scores",
    "duplicate_ids",
    "event_dates",
    "bands_held",
    "summary",
    "metrics",
    "changes",
    "row_accounting",
    "previous_scores",
];

/// The pipeline compiled to a SQL script of `dialect` for the as-of date
/// `as_of` (see the module's documentation for the views it reads and
/// defines). Deterministic: the same pipeline, date and dialect give the
/// same text. A predicate outside the SQL subset is a pipeline error.
pub fn compile(p: &Pipeline, as_of: NaiveDate, dialect: Dialect) -> Result<String> {
    Ok(script(p, as_of, dialect)?.text)
}

/// The statements of [`compile`]'s script, without their comments, in
/// order: what a caller sends to an engine one at a time.
pub fn statements(p: &Pipeline, as_of: NaiveDate, dialect: Dialect) -> Result<Vec<String>> {
    Ok(script(p, as_of, dialect)?.statements)
}

/// The script of [`compile`].
fn script(p: &Pipeline, as_of: NaiveDate, dialect: Dialect) -> Result<Script> {
    for s in &p.sources {
        if RESERVED_VIEWS.contains(&s.table.as_str()) || s.table.starts_with("hs_") {
            return Err(Error::Usage(format!(
                "table `{}` of pipeline {} has the name of a view the SQL script defines or reads; rename the table in [sources]",
                s.table, p.file
            )));
        }
    }
    let ctx = Ctx {
        p,
        d: dialect,
        day: i64::from(crate::time::day_of(as_of)),
    };
    let mut script = Script {
        d: dialect,
        text: String::new(),
        statements: Vec::new(),
    };
    script.comment(&[
        format!(
            "healthscore {}: pipeline {} ({}), as of {as_of}, {} dialect.",
            env!("CARGO_PKG_VERSION"),
            p.name,
            p.model_version(),
            match dialect {
                Dialect::Spark => "Spark SQL",
                Dialect::DuckDb => "DuckDB",
            }
        ),
        format!("Pipeline file sha256 {}.", p.sha256),
        "Reads: one view per pipeline table (canonical column names) and previous_scores.".into(),
        "Defines: scores, summary, metrics (when written), changes, row_accounting, event_dates, bands_held, duplicate_ids.".into(),
    ]);
    script.text.push('\n');
    if dialect == Dialect::Spark {
        script.statement(
            &["Timestamps are read as their UTC calendar date (SPEC §2).".into()],
            "SET spark.sql.session.timeZone = UTC",
        );
    }
    inputs::write(&ctx, &mut script)?;
    aggregate::write(&ctx, &mut script)?;
    output::previous(&ctx, &mut script);
    score::write(&ctx, &mut script)?;
    output::write(&ctx, &mut script)?;
    Ok(script)
}
