//! Encoding DataFrames as Parquet objects every BI reader accepts: no
//! unsigned integers, no nanosecond timestamps, plain UTF-8 strings, zstd,
//! row groups of about 128k rows.

use bytes::Bytes;
use polars::prelude::*;
use polars_parquet::arrow::write::{
    array_to_columns, compress, fallible_streaming_iterator, get_dtype_encoding,
    schema_to_metadata_key, CompressedPage, CompressionOptions, DynIter, DynStreamingIterator,
    Encoding, FileWriter, KeyValue, ParquetType, Version, WriteOptions, ZstdLevel,
};
use rayon::prelude::*;

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

/// Encodes `df` as one Parquet object in memory, the columns of each row
/// group on the machine's cores.
pub fn encode(df: DataFrame) -> Result<Bytes> {
    let df = reader_friendly(df)?;
    encode_frame(&df).map_err(|e| Error::polars("encoding Parquet", e))
}

fn encode_frame(df: &DataFrame) -> PolarsResult<Bytes> {
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
        let columns: Vec<Vec<CompressedPage>> = batch
            .columns()
            .par_iter()
            .zip(fields.par_iter())
            .zip(encodings.par_iter())
            .map(|((array, type_), encoding)| column_pages(array, type_, *encoding, options))
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
