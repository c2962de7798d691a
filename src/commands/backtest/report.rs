//! The report's files: report.json (every figure), report.md and
//! report.html through the storage seam, and the suggested weights as a
//! TOML fragment to paste into the pipeline.

use super::model::Report;
use super::render::{html, markdown};
use crate::error::{Error, Result};
use crate::storage::Store;

/// Writes report.json, report.md and report.html to `store`.
pub(super) fn write_report(store: &Store, r: &Report) -> Result<()> {
    let json = serde_json::to_vec_pretty(r)
        .map_err(|e| Error::Internal(format!("serialising the report: {e}")))?;
    store.put("report.json", bytes::Bytes::from(json))?;
    store.put("report.md", bytes::Bytes::from(markdown(r)))?;
    store.put("report.html", bytes::Bytes::from(html(r)))?;
    Ok(())
}
