//! Zero-copy views of polars columns as the slices the `healthscore-kernel`
//! crate takes (string views and buffers, validity bits, float values),
//! and the way back (a Float64 column from a kernel's values). A base
//! module: the aggregation, the scoring and the Parquet writer all read
//! columns through it, and it imports none of them.

use healthscore_kernel as hk;
use polars::prelude::*;
use polars_arrow::bitmap::Bitmap;

use crate::error::{pl, Result};

/// The context of this module's polars errors.
const INPUTS: &str = "aggregating inputs";

/// The Arrow array behind a polars String column (`Utf8ViewArray`).
pub type StrArray = <StringType as PolarsDataType>::Array;

/// A Float64 column of a kernel's `values`, null where `validity` says.
pub fn float_column(name: PlSmallStr, values: Vec<f64>, validity: Option<Bitmap>) -> Column {
    let array =
        polars_arrow::array::PrimitiveArray::new(ArrowDataType::Float64, values.into(), validity);
    Float64Chunked::with_chunk(name, array).into_column()
}

/// A Float64 column of `values` where NaN stands for null (the kernel's
/// outputs): null where NaN, with `values` kept as the buffer.
pub fn float_column_nan_as_null(name: PlSmallStr, mut values: Vec<f64>) -> PolarsResult<Column> {
    let rows = values.len();
    let validity = hk::nulls_from_nan(&mut values)
        .map(|(bytes, _)| Bitmap::try_new(bytes, rows))
        .transpose()?;
    Ok(float_column(name, values, validity))
}

/// Whether a String series without nulls is strictly ascending (sorted
/// and unique); None when it holds nulls.
pub fn strictly_ascending(s: &Series) -> Result<Option<bool>> {
    if s.null_count() > 0 {
        return Ok(None);
    }
    with_strings(s, hk::strictly_ascending).map(Some)
}

/// Calls `f` with the kernel's view of a String series' chunks.
pub fn with_strings<T>(s: &Series, f: impl FnOnce(&[hk::Strings<'_>]) -> T) -> Result<T> {
    let ca = s.str().map_err(pl(INPUTS))?;
    let buffers: Vec<Vec<&[u8]>> = ca.downcast_iter().map(data_buffers).collect();
    let chunks: Vec<hk::Strings<'_>> = ca
        .downcast_iter()
        .zip(&buffers)
        .map(|(arr, b)| hk::Strings::new(views(arr), b))
        .collect();
    Ok(f(&chunks))
}

/// The views of a string array as 16-byte arrays.
pub fn views(arr: &StrArray) -> &[[u8; 16]] {
    let v = arr.views();
    // SAFETY: `View` is `#[repr(C)]` of four `u32` (16 bytes, no padding,
    // every bit pattern valid), so its slice reads as `[u8; 16]`s, whose
    // alignment (1) is no stricter.
    unsafe { std::slice::from_raw_parts(v.as_ptr().cast::<[u8; 16]>(), v.len()) }
}

pub fn data_buffers(arr: &StrArray) -> Vec<&[u8]> {
    arr.data_buffers().iter().map(|b| b.as_slice()).collect()
}

/// The kernel's view of a bitmap.
pub fn bits(b: &Bitmap) -> hk::Bits<'_> {
    let (bytes, offset, _) = b.as_slice();
    hk::Bits::new(bytes, offset)
}

/// The one Arrow array of a rechunked column.
pub fn only_chunk<T: PolarsDataType>(ca: &ChunkedArray<T>) -> PolarsResult<&T::Array> {
    ca.downcast_iter()
        .next()
        .ok_or_else(|| polars_err!(ComputeError: "a rechunked column has no chunk"))
}
