//! Encoding DataFrames as Parquet objects every BI reader accepts: no
//! unsigned integers, no nanosecond timestamps, plain UTF-8 strings, zstd,
//! row groups of about 128k rows.

use bytes::Bytes;
use polars::prelude::*;
use polars_arrow::array::{Array, DictionaryArray, PrimitiveArray, Utf8ViewArray};
use polars_arrow::bitmap::Bitmap;
use polars_arrow::datatypes::IntegerType;
use polars_parquet::arrow::write::{
    array_to_columns, fallible_streaming_iterator, get_dtype_encoding, schema_to_metadata_key,
    CompressedPage, CompressionOptions, DynIter, DynStreamingIterator, Encoding, FileWriter,
    KeyValue, ParquetType, Version, WriteOptions,
};
use polars_parquet::parquet::compression::Compression;
use polars_parquet::parquet::page::{CompressedDataPage, CompressedDictPage, DataPageHeader, Page};
use polars_parquet::parquet::schema::types::PrimitiveType;
use polars_parquet::parquet::statistics::{ParquetStatistics, PrimitiveStatistics};
use polars_parquet::parquet::CowBuffer;
use rayon::prelude::*;
use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

use crate::error::{Error, Result};
use healthscore_kernel as hk;

/// Rows per row group in every Parquet object the job writes.
pub const ROW_GROUP_ROWS: usize = 128 * 1024;

/// Rows `start .. start + len` cut into (first row, rows) spans of at
/// most `size` rows, in order; one empty span when there are no rows (a
/// part or row group still gives the schema).
pub fn spans(start: usize, len: usize, size: usize) -> Vec<(usize, usize)> {
    if len == 0 {
        return vec![(start, 0)];
    }
    (start..start + len)
        .step_by(size)
        .map(|s| (s, size.min(start + len - s)))
        .collect()
}

/// Casts the columns whose types some readers reject to ones they all read.
pub fn reader_friendly(df: DataFrame) -> Result<DataFrame> {
    let exprs: Vec<Expr> = df
        .schema()
        .iter()
        .map(|(name, dt)| {
            let c = col(name.clone());
            match dt {
                DataType::UInt8 | DataType::UInt16 => c.cast(DataType::Int32),
                DataType::UInt32 | DataType::UInt64 => c.cast(DataType::Int64),
                // Categoricals and enums stay codes: written as a Parquet
                // dictionary of their names (see `few_valued_dictionary`).
                DataType::Datetime(TimeUnit::Nanoseconds, tz) => {
                    c.cast(DataType::Datetime(TimeUnit::Microseconds, tz.clone()))
                }
                _ => c,
            }
        })
        .collect();
    df.lazy()
        .select(exprs)
        .collect()
        .map_err(|e| Error::polars("preparing columns for Parquet", e))
}

/// The `ARROW:schema` footer entry with strings declared as plain `Utf8`
/// (polars would declare `Utf8View`, which older readers reject and pyarrow
/// reads as `string_view`). Only the readers' type hint changes: Parquet
/// stores strings as UTF-8 byte arrays either way.
fn plain_arrow_schema(df: &DataFrame) -> KeyValue {
    let schema: ArrowSchema = df
        .schema()
        .to_arrow(CompatLevel::oldest())
        .iter_values()
        .map(|f| {
            let mut f = f.clone();
            if matches!(
                f.dtype,
                ArrowDataType::LargeUtf8 | ArrowDataType::Utf8View | ArrowDataType::Dictionary(..)
            ) {
                f.dtype = ArrowDataType::Utf8;
                f.metadata = None;
            }
            (f.name.clone(), f)
        })
        .collect();
    schema_to_metadata_key(&schema)
}

/// How each column is encoded: a float64 column as a dictionary when a
/// row group holds at most [`FEW_FLOATS`] values (see
/// [`few_valued_dictionary`]), else plain; other floats plain; the
/// one-value-per-account strings plain; everything else as polars would
/// (a dictionary when it pays).
fn column_encoding(name: &str, dtype: &ArrowDataType) -> Encoding {
    match dtype {
        ArrowDataType::Float64 => Encoding::RleDictionary,
        ArrowDataType::Float16 | ArrowDataType::Float32 => Encoding::Plain,
        _ if DISTINCT_PER_ROW.contains(&name) => Encoding::Plain,
        _ => get_dtype_encoding(dtype)
            .into_iter()
            .next()
            .unwrap_or(Encoding::Plain),
    }
}

/// Columns that hold a different value on (nearly) every row.
const DISTINCT_PER_ROW: [&str; 2] = ["customer_id", "customer_name"];

/// The zstd level of every page.
const ZSTD_LEVEL: i32 = 1;

/// Encodes and compresses one column of one row group into its pages.
fn column_pages(
    array: &ArrayRef,
    type_: &ParquetType,
    encoding: Encoding,
    options: WriteOptions,
) -> PolarsResult<Vec<CompressedPage>> {
    let dictionary = match encoding {
        Encoding::RleDictionary => few_valued_dictionary(array.as_ref()),
        _ => None,
    };
    // A float column of many values is written plain (polars' own
    // dictionary attempt would hash every row again).
    let encoding = match (&dictionary, array.dtype()) {
        (None, ArrowDataType::Float64) => Encoding::Plain,
        _ => encoding,
    };
    let array = dictionary.as_ref().unwrap_or(array);
    // A plain float64 column's statistics come from the kernel (polars'
    // own minimum and maximum are a scalar loop with a branch per value).
    let floats = match (encoding, type_) {
        (Encoding::Plain, ParquetType::PrimitiveType(pt)) => array
            .as_any()
            .downcast_ref::<PrimitiveArray<f64>>()
            .map(|a| (a, pt)),
        _ => None,
    };
    let options = match floats {
        Some(_) => WriteOptions {
            statistics: NO_STATISTICS,
            ..options
        },
        None => options,
    };
    let mut pages = Vec::new();
    let mut first_row = 0;
    for column in array_to_columns(array, type_.clone(), options, &[encoding])? {
        for page in column {
            let page = page?;
            let statistics = match (floats, &page) {
                (Some((floats, pt)), Page::Data(data)) => {
                    let rows = data.num_values();
                    let s = float_statistics(&floats.clone().sliced(first_row, rows), pt);
                    first_row += rows;
                    Some(s)
                }
                _ => None,
            };
            pages.push(compress_page(page, statistics)?);
        }
    }
    Ok(pages)
}

/// Statistics options that make polars-parquet build none.
const NO_STATISTICS: StatisticsOptions = StatisticsOptions {
    min_value: false,
    max_value: false,
    distinct_count: false,
    null_count: false,
    binary_statistics_truncate_length: None,
};

/// A page's statistics of float64 values: what polars-parquet writes
/// (null count; least and greatest value, NaN when one is NaN, a zero
/// minimum as −0 and a zero maximum as +0, as the Parquet format asks).
fn float_statistics(floats: &PrimitiveArray<f64>, pt: &PrimitiveType) -> ParquetStatistics {
    let valid = floats.validity().map(crate::arrow_views::bits);
    let min_max = hk::min_max(floats.values().as_slice(), valid);
    PrimitiveStatistics::<f64> {
        primitive_type: pt.clone(),
        null_count: Some(floats.null_count() as i64),
        distinct_count: None,
        min_value: min_max.map(|(lo, _)| if lo == 0.0 { -0.0 } else { lo }),
        max_value: min_max.map(|(_, hi)| if hi == 0.0 { 0.0 } else { hi }),
    }
    .serialize()
}

/// Most distinct values a text column may take in a row group for
/// [`few_valued_dictionary`] to build its dictionary.
const FEW_VALUES: usize = 64;

/// Most distinct values a float64 column may take in a row group to be
/// written as a dictionary: counts, days, steps and percentages, whose
/// codes take a few bits a row where plain values take 64 and cost zstd
/// most of the time of a row group's pages.
const FEW_FLOATS: usize = 8192;

/// A text column of few distinct values (band, playbook, a scorecard, a
/// metric's name...) as a dictionary of the values used, in first-seen
/// order: what polars-parquet builds by hashing every row's string (the
/// same pages, byte for byte), here from each row's 16-byte view or
/// categorical code. None for other columns, or past [`FEW_VALUES`]
/// distinct values (polars-parquet then decides as before).
fn few_valued_dictionary(array: &dyn Array) -> Option<ArrayRef> {
    let any = array.as_any();
    if let Some(strings) = any.downcast_ref::<Utf8ViewArray>() {
        return dictionary_of_views(strings);
    }
    if let Some(floats) = any.downcast_ref::<PrimitiveArray<f64>>() {
        return dictionary_of_floats(floats);
    }
    used_names(array)
}

/// A categorical column's keys and names (polars' categoricals and enums
/// have u8, u16 or u32 keys); None for other columns.
fn categories(array: &dyn Array) -> Option<(hk::Keys<'_>, &dyn Array)> {
    let any = array.as_any();
    if let Some(a) = any.downcast_ref::<DictionaryArray<u8>>() {
        return Some((hk::Keys::U8(a.keys().values()), a.values().as_ref()));
    }
    if let Some(a) = any.downcast_ref::<DictionaryArray<u16>>() {
        return Some((hk::Keys::U16(a.keys().values()), a.values().as_ref()));
    }
    if let Some(a) = any.downcast_ref::<DictionaryArray<u32>>() {
        return Some((hk::Keys::U32(a.keys().values()), a.values().as_ref()));
    }
    None
}

/// The dictionary array of `seen`'s codes (rows of `validity`) into the
/// values `value(row)` of its first-seen rows.
fn dictionary_of<'a>(
    seen: hk::FirstSeen,
    validity: Option<&Bitmap>,
    value: impl Fn(usize) -> &'a str,
) -> ArrayRef {
    let values =
        Utf8ViewArray::from_slice_values(seen.rows.iter().map(|&r| value(r)).collect::<Vec<_>>());
    dictionary_array(seen.codes, validity, values.boxed())
}

/// [`few_valued_dictionary`] of a float64 column: its values in
/// first-seen order, told apart by their bits.
fn dictionary_of_floats(floats: &PrimitiveArray<f64>) -> Option<ArrayRef> {
    let valid = floats.validity().map(crate::arrow_views::bits);
    let seen = hk::few_valued_floats(floats.values().as_slice(), valid, FEW_FLOATS)?;
    let values: Vec<f64> = seen.rows.iter().map(|&r| floats.value(r)).collect();
    let values = PrimitiveArray::<f64>::from_vec(values);
    Some(dictionary_array(
        seen.codes,
        floats.validity(),
        values.boxed(),
    ))
}

/// The dictionary array of u32 `codes` (rows of `validity`) into `values`.
fn dictionary_array(codes: Vec<u32>, validity: Option<&Bitmap>, values: ArrayRef) -> ArrayRef {
    let keys = PrimitiveArray::<u32>::new(ArrowDataType::UInt32, codes.into(), validity.cloned());
    let dtype =
        ArrowDataType::Dictionary(IntegerType::UInt32, Box::new(values.dtype().clone()), false);
    // SAFETY: every code is below the number of values (the kernel numbers
    // the first-seen rows densely from 0).
    unsafe { DictionaryArray::try_new_unchecked(dtype, keys, values) }
        .expect("a dictionary with u32 keys")
        .boxed()
}

/// [`few_valued_dictionary`] of a string column.
fn dictionary_of_views(strings: &Utf8ViewArray) -> Option<ArrayRef> {
    let buffers = crate::arrow_views::data_buffers(strings);
    let column = hk::Strings::new(crate::arrow_views::views(strings), &buffers);
    let valid = strings.validity().map(crate::arrow_views::bits);
    let seen = hk::few_valued_strings(&column, valid, FEW_VALUES)?;
    Some(dictionary_of(seen, strings.validity(), |r| {
        strings.value(r)
    }))
}

/// [`few_valued_dictionary`] of a categorical column: the names its rows
/// use (its own dictionary holds every name of its type), renumbered in
/// first-seen order.
fn used_names(array: &dyn Array) -> Option<ArrayRef> {
    let (keys, names) = categories(array)?;
    let names = names.as_any().downcast_ref::<Utf8ViewArray>()?;
    if names.len() > FEW_VALUES || names.null_count() > 0 {
        return None;
    }
    let valid = array.validity().map(crate::arrow_views::bits);
    let seen = hk::first_seen_keys(keys, valid, names.len());
    // A valid row's key is a position in `names`.
    Some(dictionary_of(seen, array.validity(), |r| {
        names.value(keys.get(r))
    }))
}

thread_local! {
    /// This thread's zstd context and scratch buffer, reused page after
    /// page (polars-parquet's `compress` makes a context per page and
    /// zero-fills a worst-case buffer that the page then keeps).
    static ZSTD: RefCell<Option<(zstd::bulk::Compressor<'static>, Vec<u8>)>> =
        const { RefCell::new(None) };
}

/// Compresses `data` with zstd at [`ZSTD_LEVEL`] into a buffer of exactly
/// the compressed size (pages kept for a whole commit by [`PageCache`]
/// must not hold buffers sized for the uncompressed data: at 10M accounts
/// that was GiBs).
fn zstd_compress(data: &[u8]) -> PolarsResult<Vec<u8>> {
    let failed = |e: std::io::Error| polars_err!(ComputeError: "zstd compression failed: {e}");
    ZSTD.with_borrow_mut(|state| {
        if state.is_none() {
            *state = Some((
                zstd::bulk::Compressor::new(ZSTD_LEVEL).map_err(failed)?,
                Vec::new(),
            ));
        }
        let (ctx, scratch) = state.as_mut().expect("set above");
        scratch.clear();
        scratch.reserve(zstd::zstd_safe::compress_bound(data.len()));
        ctx.compress_to_buffer(data, scratch).map_err(failed)?;
        Ok(scratch.as_slice().to_vec())
    })
}

/// An encoded page, compressed (pages are V1: the whole buffer, levels
/// and values, is compressed), with `statistics` in its header when given.
fn compress_page(
    page: Page,
    statistics: Option<ParquetStatistics>,
) -> PolarsResult<CompressedPage> {
    Ok(match page {
        Page::Data(page) => {
            let buffer = zstd_compress(page.buffer())?;
            let mut header = page.header().clone();
            if let Some(statistics) = statistics {
                match &mut header {
                    DataPageHeader::V1(h) => h.statistics = Some(statistics),
                    DataPageHeader::V2(h) => h.statistics = Some(statistics),
                }
            }
            CompressedPage::Data(CompressedDataPage::new(
                header,
                CowBuffer::Owned(buffer),
                Compression::Zstd,
                page.buffer().len(),
                page.descriptor.clone(),
                page.num_rows.unwrap_or_default(),
            ))
        }
        Page::Dict(page) => CompressedPage::Dict(CompressedDictPage::new(
            CowBuffer::Owned(zstd_compress(&page.buffer)?),
            Compression::Zstd,
            page.buffer.len(),
            page.num_values,
            page.is_sorted,
        )),
    })
}

/// The encoded pages of one column of one row group.
type Pages = Arc<Vec<CompressedPage>>;

/// Pages of columns already encoded, by the identity of their Arrow data:
/// the parts of the long metrics table all hold the scores table's
/// customer_id column, and each its metric's raw and points columns (the
/// same buffers, row group for row group), which are then encoded once per
/// date. Each entry keeps its array alive, so its buffers' addresses
/// cannot be reused by other data while it is cached.
#[derive(Default)]
pub struct PageCache {
    entries: Mutex<Vec<(ArrayRef, Pages)>>,
    /// Whether float columns encoded now are kept (strings always are):
    /// only while encoding a table whose floats other tables repeat.
    keep_floats: AtomicBool,
}

impl PageCache {
    /// Keep (or stop keeping) the pages of the float columns encoded from
    /// now on; those already kept stay.
    pub fn keep_floats(&self, on: bool) {
        self.keep_floats.store(on, Ordering::Relaxed);
    }

    /// The pages of one column of one row group: the kept ones when the
    /// same data was encoded before, else `encode`'s (kept when it is a
    /// one-value-per-account column, or a float while floats are kept).
    fn pages(
        &self,
        array: &ArrayRef,
        name: &str,
        encode: impl FnOnce() -> PolarsResult<Vec<CompressedPage>>,
    ) -> PolarsResult<Pages> {
        // Kept until the end: one-value-per-account text and codes (the
        // long table's scorecard, model_version and group names).
        let kept = DISTINCT_PER_ROW.contains(&name) || is_dictionary(array.as_ref());
        let float = is_float(array.as_ref());
        if let Some(pages) = (kept || float).then(|| self.take(array)).flatten() {
            return Ok(pages);
        }
        let pages = Arc::new(encode()?);
        if kept || (float && self.keep_floats.load(Ordering::Relaxed)) {
            self.entries
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push((array.clone(), pages.clone()));
        }
        Ok(pages)
    }

    /// The pages kept for `array`'s data. A float column's pages are
    /// handed out once after the table that keeps them (each metric column
    /// is repeated by one long-table part), so they are released as soon
    /// as they are used; within that table (a metric that is another one's
    /// values, say) they stay. Kept buffers hold just the compressed bytes
    /// (see [`zstd_compress`]).
    fn take(&self, array: &ArrayRef) -> Option<Pages> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let i = entries
            .iter()
            .position(|(a, _)| same_data(a.as_ref(), array.as_ref()))?;
        if is_float(array.as_ref()) && !self.keep_floats.load(Ordering::Relaxed) {
            return Some(entries.swap_remove(i).1);
        }
        Some(entries[i].1.clone())
    }
}

fn is_float(array: &dyn Array) -> bool {
    matches!(array.dtype(), ArrowDataType::Float64)
}

fn is_dictionary(array: &dyn Array) -> bool {
    matches!(array.dtype(), ArrowDataType::Dictionary(..))
}

/// The keys of a categorical column, as the memory they are in (start,
/// length in bytes).
fn dictionary_keys(array: &dyn Array) -> Option<(*const u8, usize)> {
    Some(match categories(array)?.0 {
        hk::Keys::U8(k) => (k.as_ptr(), std::mem::size_of_val(k)),
        hk::Keys::U16(k) => (k.as_ptr().cast(), std::mem::size_of_val(k)),
        hk::Keys::U32(k) => (k.as_ptr().cast(), std::mem::size_of_val(k)),
    })
}

/// Whether two arrays are views of the very same memory (same values,
/// validity and data buffers): then they hold the same values. Strings,
/// floats and dictionaries (same type, same keys) only: the columns the
/// cache serves.
fn same_data(a: &dyn Array, b: &dyn Array) -> bool {
    if a.len() != b.len() || !same_validity(a.validity(), b.validity()) {
        return false;
    }
    if is_dictionary(a) || is_dictionary(b) {
        return a.dtype() == b.dtype()
            && dictionary_keys(a).is_some_and(|k| Some(k) == dictionary_keys(b));
    }
    if let (Some(a), Some(b)) = (
        a.as_any().downcast_ref::<Utf8ViewArray>(),
        b.as_any().downcast_ref::<Utf8ViewArray>(),
    ) {
        return std::ptr::eq(a.views().as_ptr(), b.views().as_ptr())
            && a.data_buffers().len() == b.data_buffers().len()
            && a.data_buffers()
                .iter()
                .zip(b.data_buffers().iter())
                .all(|(x, y)| std::ptr::eq(x.as_ptr(), y.as_ptr()) && x.len() == y.len());
    }
    if let (Some(a), Some(b)) = (
        a.as_any().downcast_ref::<PrimitiveArray<f64>>(),
        b.as_any().downcast_ref::<PrimitiveArray<f64>>(),
    ) {
        return std::ptr::eq(a.values().as_ptr(), b.values().as_ptr());
    }
    false
}

/// Both absent, or the same bits of the same memory.
fn same_validity(a: Option<&Bitmap>, b: Option<&Bitmap>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(x), Some(y)) => {
            let ((xb, xo, xl), (yb, yo, yl)) = (x.as_slice(), y.as_slice());
            std::ptr::eq(xb.as_ptr(), yb.as_ptr()) && xo == yo && xl == yl
        }
        _ => false,
    }
}

/// Encodes `df` as one Parquet object in memory, the columns of each row
/// group on the machine's cores.
pub fn encode(df: DataFrame) -> Result<Bytes> {
    encode_with(df, &PageCache::default())
}

/// [`encode`], reusing the pages of `cache` for a column whose data was
/// encoded before (see [`PageCache`]), and adding those it keeps.
pub fn encode_with(df: DataFrame, cache: &PageCache) -> Result<Bytes> {
    let df = reader_friendly(df)?;
    encode_frame(&df, cache).map_err(|e| Error::polars("encoding Parquet", e))
}

fn encode_frame(df: &DataFrame, cache: &PageCache) -> PolarsResult<Bytes> {
    let mut part = PartWriter::new(df)?;
    // Every row group's columns at once: a long-table part has one column
    // to compress per row group, so its row groups share the cores.
    let groups: Vec<(usize, Vec<Pages>)> = spans(0, df.height(), ROW_GROUP_ROWS)
        .into_par_iter()
        .map(|(start, len)| {
            let group = df.slice(start as i64, len);
            Ok((len, part.encode_group(&group, cache)?))
        })
        .collect::<PolarsResult<_>>()?;
    for (rows, columns) in groups {
        part.write_encoded(rows, &columns)?;
    }
    part.finish()
}

/// Encodes row groups (each at most [`ROW_GROUP_ROWS`] rows, all of one
/// schema, in order) as one Parquet object, taking each from `groups` only
/// when the one before is written: groups computed on the fly are encoded
/// as they come. Returns the object and its rows. At least one group
/// (maybe empty) gives the schema.
pub fn encode_groups(
    groups: impl Iterator<Item = Result<DataFrame>>,
    cache: &PageCache,
) -> Result<(Bytes, usize)> {
    let encoding = |e| Error::polars("encoding Parquet", e);
    let mut part: Option<PartWriter> = None;
    let mut rows = 0;
    for group in groups {
        let group = reader_friendly(group?)?;
        let writer = match &mut part {
            Some(writer) => writer,
            None => part.insert(PartWriter::new(&group).map_err(encoding)?),
        };
        writer.write_group(&group, cache).map_err(encoding)?;
        rows += group.height();
    }
    let part = part.ok_or_else(|| Error::Internal("a part with no row group".into()))?;
    Ok((part.finish().map_err(encoding)?, rows))
}

/// A Parquet object being written in memory, row group by row group, the
/// columns of each on the machine's cores.
struct PartWriter {
    writer: FileWriter<Vec<u8>>,
    fields: Vec<ParquetType>,
    encodings: Vec<Encoding>,
    names: Vec<PlSmallStr>,
    options: WriteOptions,
    metadata: KeyValue,
}

impl PartWriter {
    /// A writer for frames of `df`'s schema.
    fn new(df: &DataFrame) -> PolarsResult<Self> {
        let schema = df.schema().to_arrow(CompatLevel::newest());
        let encodings: Vec<Encoding> = schema
            .iter_values()
            .map(|f| column_encoding(f.name.as_str(), &f.dtype))
            .collect();
        let options = WriteOptions {
            statistics: StatisticsOptions::default(),
            // The writer only records it: pages come compressed.
            compression: CompressionOptions::Zstd(None),
            version: Version::V1,
            data_page_size: None,
        };
        let names: Vec<PlSmallStr> = schema.iter_names().cloned().collect();
        let writer = FileWriter::try_new(Vec::<u8>::new(), schema, options)?;
        let fields = writer.parquet_schema().fields().to_vec();
        Ok(PartWriter {
            writer,
            fields,
            encodings,
            names,
            options,
            metadata: plain_arrow_schema(df),
        })
    }

    /// Writes `group` (at most [`ROW_GROUP_ROWS`] rows; none: nothing) as
    /// the next row group.
    fn write_group(&mut self, group: &DataFrame, cache: &PageCache) -> PolarsResult<()> {
        let columns = self.encode_group(group, cache)?;
        self.write_encoded(group.height(), &columns)
    }

    /// The pages of each column of `group` (none without rows), the
    /// columns on the machine's cores.
    fn encode_group(&self, group: &DataFrame, cache: &PageCache) -> PolarsResult<Vec<Pages>> {
        if group.height() == 0 {
            return Ok(Vec::new());
        }
        let mut group = group.clone();
        group.rechunk_mut_par();
        let Some(batch) = group.iter_chunks(CompatLevel::newest(), false).next() else {
            return Ok(Vec::new());
        };
        let options = self.options;
        batch
            .columns()
            .par_iter()
            .zip(self.fields.par_iter())
            .zip(self.encodings.par_iter())
            .zip(self.names.par_iter())
            .map(|(((array, type_), encoding), name)| {
                cache.pages(array, name, || {
                    column_pages(array, type_, *encoding, options)
                })
            })
            .collect()
    }

    /// Writes the encoded columns of a row group of `rows` rows (none:
    /// nothing).
    fn write_encoded(&mut self, rows: usize, columns: &[Pages]) -> PolarsResult<()> {
        if rows == 0 {
            return Ok(());
        }
        let row_group = DynIter::new(columns.iter().map(|pages| {
            Ok(DynStreamingIterator::new(
                fallible_streaming_iterator::convert(pages.iter().map(PolarsResult::Ok)),
            ))
        }));
        self.writer.write(rows as u64, row_group)
    }

    /// The object's bytes, footer included.
    fn finish(mut self) -> PolarsResult<Bytes> {
        self.writer.end(Some(vec![self.metadata]))?;
        Ok(Bytes::from(self.writer.into_inner()))
    }
}

#[cfg(test)]
mod tests;
