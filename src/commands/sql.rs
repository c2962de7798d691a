//! `healthscore sql` (SPEC §10): the pipeline compiled to a SQL script of
//! a dialect for one as-of date (see [`crate::sql`] for the script's
//! contract), printed on stdout.

use chrono::NaiveDate;

use crate::commands::Outcome;
use crate::error::Result;
use crate::pipeline::Pipeline;
use crate::sql::{self, Dialect};

/// Loads the pipeline at `pipeline_file` and compiles it for `as_of` in
/// `dialect`: the script as the text result, `{"sql": …}` as the JSON one.
pub fn sql(pipeline_file: &str, dialect: Dialect, as_of: NaiveDate) -> Result<Outcome> {
    let pipeline = Pipeline::load(pipeline_file)?;
    let script = sql::compile(&pipeline, as_of, dialect)?;
    Ok(Outcome {
        json: serde_json::json!({ "sql": script }),
        text: script.trim_end().to_string(),
    })
}
