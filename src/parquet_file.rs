//! Encoding DataFrames as Parquet objects every BI reader accepts: no
//! unsigned integers, no nanosecond timestamps, plain UTF-8 strings, zstd,
//! row groups of about 128k rows.

use bytes::Bytes;
use polars::prelude::*;
use polars_arrow::array::{Array, Utf8ViewArray};
use polars_parquet::arrow::write::{
    array_to_columns, compress, fallible_streaming_iterator, get_dtype_encoding,
    schema_to_metadata_key, CompressedPage, CompressionOptions, DynIter, DynStreamingIterator,
    Encoding, FileWriter, KeyValue, ParquetType, Version, WriteOptions, ZstdLevel,
};
use rayon::prelude::*;
use std::sync::{Mutex, PoisonError};

use crate::error::{Error, Result};

/// Rows per row group in every Parquet object the job writes.
pub const ROW_GROUP_ROWS: usize = 128 * 1024;

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
                // An enum is written as a Parquet dictionary of its names.
                DataType::Categorical(_, _) => c.cast(DataType::String),
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

/// How each column is encoded: floats plain (a dictionary attempt costs
/// a cardinality estimate and a hash pass per row group, and zstd already
/// packs repeated values), the one-value-per-account strings plain,
/// everything else as polars would (a dictionary when it pays).
fn column_encoding(name: &str, dtype: &ArrowDataType) -> Encoding {
    match dtype {
        ArrowDataType::Float16 | ArrowDataType::Float32 | ArrowDataType::Float64 => Encoding::Plain,
        _ if DISTINCT_PER_ROW.contains(&name) => Encoding::Plain,
        _ => get_dtype_encoding(dtype)
            .into_iter()
            .next()
            .unwrap_or(Encoding::Plain),
    }
}

/// Columns that hold a different value on (nearly) every row.
const DISTINCT_PER_ROW: [&str; 2] = ["customer_id", "customer_name"];

/// The compression of every page: zstd at level 1.
fn compression() -> CompressionOptions {
    CompressionOptions::Zstd(Some(ZstdLevel::try_new(1).expect("1 is a zstd level")))
}

/// Encodes and compresses one column of one row group into its pages.
fn column_pages(
    array: &ArrayRef,
    type_: &ParquetType,
    encoding: Encoding,
    options: WriteOptions,
) -> PolarsResult<Vec<CompressedPage>> {
    let mut pages = Vec::new();
    for column in array_to_columns(array, type_.clone(), options, &[encoding])? {
        for page in column {
            pages.push(compress(page?, Vec::new(), options.compression)?);
        }
    }
    Ok(pages)
}

/// The encoded pages of one column of one row group.
type Pages = Arc<Vec<CompressedPage>>;

/// Pages of the one-value-per-account string columns already encoded, by
/// the identity of their Arrow data: the parts of the long metrics table
/// all hold the same customer_id column (the same buffers, row group for
/// row group), which is then encoded once per date instead of once per
/// metric. Each entry keeps its array alive, so its buffers' addresses
/// cannot be reused by other data while it is cached.
#[derive(Default)]
pub struct PageCache {
    entries: Mutex<Vec<(ArrayRef, Pages)>>,
}

impl PageCache {
    fn get(&self, array: &ArrayRef) -> Option<Pages> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries
            .iter()
            .find(|(a, _)| same_data(a.as_ref(), array.as_ref()))
            .map(|(_, pages)| pages.clone())
    }

    fn insert(&self, array: &ArrayRef, pages: Pages) {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((array.clone(), pages));
    }
}

/// Whether two string arrays are views of the very same memory (same
/// views, validity and data buffers): then they hold the same strings.
fn same_data(a: &dyn Array, b: &dyn Array) -> bool {
    let (Some(a), Some(b)) = (
        a.as_any().downcast_ref::<Utf8ViewArray>(),
        b.as_any().downcast_ref::<Utf8ViewArray>(),
    ) else {
        return false;
    };
    let same_validity = match (a.validity(), b.validity()) {
        (None, None) => true,
        (Some(x), Some(y)) => {
            x.as_slice() == y.as_slice() && std::ptr::eq(x.as_slice().0, y.as_slice().0)
        }
        _ => false,
    };
    a.len() == b.len()
        && std::ptr::eq(a.views().as_ptr(), b.views().as_ptr())
        && same_validity
        && a.data_buffers().len() == b.data_buffers().len()
        && a.data_buffers()
            .iter()
            .zip(b.data_buffers().iter())
            .all(|(x, y)| std::ptr::eq(x.as_ptr(), y.as_ptr()) && x.len() == y.len())
}

/// Encodes `df` as one Parquet object in memory, the columns of each row
/// group on the machine's cores.
pub fn encode(df: DataFrame) -> Result<Bytes> {
    encode_with(df, &PageCache::default())
}

/// [`encode`], reusing the pages of `cache` for a one-value-per-account
/// column whose data was encoded before (and adding those it encodes).
pub fn encode_with(df: DataFrame, cache: &PageCache) -> Result<Bytes> {
    let df = reader_friendly(df)?;
    encode_frame(&df, cache).map_err(|e| Error::polars("encoding Parquet", e))
}

fn encode_frame(df: &DataFrame, cache: &PageCache) -> PolarsResult<Bytes> {
    let schema = df.schema().to_arrow(CompatLevel::newest());
    let encodings: Vec<Encoding> = schema
        .iter_values()
        .map(|f| column_encoding(f.name.as_str(), &f.dtype))
        .collect();
    let options = WriteOptions {
        statistics: StatisticsOptions::default(),
        compression: compression(),
        version: Version::V1,
        data_page_size: None,
    };
    let metadata = plain_arrow_schema(df);
    let names: Vec<PlSmallStr> = schema.iter_names().cloned().collect();
    let mut writer = FileWriter::try_new(Vec::<u8>::new(), schema, options)?;
    let fields = writer.parquet_schema().fields().to_vec();
    let n = df.height();
    for start in (0..n).step_by(ROW_GROUP_ROWS) {
        let rows = ROW_GROUP_ROWS.min(n - start);
        let mut group = df.slice(start as i64, rows);
        group.rechunk_mut_par();
        let Some(batch) = group.iter_chunks(CompatLevel::newest(), false).next() else {
            continue;
        };
        let columns: Vec<Pages> = batch
            .columns()
            .par_iter()
            .zip(fields.par_iter())
            .zip(encodings.par_iter())
            .zip(names.par_iter())
            .map(|(((array, type_), encoding), name)| {
                let per_account = DISTINCT_PER_ROW.contains(&name.as_str());
                if let Some(pages) = per_account.then(|| cache.get(array)).flatten() {
                    return Ok(pages);
                }
                let pages = Arc::new(column_pages(array, type_, *encoding, options)?);
                if per_account {
                    cache.insert(array, pages.clone());
                }
                Ok(pages)
            })
            .collect::<PolarsResult<_>>()?;
        let row_group = DynIter::new(columns.iter().map(|pages| {
            Ok(DynStreamingIterator::new(
                fallible_streaming_iterator::convert(pages.iter().map(PolarsResult::Ok)),
            ))
        }));
        writer.write(rows as u64, row_group)?;
    }
    writer.end(Some(vec![metadata]))?;
    Ok(Bytes::from(writer.into_inner()))
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use polars_parquet::parquet::compression::Compression;
    use polars_parquet::parquet::metadata::ColumnChunkMetadata;
    use polars_parquet::read::_read_metadata;

    use super::*;

    /// The writer's layout: every column zstd, floats and customer ids
    /// plain (no dictionary page), few-valued strings and enums as
    /// dictionaries, row groups of [`ROW_GROUP_ROWS`]; readers see strings.
    #[test]
    fn floats_and_ids_plain_few_valued_text_as_dictionaries_all_zstd() {
        let n = ROW_GROUP_ROWS + 10;
        let bands = ["Healthy", "At-Risk", "Critical"];
        let enum_type = DataType::from_frozen_categories(
            FrozenCategories::new(["enterprise", "standard"]).expect("distinct"),
        );
        let df = df![
            "customer_id" => (0..n).map(|i| format!("C{i:07}")).collect::<Vec<_>>(),
            "band" => (0..n).map(|i| bands[i % 3]).collect::<Vec<_>>(),
            "points" => (0..n).map(|i| (i % 5) as f64 * 25.0).collect::<Vec<_>>(),
            "score" => (0..n).map(|i| (i % 101) as i32).collect::<Vec<_>>(),
        ]
        .expect("frame")
        .lazy()
        .with_column(
            when(col("score").gt(lit(50)))
                .then(lit("enterprise"))
                .otherwise(lit("standard"))
                .cast(enum_type)
                .alias("scorecard"),
        )
        .collect()
        .expect("frame");
        let bytes = encode(df).expect("encodes");
        let md = _read_metadata(&mut Cursor::new(bytes.to_vec())).expect("footer");
        assert_eq!(md.row_groups.len(), 2);
        assert_eq!(md.row_groups[0].num_rows(), ROW_GROUP_ROWS);
        let column = |name: &str| -> &ColumnChunkMetadata {
            md.row_groups[0]
                .columns_under_root_iter(name)
                .and_then(|mut c| c.next())
                .expect("column")
        };
        for (name, dictionary) in [
            ("customer_id", false),
            ("points", false),
            ("band", true),
            ("score", true),
            ("scorecard", true),
        ] {
            let c = column(name);
            assert_eq!(c.compression(), Compression::Zstd, "{name}");
            assert_eq!(c.dictionary_page_offset().is_some(), dictionary, "{name}");
        }
        let back = ParquetReader::new(Cursor::new(bytes.to_vec()))
            .finish()
            .expect("reads back");
        assert_eq!(back.column("scorecard").unwrap().dtype(), &DataType::String);
        assert_eq!(back.column("band").unwrap().dtype(), &DataType::String);
        let sc = back.column("scorecard").unwrap().str().unwrap().clone();
        // score = i % 101: rows 0..=50 standard, 51..=100 enterprise.
        assert_eq!(sc.get(50), Some("standard"));
        assert_eq!(sc.get(51), Some("enterprise"));
        assert_eq!(
            sc.get(n - 1),
            Some(["standard", "enterprise"][usize::from((n - 1) % 101 > 50)])
        );
    }

    /// Parts sharing one customer_id column reuse its pages and write the
    /// same bytes as without the cache; another column of the same length
    /// is not mistaken for it.
    #[test]
    fn shared_id_columns_are_encoded_once_and_others_are_not_confused() {
        let n = ROW_GROUP_ROWS + 5;
        let ids = Column::new(
            "customer_id".into(),
            (0..n).map(|i| format!("C{i:07}")).collect::<Vec<_>>(),
        );
        let other_ids = Column::new(
            "customer_id".into(),
            (0..n).map(|i| format!("X{i:07}")).collect::<Vec<_>>(),
        );
        let part = |ids: &Column, k: f64| {
            DataFrame::new_infer_height(vec![
                ids.clone(),
                Column::new(
                    "loss".into(),
                    (0..n).map(|i| i as f64 * k).collect::<Vec<_>>(),
                ),
            ])
            .expect("frame")
        };
        let frames = [part(&ids, 1.0), part(&ids, 2.0), part(&other_ids, 3.0)];
        let cache = PageCache::default();
        for df in &frames {
            let shared = encode_with(df.clone(), &cache).expect("encodes");
            let alone = encode(df.clone()).expect("encodes");
            assert_eq!(shared, alone);
        }
        // Two id columns of two row groups each: four entries, not six.
        assert_eq!(cache.entries.lock().unwrap().len(), 4);
        let back = ParquetReader::new(Cursor::new(
            encode_with(frames[2].clone(), &cache).unwrap().to_vec(),
        ))
        .finish()
        .unwrap();
        let col = back.column("customer_id").unwrap().str().unwrap().clone();
        assert_eq!(col.get(n - 1), Some(format!("X{:07}", n - 1).as_str()));
    }
}
