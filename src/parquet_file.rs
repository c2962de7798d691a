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
}
