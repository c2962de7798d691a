//! The output side: the lease on an output, the previous committed
//! snapshot (for trend and explain), and the commit protocol of SPEC §6 —
//! remove the date's `_SUCCESS`, write every part with one atomic put (or a
//! multipart upload when large) under deterministic names, delete what this run did not write, write the
//! manifest `_SUCCESS` last.

pub mod lease;
pub mod manifest;
pub mod parquet;

use crate::output::manifest::Manifest;
use crate::score::changes::prev_column;
pub use lease::check_interrupted;
pub use lease::{install_signal_handler, Lease};
use lease::{INTERRUPTED, WRITING};
use std::io::Cursor;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use chrono::NaiveDate;
use polars::prelude::*;

use crate::error::{Error, Result};

use crate::storage::{sha256_hex, Store};

/// Folder of the scores table under the output root.
pub const SCORES: &str = "scores";
/// Folder of the summary table under the output root.
pub const SUMMARY: &str = "summary";
/// Folder of the long metrics table (one row per account and scored
/// metric, a shape that never changes when metrics are added).
pub const METRICS: &str = "metrics";
/// The changes table (SPEC §11).
pub const CHANGES: &str = "changes";
/// Every table a run writes per date; `scores` is committed last, so its
/// `_SUCCESS` is the date's commit point.
pub const TABLES: [&str; 4] = [SCORES, SUMMARY, METRICS, CHANGES];
/// The commit marker (and manifest) of a date folder.
pub const SUCCESS: &str = "_SUCCESS";
/// The lease object at the output root.
pub const LOCK: &str = "_LOCK";
/// Most rows in one Parquet part.
pub const PART_ROWS: usize = 1_000_000;
/// Most encoded parts waiting to be uploaded: the memory they hold is
/// bounded (a scores part of [`PART_ROWS`] rows is ~75 MB), and four let
/// the encoder run through the long table's parts while the scores part
/// is written (~0.3 s for 1M accounts).
const ENCODED_AHEAD: usize = 4;
/// How long a lease lasts before another run may take it over.
pub const LEASE_MINUTES: i64 = 120;

/// `snapshot_date=YYYY-MM-DD`.
pub fn date_folder(table: &str, date: NaiveDate) -> String {
    format!("{table}/snapshot_date={}", date.format("%Y-%m-%d"))
}

/// The date of a `snapshot_date=YYYY-MM-DD` folder name.
pub fn parse_date_folder(name: &str) -> Option<NaiveDate> {
    let d = name.strip_prefix("snapshot_date=")?;
    NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()
}

/// The dates of `table` that carry a `_SUCCESS`, ascending (one listing
/// call plus one existence check per candidate, newest first when asked).
pub fn committed_dates(out: &Store, table: &str) -> Result<Vec<NaiveDate>> {
    let mut dates: Vec<NaiveDate> = out
        .list_dirs(table)?
        .iter()
        .filter_map(|d| parse_date_folder(d))
        .collect();
    dates.sort();
    let mut committed = Vec::new();
    for d in dates {
        if out
            .get_opt(&format!("{}/{SUCCESS}", date_folder(table, d)))?
            .is_some()
        {
            committed.push(d);
        }
    }
    Ok(committed)
}

/// The latest committed scores date strictly before `before` (any date when None).
pub fn latest_committed(out: &Store, before: Option<NaiveDate>) -> Result<Option<NaiveDate>> {
    let mut dates: Vec<NaiveDate> = out
        .list_dirs(SCORES)?
        .iter()
        .filter_map(|d| parse_date_folder(d))
        .filter(|d| before.is_none_or(|b| *d < b))
        .collect();
    dates.sort();
    for d in dates.into_iter().rev() {
        if out
            .get_opt(&format!("{}/{SUCCESS}", date_folder(SCORES, d)))?
            .is_some()
        {
            return Ok(Some(d));
        }
    }
    Ok(None)
}

/// Reads a committed date's scores table (all parts, in order).
pub fn read_scores(out: &Store, date: NaiveDate) -> Result<DataFrame> {
    read_table(out, SCORES, date)
}

/// A date's `table` (all parts, in order), when that table's `_SUCCESS`
/// is there; None otherwise (a date written before the table existed).
pub fn read_committed(out: &Store, table: &str, date: NaiveDate) -> Result<Option<DataFrame>> {
    if out
        .get_opt(&format!("{}/{SUCCESS}", date_folder(table, date)))?
        .is_none()
    {
        return Ok(None);
    }
    read_table(out, table, date).map(Some)
}

/// Reads every Parquet part of a date's `table`, in order.
fn read_table(out: &Store, table: &str, date: NaiveDate) -> Result<DataFrame> {
    let folder = date_folder(table, date);
    let mut frames = Vec::new();
    for o in out.list(&folder)? {
        if !o.rel.ends_with(".parquet") {
            continue;
        }
        let bytes = out.get(&o.rel)?;
        let df = ParquetReader::new(Cursor::new(bytes.to_vec()))
            .finish()
            .map_err(|e| Error::Corrupt {
                url: out.url_of(&o.rel),
                message: e.to_string(),
            })?;
        frames.push(df.lazy());
    }
    if frames.is_empty() {
        return Err(Error::NotFound(format!(
            "snapshot {} has no Parquet parts",
            out.url_of(&folder)
        )));
    }
    concat(frames, UnionArgs::default())
        .and_then(|lf| lf.collect())
        .map_err(|e| Error::polars("reading snapshot", e))
}

/// The previous snapshot of a date, as scoring reads it.
pub struct Previous {
    /// Its date.
    pub date: NaiveDate,
    /// (customer_id, prev_score, prev_band, __prev_model,
    /// __prev_model_band) for the trend and band hysteresis.
    pub trend: DataFrame,
    /// customer_id, then its scorecard and every `_points` column, named
    /// by [`crate::score::changes::prev_column`], for the changes' causes.
    pub points: DataFrame,
    /// Its manifest (the row counts of the rows guard, the scores digest).
    pub manifest: Manifest,
}

/// The previous snapshot of `as_of`: the latest committed date before it,
/// its parts checked against the SHA-256 its manifest records
/// ([`read_verified_scores`]).
pub fn previous_for_trend(out: &Store, as_of: NaiveDate) -> Result<Option<Previous>> {
    previous_for_trend_held(out, as_of, None)
}

/// A snapshot this process has just committed: its date, manifest and
/// scores table.
pub type Held<'a> = (NaiveDate, &'a Manifest, &'a DataFrame);

/// [`previous_for_trend`], taking `held` instead of reading it back when it
/// is the previous snapshot (a range of dates commits each date's
/// previous one itself: its parts need no second read, check and decode).
pub fn previous_for_trend_held(
    out: &Store,
    as_of: NaiveDate,
    held: Option<Held<'_>>,
) -> Result<Option<Previous>> {
    let Some(date) = latest_committed(out, Some(as_of))? else {
        return Ok(None);
    };
    let (manifest, df) = match held {
        Some((d, m, scores)) if d == date => (m.clone(), scores.clone()),
        _ => read_verified_scores(out, date)?,
    };
    // The band the model gave (before an override), for hysteresis.
    let model_band = if df.column("band_model").is_ok() {
        col("band_model")
    } else {
        col("band")
    };
    let points: Vec<Expr> = std::iter::once(col("customer_id").cast(DataType::String))
        .chain(std::iter::once(
            col("scorecard")
                .cast(DataType::String)
                .alias(prev_column("scorecard")),
        ))
        .chain(
            df.get_column_names()
                .into_iter()
                .filter(|n| n.ends_with("_points"))
                .map(|n| {
                    col(n.as_str())
                        .cast(DataType::Float64)
                        .alias(prev_column(n))
                }),
        )
        .collect();
    let damaged = |message: String| Error::Damaged {
        date: date.to_string(),
        url: out.url_of(&date_folder(SCORES, date)),
        message,
    };
    let prev = df
        .clone()
        .lazy()
        .select([
            col("customer_id").cast(DataType::String),
            col("score").cast(DataType::Int32).alias("prev_score"),
            col("band").cast(DataType::String).alias("prev_band"),
            col("model_version")
                .cast(DataType::String)
                .alias("__prev_model"),
            model_band.cast(DataType::String).alias("__prev_model_band"),
        ])
        .collect()
        .map_err(|e| damaged(format!("not a healthscore scores table: {e}")))?;
    let points = df
        .lazy()
        .select(points)
        .collect()
        .map_err(|e| damaged(format!("not a healthscore scores table: {e}")))?;
    Ok(Some(Previous {
        date,
        trend: prev,
        points,
        manifest,
    }))
}

/// A committed date's scores table read from exactly the parts its
/// manifest lists, each checked against the SHA-256 recorded there: a
/// manifest that cannot be read, a part missing, changed (truncated,
/// swapped for another date's) or undecodable is [`Error::Damaged`],
/// naming the date and the remedy. Storage failures stay retryable.
pub fn read_verified_scores(out: &Store, date: NaiveDate) -> Result<(Manifest, DataFrame)> {
    let marker = format!("{}/{SUCCESS}", date_folder(SCORES, date));
    let damaged = |url: String, message: String| Error::Damaged {
        date: date.to_string(),
        url,
        message,
    };
    let manifest = match read_manifest(out, SCORES, date) {
        Ok(Some(m)) => m,
        Ok(None) => return Err(damaged(out.url_of(&marker), "its _SUCCESS vanished".into())),
        Err(Error::Corrupt { url, message }) => return Err(damaged(url, message)),
        Err(e) => return Err(e),
    };
    let parts: Vec<&Written> = manifest
        .outputs
        .iter()
        .filter(|w| w.table == SCORES)
        .collect();
    if parts.is_empty() {
        return Err(damaged(
            out.url_of(&marker),
            "its manifest lists no scores part".into(),
        ));
    }
    let mut frames = Vec::new();
    for w in parts {
        // The part's name in the date's folder (the folder itself may have
        // moved since: a copied or remounted output).
        let name = w.path.rsplit('/').next().unwrap_or_default();
        let rel = format!("{}/{name}", date_folder(SCORES, date));
        let Some(bytes) = out.get_opt(&rel)? else {
            return Err(damaged(
                w.path.clone(),
                "a part its manifest lists is missing".into(),
            ));
        };
        let digest = sha256_hex(&bytes);
        if digest != w.sha256 {
            return Err(damaged(
                w.path.clone(),
                format!(
                    "a part is not the one its manifest records (SHA-256 {digest}, {} bytes; recorded {}, {} bytes)",
                    bytes.len(),
                    w.sha256,
                    w.bytes
                ),
            ));
        }
        let df = ParquetReader::new(Cursor::new(bytes.to_vec()))
            .finish()
            .map_err(|e| damaged(w.path.clone(), format!("a part cannot be decoded: {e}")))?;
        frames.push(df.lazy());
    }
    let scores = concat(frames, UnionArgs::default())
        .and_then(|lf| lf.collect())
        .map_err(|e| damaged(out.url_of(&date_folder(SCORES, date)), e.to_string()))?;
    Ok((manifest, scores))
}

// ---------------------------------------------------------------------------
// Commit
// ---------------------------------------------------------------------------

/// An object written by the commit, for the manifest.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Written {
    /// The table (output folder) the object belongs to.
    pub table: String,
    /// Object URL.
    pub path: String,
    /// Rows in it.
    pub rows: usize,
    /// Size in bytes.
    pub bytes: usize,
    /// SHA-256 of the object's bytes (hex), to tell whether a rewritten
    /// date changed.
    pub sha256: String,
}

/// One digest of a table's written objects, in write order: equal digests
/// mean byte-identical parts.
pub fn table_digest(written: &[Written], table: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for w in written.iter().filter(|w| w.table == table) {
        h.update(w.sha256.as_bytes());
        h.update(b"\n");
    }
    format!("{:x}", h.finalize())
}

/// Splits a frame into parts of at most [`PART_ROWS`] rows, in order.
pub fn parts(df: &DataFrame) -> Vec<LazyFrame> {
    parquet::spans(0, df.height(), PART_ROWS)
        .into_iter()
        .map(|(start, len)| df.slice(start as i64, len).lazy())
        .collect()
}

/// Packs lazy frames of `rows_each` rows each (in order) into parts of at
/// most [`PART_ROWS`] rows: several small frames share a part, a large one
/// is split. Each part is taken only when written.
pub fn packed_parts(frames: Vec<LazyFrame>, rows_each: usize) -> Vec<LazyFrame> {
    if rows_each >= PART_ROWS / 2 || frames.len() <= 1 {
        return frames
            .into_iter()
            .flat_map(|f| lazy_parts(f, rows_each))
            .collect();
    }
    let per_part = PART_ROWS / rows_each.max(1);
    frames
        .chunks(per_part)
        .map(|group| concat(group, UnionArgs::default()).expect("frames of one schema concatenate"))
        .collect()
}

/// Splits a lazy frame of `rows` rows into parts of at most [`PART_ROWS`]
/// rows, in order, each taken only when written.
pub fn lazy_parts(lf: LazyFrame, rows: usize) -> Vec<LazyFrame> {
    if rows <= PART_ROWS {
        return vec![lf];
    }
    parquet::spans(0, rows, PART_ROWS)
        .into_iter()
        .map(|(start, len)| lf.clone().slice(start as i64, len as IdxSize))
        .collect()
}

/// Computes rows `start .. start + len` of a table (see [`Part::Made`]).
pub type MakeRows<'a> = dyn Fn(usize, usize) -> Result<DataFrame> + Sync + 'a;

/// The rows of one output part, taken only when the part is written.
pub enum Part<'a> {
    /// A frame, collected when written.
    Frame(Box<LazyFrame>),
    /// Rows `start .. start + len` of a table whose rows `make` computes,
    /// one row group at a time: each row group is computed while the one
    /// before it is encoded, so computing and encoding share the cores.
    Made {
        /// First row of the part in the table.
        start: usize,
        /// Rows in the part.
        len: usize,
        /// The table's rows.
        make: &'a MakeRows<'a>,
    },
    /// A part already encoded elsewhere (a Spark cluster's, SPEC §10):
    /// its Parquet bytes and rows, fetched only when the part is written.
    Encoded(Box<FetchPart<'a>>),
}

/// Fetches an encoded part: its Parquet bytes and its rows.
pub type FetchPart<'a> = dyn FnOnce() -> Result<(Bytes, usize)> + Send + 'a;

/// Frames as parts.
pub fn frames<'a>(frames: Vec<LazyFrame>) -> Vec<Part<'a>> {
    frames
        .into_iter()
        .map(|frame| Part::Frame(Box::new(frame)))
        .collect()
}

/// The parts of a table of `rows` rows that `make` computes, split as
/// [`parts`] splits a frame (one empty part when there are no rows).
pub fn made_parts<'a>(rows: usize, make: &'a MakeRows<'a>) -> Vec<Part<'a>> {
    parquet::spans(0, rows, PART_ROWS)
        .into_iter()
        .map(|(start, len)| Part::Made { start, len, make })
        .collect()
}

/// One table of a commit: its folder name and its parts, listed only when
/// the writer reaches the table, so a table may be made from the rows of
/// those written before it.
pub struct Table<'a> {
    /// The table's folder (e.g. [`SCORES`]).
    pub name: &'a str,
    /// Its parts, in order (none: the date's folder is only cleared).
    pub parts: Box<dyn FnOnce() -> Result<Vec<Part<'a>>> + Send + 'a>,
}

impl<'a> Table<'a> {
    /// A table of parts known now.
    pub fn of(name: &'a str, parts: Vec<Part<'a>>) -> Self {
        Table {
            name,
            parts: Box::new(move || Ok(parts)),
        }
    }
}

/// Writes one date's tables (each as its parts, in order, taken one at a
/// time) with the commit protocol; the manifest is produced by `manifest`
/// from the list of written objects. Must be called while holding the
/// lease.
pub fn commit(
    out: &Store,
    date: NaiveDate,
    tables: Vec<Table<'_>>,
    manifest: impl FnOnce(&[Written]) -> Manifest,
) -> Result<Vec<Written>> {
    WRITING.store(true, Ordering::SeqCst);
    let result = commit_inner(out, date, tables, manifest);
    WRITING.store(false, Ordering::SeqCst);
    result
}

/// One output part, encoded: its Parquet bytes and rows.
struct EncodedPart {
    bytes: Bytes,
    rows: usize,
}

/// Takes a part's rows and encodes them as Parquet.
fn encode_part(part: Part<'_>, cache: &parquet::PageCache) -> Result<EncodedPart> {
    match part {
        Part::Frame(frame) => {
            let frame = frame
                .collect()
                .map_err(|e| Error::polars("building an output part", e))?;
            let rows = frame.height();
            let bytes = parquet::encode_with(frame, cache)?;
            Ok(EncodedPart { bytes, rows })
        }
        Part::Made { start, len, make } => {
            let (bytes, rows) = encode_made(start, len, make, cache)?;
            Ok(EncodedPart { bytes, rows })
        }
        Part::Encoded(fetch) => {
            let (bytes, rows) = fetch()?;
            Ok(EncodedPart { bytes, rows })
        }
    }
}

/// Encodes rows `start .. start + len` of `make`'s table, row group by row
/// group, each made on a helper thread while the one before is encoded.
fn encode_made(
    start: usize,
    len: usize,
    make: &MakeRows<'_>,
    cache: &parquet::PageCache,
) -> Result<(Bytes, usize)> {
    let groups = parquet::spans(start, len, parquet::ROW_GROUP_ROWS);
    std::thread::scope(|scope| {
        let (send, receive) = std::sync::mpsc::sync_channel::<Result<DataFrame>>(1);
        // Its log lines carry the job's fields, as this thread's do.
        let span = tracing::Span::current();
        scope.spawn(move || {
            let _job = span.enter();
            for (s, n) in groups {
                let made = make(s, n);
                let failed = made.is_err();
                if send.send(made).is_err() || failed {
                    return;
                }
            }
        });
        parquet::encode_groups(receive.iter(), cache)
    })
}

/// The commit protocol of SPEC §6 for one date (the lease is held).
fn commit_inner(
    out: &Store,
    date: NaiveDate,
    tables: Vec<Table<'_>>,
    manifest: impl FnOnce(&[Written]) -> Manifest,
) -> Result<Vec<Written>> {
    check_interrupted()?;
    let names: Vec<&str> = tables.iter().map(|t| t.name).collect();
    // 1. Un-commit the date: readers stop trusting it before anything changes.
    for table in &names {
        out.delete(&format!("{}/{SUCCESS}", date_folder(table, date)))?;
    }
    // 2. Every data object with one atomic put, deterministic names.
    let (written, written_rel) = write_parts(out, date, tables)?;
    // 3. Nothing stale: delete what this run did not write.
    sweep_stale(out, date, &names, &written_rel)?;
    // 4. The manifest, last.
    check_interrupted()?;
    let bytes = Bytes::from(manifest(&written).to_json_bytes());
    write_markers(out, date, &names, &written, bytes)?;
    Ok(written)
}

/// Encodes and uploads every part of every table, in order; returns the
/// objects written and their paths relative to the output. Parts are
/// encoded on one thread while earlier ones are hashed and uploaded on
/// this one. Up to ENCODED_AHEAD encoded parts wait between them, so the
/// encoder goes on with the small parts while a large one is written.
fn write_parts(
    out: &Store,
    date: NaiveDate,
    tables: Vec<Table<'_>>,
) -> Result<(Vec<Written>, Vec<String>)> {
    let mut written: Vec<Written> = Vec::new();
    let mut written_rel: Vec<String> = Vec::new();
    std::thread::scope(|scope| -> Result<()> {
        // (table, object path, part) in the order they are written.
        let (send, receive) =
            std::sync::mpsc::sync_channel::<Result<(&str, String, EncodedPart)>>(ENCODED_AHEAD);
        let span = tracing::Span::current();
        let encoder = scope.spawn(move || {
            let _job = span.enter();
            // The long metrics table repeats the scores table's customer_id
            // and metric columns: their pages are encoded once.
            let cache = parquet::PageCache::default();
            for table in tables {
                cache.keep_floats(table.name == SCORES);
                let parts = match (table.parts)() {
                    Ok(parts) => parts,
                    Err(e) => {
                        let _ = send.send(Err(e));
                        return;
                    }
                };
                for (i, part) in parts.into_iter().enumerate() {
                    let rel = format!("{}/part-{i:05}.parquet", date_folder(table.name, date));
                    let encoded = check_interrupted().and_then(|()| encode_part(part, &cache));
                    let failed = encoded.is_err();
                    if send.send(encoded.map(|e| (table.name, rel, e))).is_err() || failed {
                        return;
                    }
                }
            }
        });
        let mut uploaded = || -> Result<()> {
            for encoded in receive.iter() {
                let (table, rel, part) = encoded?;
                check_interrupted()?;
                let size = part.bytes.len();
                let sha256 = sha256_hex(&part.bytes);
                // One atomic put, or a multipart upload for large parts
                // (aborted on failure or on a signal).
                out.put_cancellable(&rel, part.bytes, &|| INTERRUPTED.load(Ordering::SeqCst))?;
                written.push(Written {
                    table: table.to_string(),
                    path: out.url_of(&rel),
                    rows: part.rows,
                    bytes: size,
                    sha256,
                });
                written_rel.push(rel);
            }
            Ok(())
        };
        let result = uploaded();
        drop(receive);
        encoder
            .join()
            .map_err(|_| Error::Internal("the part encoder panicked".into()))?;
        result
    })?;
    Ok((written, written_rel))
}

/// Deletes every object under the date's folders that this run did not
/// write (a rerun with fewer parts leaves no stale part), temporary files
/// of an interrupted write included, whatever their names.
fn sweep_stale(out: &Store, date: NaiveDate, names: &[&str], written_rel: &[String]) -> Result<()> {
    for table in names {
        let folder = date_folder(table, date);
        let listed = out.list(&folder)?;
        for o in &listed {
            if !written_rel.contains(&o.rel) {
                check_interrupted()?;
                out.delete(&o.rel)?;
            }
        }
        for rel in out.unlisted_local_files(&folder, &listed)? {
            check_interrupted()?;
            tracing::warn!(object = %out.url_of(&rel), "removing a temporary file left by an interrupted write");
            out.remove_unlisted_local_file(&rel)?;
        }
    }
    Ok(())
}

/// Writes the date's `_SUCCESS` markers (the manifest) of the tables that
/// got parts, scores first: `scores/_SUCCESS` is the date's commit point
/// (SPEC §6), so a kill between two markers never leaves another table of
/// the date committed while the scores are not. On a failure takes back
/// the markers already written.
fn write_markers(
    out: &Store,
    date: NaiveDate,
    names: &[&str],
    written: &[Written],
    bytes: Bytes,
) -> Result<()> {
    let mut committed: Vec<String> = Vec::new();
    // (A table given no parts is only cleared: a date written before with
    // it keeps no stale copy, and gets no marker.)
    for table in names
        .iter()
        .filter(|t| written.iter().any(|w| w.table == **t))
    {
        let rel = format!("{}/{SUCCESS}", date_folder(table, date));
        if let Err(e) = out.put(&rel, bytes.clone()) {
            // A failed run leaves no `_SUCCESS` for its date: take back the
            // markers already written (best effort; the store just failed).
            for done in &committed {
                if let Err(undo) = out.delete(done) {
                    tracing::warn!(object = %out.url_of(done), error = %undo, "could not remove a _SUCCESS after a failed commit");
                }
            }
            return Err(e);
        }
        committed.push(rel);
    }
    Ok(())
}

/// Reads a date's manifest.
pub fn read_manifest(out: &Store, table: &str, date: NaiveDate) -> Result<Option<Manifest>> {
    match out.get_opt(&format!("{}/{SUCCESS}", date_folder(table, date)))? {
        None => Ok(None),
        Some(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| Error::Corrupt {
                url: out.url_of(&format!("{}/{SUCCESS}", date_folder(table, date))),
                message: format!("its manifest is not a healthscore manifest: {e}"),
            }),
    }
}

#[cfg(test)]
mod tests;
