//! The output side: the lease on an output, the previous committed
//! snapshot (for trend and explain), and the commit protocol of SPEC §6 —
//! remove the date's `_SUCCESS`, write every part with one atomic put (or a
//! multipart upload when large) under deterministic names, delete what this run did not write, write the
//! manifest `_SUCCESS` last.

use std::io::Cursor;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use bytes::Bytes;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use polars::prelude::*;

use crate::error::{Error, Result};
use crate::parquet_file;
use crate::storage::Store;

/// Folder of the scores table under the output root.
pub const SCORES: &str = "scores";
/// Folder of the summary table under the output root.
pub const SUMMARY: &str = "summary";
/// Folder of the long metrics table (one row per account and scored
/// metric, a shape that never changes when metrics are added).
pub const METRICS: &str = "metrics";
/// Every table a run writes per date; `scores` is committed last, so its
/// `_SUCCESS` is the date's commit point.
pub const TABLES: [&str; 3] = [SCORES, SUMMARY, METRICS];
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

fn parse_date_folder(name: &str) -> Option<NaiveDate> {
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
    let folder = date_folder(SCORES, date);
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

/// The previous snapshot's (customer_id, prev_score, prev_band,
/// __prev_model) for trend, with its date.
pub fn previous_for_trend(out: &Store, as_of: NaiveDate) -> Result<Option<(NaiveDate, DataFrame)>> {
    let Some(date) = latest_committed(out, Some(as_of))? else {
        return Ok(None);
    };
    let df = read_scores(out, date)?;
    let prev = df
        .lazy()
        .select([
            col("customer_id").cast(DataType::String),
            col("score").cast(DataType::Int32).alias("prev_score"),
            col("band").cast(DataType::String).alias("prev_band"),
            col("model_version")
                .cast(DataType::String)
                .alias("__prev_model"),
        ])
        .collect()
        .map_err(|e| Error::Corrupt {
            url: out.url_of(&date_folder(SCORES, date)),
            message: format!("not a healthscore scores snapshot: {e}"),
        })?;
    Ok(Some((date, prev)))
}

// ---------------------------------------------------------------------------
// Lease
// ---------------------------------------------------------------------------

#[derive(serde::Serialize, serde::Deserialize)]
struct LeaseBody {
    run_id: String,
    host: String,
    expires: DateTime<Utc>,
}

/// The output's lease, held for the duration of a run.
pub struct Lease {
    out: Store,
    run_id: String,
}

static HELD: Mutex<Option<(Store, String)>> = Mutex::new(None);
static WRITING: AtomicBool = AtomicBool::new(false);
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

impl Lease {
    /// Takes the lease, or fails with `Locked` while another run holds an
    /// unexpired one; an expired lease is taken over.
    pub fn acquire(out: &Store, run_id: &str) -> Result<Lease> {
        let body = LeaseBody {
            run_id: run_id.to_string(),
            host: gethostname::gethostname().to_string_lossy().into_owned(),
            expires: Utc::now() + Duration::minutes(LEASE_MINUTES),
        };
        let bytes = Bytes::from(serde_json::to_vec_pretty(&body).expect("lease json"));
        for _ in 0..3 {
            if out.put_if_absent(LOCK, bytes.clone())? {
                *HELD.lock().expect("lease registry") = Some((out.clone(), run_id.to_string()));
                return Ok(Lease {
                    out: out.clone(),
                    run_id: run_id.to_string(),
                });
            }
            let Some(existing) = out.get_opt(LOCK)? else {
                continue;
            };
            match serde_json::from_slice::<LeaseBody>(&existing) {
                Ok(held) if held.expires > Utc::now() && held.run_id != run_id => {
                    return Err(Error::Locked {
                        url: out.url().to_string(),
                        holder: held.run_id,
                        host: held.host,
                        expires: held.expires.to_rfc3339(),
                    });
                }
                // Expired, ours, or unreadable: take it over.
                _ => out.delete(LOCK)?,
            }
        }
        Err(Error::Storage {
            operation: "lease".into(),
            url: out.url_of(LOCK),
            message: "could not take the lease after 3 attempts (another run is racing for it)"
                .into(),
        })
    }

    /// Extends the lease by another [`LEASE_MINUTES`] from now, so a long
    /// backfill keeps it; fails with `Locked` if another run took it over.
    pub fn renew(&self) -> Result<()> {
        if let Some(existing) = self.out.get_opt(LOCK)? {
            if let Ok(held) = serde_json::from_slice::<LeaseBody>(&existing) {
                if held.run_id != self.run_id {
                    return Err(Error::Locked {
                        url: self.out.url().to_string(),
                        holder: held.run_id,
                        host: held.host,
                        expires: held.expires.to_rfc3339(),
                    });
                }
            }
        }
        let body = LeaseBody {
            run_id: self.run_id.clone(),
            host: gethostname::gethostname().to_string_lossy().into_owned(),
            expires: Utc::now() + Duration::minutes(LEASE_MINUTES),
        };
        self.out.put(
            LOCK,
            Bytes::from(serde_json::to_vec_pretty(&body).expect("lease json")),
        )
    }

    /// Releases the lease if it is still ours.
    pub fn release(self) -> Result<()> {
        *HELD.lock().expect("lease registry") = None;
        release_if_ours(&self.out, &self.run_id)
    }
}

fn release_if_ours(out: &Store, run_id: &str) -> Result<()> {
    if let Some(existing) = out.get_opt(LOCK)? {
        if let Ok(held) = serde_json::from_slice::<LeaseBody>(&existing) {
            if held.run_id == run_id {
                out.delete(LOCK)?;
            }
        }
    }
    Ok(())
}

/// Installs the SIGTERM/SIGINT handler: outside the write phase it releases
/// the lease and exits 1 at once; inside it the writer stops at the next
/// object, releases the lease and returns `Interrupted`.
pub fn install_signal_handler() {
    crate::storage::runtime().spawn(async {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
                return;
            };
            tokio::select! {
                _ = term.recv() => {},
                _ = int.recv() => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        INTERRUPTED.store(true, Ordering::SeqCst);
        if !WRITING.load(Ordering::SeqCst) {
            let held = HELD.lock().ok().and_then(|h| h.clone());
            if let Some((out, run_id)) = held {
                let _ = tokio::task::spawn_blocking(move || release_if_ours(&out, &run_id)).await;
            }
            eprintln!("healthscore: interrupted by signal; the lease was released and nothing was committed");
            std::process::exit(1);
        }
    });
}

fn check_interrupted() -> Result<()> {
    if INTERRUPTED.load(Ordering::SeqCst) {
        Err(Error::Interrupted)
    } else {
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Commit
// ---------------------------------------------------------------------------

/// An object written by the commit, for the manifest.
#[derive(Debug, Clone, serde::Serialize)]
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
    parquet_file::spans(0, df.height(), PART_ROWS)
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
    parquet_file::spans(0, rows, PART_ROWS)
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
}

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
    parquet_file::spans(0, rows, PART_ROWS)
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
    manifest: impl FnOnce(&[Written]) -> serde_json::Value,
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
fn encode_part(part: Part<'_>, cache: &parquet_file::PageCache) -> Result<EncodedPart> {
    match part {
        Part::Frame(frame) => {
            let frame = frame
                .collect()
                .map_err(|e| Error::polars("building an output part", e))?;
            let rows = frame.height();
            let bytes = parquet_file::encode_with(frame, cache)?;
            Ok(EncodedPart { bytes, rows })
        }
        Part::Made { start, len, make } => {
            let (bytes, rows) = encode_made(start, len, make, cache)?;
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
    cache: &parquet_file::PageCache,
) -> Result<(Bytes, usize)> {
    let groups = parquet_file::spans(start, len, parquet_file::ROW_GROUP_ROWS);
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
        parquet_file::encode_groups(receive.iter(), cache)
    })
}

fn commit_inner(
    out: &Store,
    date: NaiveDate,
    tables: Vec<Table<'_>>,
    manifest: impl FnOnce(&[Written]) -> serde_json::Value,
) -> Result<Vec<Written>> {
    check_interrupted()?;
    let names: Vec<&str> = tables.iter().map(|t| t.name).collect();
    // 1. Un-commit the date: readers stop trusting it before anything changes.
    for table in &names {
        out.delete(&format!("{}/{SUCCESS}", date_folder(table, date)))?;
    }
    // 2. Every data object with one atomic put, deterministic names. Parts
    // are encoded on one thread while earlier ones are hashed and uploaded
    // on this one. Up to ENCODED_AHEAD encoded parts wait between them, so
    // the encoder goes on with the small parts while a large one is
    // written.
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
            let cache = parquet_file::PageCache::default();
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
                let sha256 = {
                    use sha2::{Digest, Sha256};
                    format!("{:x}", Sha256::digest(&part.bytes))
                };
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
    // 3. Nothing stale: delete what this run did not write.
    for table in &names {
        for o in out.list(&date_folder(table, date))? {
            if !written_rel.contains(&o.rel) {
                check_interrupted()?;
                out.delete(&o.rel)?;
            }
        }
    }
    // 4. The manifest, last.
    check_interrupted()?;
    let body = manifest(&written);
    let bytes = Bytes::from(serde_json::to_vec_pretty(&body).expect("manifest json"));
    let mut committed: Vec<String> = Vec::new();
    // (A table given no parts is only cleared: a date written before with
    // it keeps no stale copy, and gets no marker.)
    for table in names
        .iter()
        .rev()
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
    Ok(written)
}

/// Reads a date's manifest.
pub fn read_manifest(
    out: &Store,
    table: &str,
    date: NaiveDate,
) -> Result<Option<serde_json::Value>> {
    match out.get_opt(&format!("{}/{SUCCESS}", date_folder(table, date)))? {
        None => Ok(None),
        Some(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| Error::Corrupt {
                url: out.url_of(&format!("{}/{SUCCESS}", date_folder(table, date))),
                message: format!("manifest is not JSON: {e}"),
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(rows: usize) -> LazyFrame {
        DataFrame::new_infer_height(vec![Column::new(
            "x".into(),
            (0..rows as i32).collect::<Vec<_>>(),
        )])
        .unwrap()
        .lazy()
    }

    fn heights(parts: Vec<LazyFrame>) -> Vec<usize> {
        parts
            .into_iter()
            .map(|p| p.collect().unwrap().height())
            .collect()
    }

    #[test]
    fn small_metric_frames_share_parts_of_at_most_a_million_rows() {
        // 13 metrics × 100k accounts: 10 per part, then the other 3.
        let frames = (0..13).map(|_| frame(100_000)).collect();
        assert_eq!(
            heights(packed_parts(frames, 100_000)),
            vec![1_000_000, 300_000]
        );
        // 13 metrics × 60 accounts: one part.
        let frames = (0..13).map(|_| frame(60)).collect();
        assert_eq!(heights(packed_parts(frames, 60)), vec![780]);
    }

    #[test]
    fn large_metric_frames_get_their_own_parts_split_at_a_million_rows() {
        let frames = vec![frame(600_000), frame(600_000)];
        assert_eq!(
            heights(packed_parts(frames, 600_000)),
            vec![600_000, 600_000]
        );
        let frames = vec![frame(2_500_000), frame(2_500_000)];
        assert_eq!(
            heights(packed_parts(frames, 2_500_000)),
            vec![1_000_000, 1_000_000, 500_000, 1_000_000, 1_000_000, 500_000]
        );
    }

    /// A table made row by row is split into parts as a frame is: at a
    /// million rows, one empty part when it has no rows.
    #[test]
    fn made_tables_split_into_parts_of_a_million_rows() {
        let make = |_: usize, _: usize| -> Result<DataFrame> { unreachable!("not made") };
        let ranges = |rows| -> Vec<(usize, usize)> {
            made_parts(rows, &make)
                .into_iter()
                .map(|part| match part {
                    Part::Made { start, len, .. } => (start, len),
                    Part::Frame(_) => panic!("a made part"),
                })
                .collect()
        };
        assert_eq!(ranges(0), [(0, 0)]);
        assert_eq!(ranges(5), [(0, 5)]);
        assert_eq!(
            ranges(2_500_000),
            [(0, 1_000_000), (1_000_000, 1_000_000), (2_000_000, 500_000)]
        );
    }

    /// A made part is asked for its row groups in order (131,072 rows each
    /// from its first row, the last one shorter) and writes the bytes the
    /// same rows write as one frame.
    #[test]
    fn a_made_part_is_made_a_row_group_at_a_time_into_the_same_bytes() {
        let rows = 2 * parquet_file::ROW_GROUP_ROWS + 7;
        let table = frame(1_000_000).collect().unwrap();
        let asked = Mutex::new(Vec::new());
        let make = |start: usize, len: usize| -> Result<DataFrame> {
            asked.lock().unwrap().push((start, len));
            Ok(table.slice(start as i64, len))
        };
        let cache = parquet_file::PageCache::default();
        let (bytes, written) = encode_made(100, rows, &make, &cache).unwrap();
        assert_eq!(written, rows);
        let r = parquet_file::ROW_GROUP_ROWS;
        assert_eq!(
            *asked.lock().unwrap(),
            [(100, r), (100 + r, r), (100 + 2 * r, 7)]
        );
        let whole = parquet_file::encode(table.slice(100, rows)).unwrap();
        assert_eq!(bytes, whole);
        // No rows: one empty group gives the schema.
        let (empty, none) = encode_made(0, 0, &make, &cache).unwrap();
        assert_eq!(none, 0);
        assert_eq!(empty, parquet_file::encode(table.slice(0, 0)).unwrap());
    }

    /// A row group that cannot be made fails the part with its error.
    #[test]
    fn a_failure_to_make_a_row_group_fails_the_part() {
        let make = |start: usize, _: usize| -> Result<DataFrame> {
            if start == 0 {
                Ok(frame(parquet_file::ROW_GROUP_ROWS).collect().unwrap())
            } else {
                Err(Error::Internal("scoring broke".into()))
            }
        };
        let cache = parquet_file::PageCache::default();
        let err = encode_made(0, 200_000, &make, &cache).unwrap_err();
        assert!(err.to_string().contains("scoring broke"), "{err}");
    }
}
