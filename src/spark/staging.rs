//! The parts a cluster writes (SPEC §10): under `_staging/<run_id>/<table>`
//! of the output, sorted by the table's order (range-partitioned, so the
//! part names sort as the rows do), at most [`PART_ROWS`] rows each; read
//! back by the commit, which copies them under the deterministic names;
//! the staging prefix removed whatever the outcome.

use std::io::Cursor;

use bytes::Bytes;
use polars::prelude::*;

use super::cluster::Cluster;
use super::views::cluster_url;
use crate::error::{Error, Result};
use crate::output::PART_ROWS;
use crate::sql::expr::{ident, string_lit};
use crate::sql::Dialect;
use crate::storage::Store;

/// The run's staging prefix in the output.
pub fn folder(run_id: &str) -> String {
    format!("_staging/{run_id}")
}

/// Has the cluster write view `view` as Parquet parts (zstd, at most
/// [`PART_ROWS`] rows each) under `staging/<table>`, and lists them in
/// row order.
pub fn write_table(
    cluster: &Cluster,
    output: &Store,
    staging: &str,
    table: &str,
    view: &str,
) -> Result<Vec<String>> {
    let rel = format!("{staging}/{table}");
    cluster.execute(
        &format!("writing the {table} table"),
        &format!(
            "INSERT OVERWRITE DIRECTORY {} USING parquet OPTIONS (compression 'zstd', maxRecordsPerFile '{PART_ROWS}') SELECT * FROM {}",
            string_lit(Dialect::Spark, &cluster_url(output, &rel)),
            ident(Dialect::Spark, view)
        ),
    )?;
    let mut parts: Vec<String> = output
        .list(&rel)?
        .into_iter()
        .map(|o| o.rel)
        .filter(|r| {
            let name = r.rsplit('/').next().unwrap_or_default();
            name.starts_with("part-") && name.ends_with(".parquet")
        })
        .collect();
    parts.sort();
    Ok(parts)
}

/// A staged part's bytes and rows (from its footer).
pub fn fetch(output: &Store, rel: &str) -> Result<(Bytes, usize)> {
    let bytes = output.get(rel)?;
    let rows = polars_parquet::read::read_metadata(&mut Cursor::new(&bytes[..]))
        .map_err(|e| Error::Corrupt {
            url: output.url_of(rel),
            message: format!("a part the cluster wrote has no readable footer: {e}"),
        })?
        .num_rows;
    Ok((bytes, rows))
}

/// A staged table's rows (a small one: the summary).
pub fn read(output: &Store, parts: &[String]) -> Result<DataFrame> {
    let mut frames = Vec::new();
    for rel in parts {
        let bytes = output.get(rel)?;
        let df = ParquetReader::new(Cursor::new(bytes.to_vec()))
            .finish()
            .map_err(|e| Error::Corrupt {
                url: output.url_of(rel),
                message: e.to_string(),
            })?;
        frames.push(df.lazy());
    }
    concat(frames, UnionArgs::default())
        .and_then(|lf| lf.collect())
        .map_err(|e| Error::polars("reading a staged table", e))
}

/// A staged part's schema, as a frame with no rows.
pub fn schema(output: &Store, rel: &str) -> Result<DataFrame> {
    let bytes = output.get(rel)?;
    let corrupt = |e: PolarsError| Error::Corrupt {
        url: output.url_of(rel),
        message: e.to_string(),
    };
    let arrow = ParquetReader::new(Cursor::new(bytes.to_vec()))
        .schema()
        .map_err(corrupt)?;
    Ok(DataFrame::empty_with_schema(&Schema::from_arrow_schema(
        &arrow,
    )))
}

/// Removes the staging prefix and everything under it (on a local disk
/// the cluster's hidden checksum files too).
pub fn remove(output: &Store, staging: &str) -> Result<()> {
    if let Some(path) = output.local_path(staging) {
        return match std::fs::remove_dir_all(&path) {
            Ok(()) => {
                // The `_staging` folder itself, once no run uses it.
                if let Some(parent) = path.parent() {
                    let _ = std::fs::remove_dir(parent);
                }
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::Storage {
                operation: "delete".into(),
                url: output.url_of(staging),
                message: e.to_string(),
            }),
        };
    }
    for o in output.list(staging)? {
        output.delete(&o.rel)?;
    }
    Ok(())
}
