//! Encoding DataFrames as Parquet objects every BI reader accepts: no
//! unsigned integers, no nanosecond timestamps, plain UTF-8 strings, zstd,
//! row groups of about 128k rows.

use bytes::Bytes;
use polars::prelude::*;

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
                DataType::Categorical(_, _) | DataType::Enum(_, _) => c.cast(DataType::String),
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
fn plain_arrow_schema(df: &DataFrame) -> KeyValueMetadata {
    let schema: ArrowSchema = df
        .schema()
        .to_arrow(CompatLevel::oldest())
        .iter_values()
        .map(|f| {
            let mut f = f.clone();
            if matches!(f.dtype, ArrowDataType::LargeUtf8 | ArrowDataType::Utf8View) {
                f.dtype = ArrowDataType::Utf8;
            }
            (f.name.clone(), f)
        })
        .collect();
    let kv = polars_parquet::arrow::write::schema_to_metadata_key(&schema);
    KeyValueMetadata::from_static(vec![(kv.key, kv.value.unwrap_or_default())])
}

/// Encodes `df` as one Parquet object in memory.
pub fn encode(df: DataFrame) -> Result<Bytes> {
    let mut df = reader_friendly(df)?;
    let mut buf: Vec<u8> = Vec::new();
    let metadata = plain_arrow_schema(&df);
    ParquetWriter::new(&mut buf)
        .with_key_value_metadata(Some(metadata))
        .with_compression(ParquetCompression::Zstd(None))
        .with_row_group_size(Some(ROW_GROUP_ROWS))
        .with_statistics(StatisticsOptions::default())
        .finish(&mut df)
        .map_err(|e| Error::polars("encoding Parquet", e))?;
    Ok(Bytes::from(buf))
}
