//! Opening the input tables: find each table's Parquet objects through the
//! storage seam, check every needed column exists with a type readable as
//! the contract's (SPEC §2), and expose each table as a lazy frame with
//! canonical names and canonical types: strings as String, integers as
//! Int64, numbers as Float64 (NaN and ±inf → null), dates as `Int32` UTC day numbers.

pub mod accounting;
pub mod overrides;
pub mod rules;

use polars::prelude::*;
use polars_arrow::array::PrimitiveArray;
use rayon::prelude::*;

use crate::contract::{self, Kind};
use crate::error::{Error, Result};
use crate::pipeline::{AccountValue, Pipeline, Source};
use crate::storage::{ObjectInfo, Store};

/// Name of the UTC day-number column added to every dated table.
pub const DAY: &str = "__day";

/// An input object read, as recorded in the manifest.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct InputObject {
    /// Object URL.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Rows in the object (from its footer).
    pub rows: Option<u64>,
    /// ETag where the store gives one.
    pub etag: Option<String>,
    /// Last modification time.
    pub last_modified: String,
}

/// One opened table: a lazy scan with canonical columns.
#[derive(Clone)]
pub struct OpenTable {
    /// Table name.
    pub table: String,
    /// Canonical columns, plus `__day` for dated tables.
    pub frame: LazyFrame,
    /// The objects it reads.
    pub objects: Vec<InputObject>,
    /// Canonical columns in contract (then first-use) order, with their kinds.
    pub columns: Vec<(String, Kind)>,
    /// Each object's URL with its own canonical scan, to name the object
    /// that cannot be decoded when reading the table fails.
    pub parts: Vec<(String, LazyFrame)>,
    /// Each object's types (from its footer) of the columns of
    /// [`OpenTable::columns`], in that order: how another engine reads
    /// them (the Spark input views).
    pub source_types: Vec<Vec<DataType>>,
}

/// The columns each table must provide for this pipeline, in contract order
/// for contract tables.
fn needed_columns(p: &Pipeline, s: &Source) -> Vec<(String, Option<Kind>, bool)> {
    let mut out: Vec<(String, Option<Kind>, bool)> = Vec::new();
    let mut push = |name: &str, kind: Option<Kind>, nullable: bool| {
        if !out.iter().any(|(n, _, _)| n == name) {
            out.push((name.to_string(), kind, nullable));
        }
    };
    if let Some(t) = contract::table(&s.table) {
        for c in t.columns {
            let optional_account =
                s.table == "accounts" && matches!(c.name, "seats" | "onboarding_completion_pct");
            if optional_account && !pipeline_reads_account_column(p, c.name) {
                continue;
            }
            push(c.name, Some(c.kind), c.nullable);
        }
    } else {
        push("customer_id", Some(Kind::Str), false);
        if let Some(d) = &s.date_column {
            push(d, Some(Kind::Date), false);
        }
    }
    if s.table == "accounts" {
        for c in &p.accounts.extra_columns {
            push(c, None, true);
        }
    } else {
        for m in &p.metrics {
            for (_, a) in m.def.aggregations() {
                if a.table != s.table {
                    continue;
                }
                if let Some(c) = &a.column {
                    push(c, None, true);
                }
                if let Some(f) = &a.filter {
                    for c in &f.columns {
                        push(c, None, true);
                    }
                }
            }
        }
    }
    out
}

fn pipeline_reads_account_column(p: &Pipeline, name: &str) -> bool {
    let in_metric = p.metrics.iter().any(|m| {
        m.def
            .account_values()
            .iter()
            .any(|v| **v == AccountValue::Column(name.to_string()))
    });
    let in_pred = p
        .scorecards
        .iter()
        .filter_map(|s| s.when.as_ref())
        .chain(p.accounts.filter.iter())
        .any(|pr| pr.columns.iter().any(|c| c == name));
    in_metric || in_pred || p.accounts.pass_through.iter().any(|c| c == name)
}

/// The Parquet objects of a table: one file, or every `.parquet` object in a
/// folder (Hive-partitioned folders included), skipping `_`/`.` files.
fn table_objects(input: &Store, s: &Source) -> Result<Vec<ObjectInfo>> {
    let path = s.path.trim_matches('/');
    if path.ends_with(".parquet") {
        // A single object: list its folder (a prefix listing of the file's
        // own path finds nothing on some stores).
        let parent = path.rsplit_once('/').map(|(p, _)| p).unwrap_or("");
        let all = input.list(parent)?;
        return Ok(all.into_iter().filter(|o| o.rel == path).collect());
    }
    let objects = input.list(path)?;
    Ok(objects
        .into_iter()
        .filter(|o| {
            let name = o.rel.rsplit('/').next().unwrap_or("");
            !name.starts_with('_') && !name.starts_with('.') && name.ends_with(".parquet")
        })
        .collect())
}

fn scan(input: &Store, objects: &[ObjectInfo]) -> Result<LazyFrame> {
    let args = ScanArgsParquet {
        hive_options: HiveOptions {
            enabled: Some(true),
            ..Default::default()
        },
        ..Default::default()
    };
    let sources = if input.local_path("").is_some() {
        let paths: Vec<PlRefPath> = objects
            .iter()
            .map(|o| {
                let p = input.local_path(&o.rel).expect("local store");
                PlRefPath::new(p.to_string_lossy().as_ref())
            })
            .collect();
        ScanSources::Paths(paths.into_iter().collect())
    } else {
        return crate::storage::scan_remote(input, objects);
    };
    LazyFrame::scan_parquet_sources(sources, args).map_err(|e| Error::Corrupt {
        url: input.url().to_string(),
        message: e.to_string(),
    })
}

fn kind_accepts(kind: Kind, dt: &DataType) -> bool {
    match kind {
        Kind::Str => matches!(
            dt,
            DataType::String | DataType::Categorical(_, _) | DataType::Enum(_, _)
        ),
        Kind::Int => dt.is_integer(),
        Kind::Float => dt.is_integer() || dt.is_float(),
        Kind::Date => matches!(dt, DataType::Date | DataType::Datetime(_, _)),
    }
}

/// Expression turning a Date or Timestamp column into its UTC day number.
fn day_number(c: Expr, dt: &DataType) -> Expr {
    match dt {
        DataType::Datetime(unit, _) => {
            let per_day: i64 = match unit {
                TimeUnit::Nanoseconds => 86_400_000_000_000,
                TimeUnit::Microseconds => 86_400_000_000,
                TimeUnit::Milliseconds => 86_400_000,
            };
            c.to_physical()
                .cast(DataType::Int64)
                .floor_div(lit(per_day))
                .cast(DataType::Int32)
        }
        _ => c.to_physical().cast(DataType::Int32),
    }
}

fn canonical_expr(name: &str, kind: Option<Kind>, dt: &DataType, physical: &str) -> (Expr, Kind) {
    let c = col(physical);
    let kind = kind.unwrap_or(if dt.is_integer() {
        Kind::Int
    } else if dt.is_float() {
        Kind::Float
    } else if matches!(dt, DataType::Date | DataType::Datetime(_, _)) {
        Kind::Date
    } else {
        Kind::Str
    });
    let e = match kind {
        Kind::Str => c.cast(DataType::String),
        Kind::Int => c.cast(DataType::Int64),
        // NaN and ±inf count as null (SPEC §2).
        Kind::Float => {
            let f = c.cast(DataType::Float64);
            when(f.clone().is_finite()).then(f).otherwise(lit(NULL))
        }
        Kind::Date => day_number(c, dt),
    };
    (e.alias(name), kind)
}

/// Opens every table the pipeline reads and checks its schema.
pub fn open_tables(p: &Pipeline, input: &Store) -> Result<Vec<OpenTable>> {
    let mut out = Vec::new();
    let mut any_object = false;
    let mut missing_tables = Vec::new();
    for s in &p.sources {
        let objects = table_objects(input, s)?;
        if objects.is_empty() {
            missing_tables.push(s);
            continue;
        }
        any_object = true;
        out.push(open_table(p, input, s, objects)?);
    }
    if let Some(s) = missing_tables.first() {
        if !any_object && input.list("")?.is_empty() {
            return Err(Error::Storage {
                operation: "list".into(),
                url: input.url().to_string(),
                message: "the input folder is missing or empty".into(),
            });
        }
        return Err(Error::Contract {
            table: s.table.clone(),
            column: None,
            file: Some(input.url_of(&s.path)),
            message: format!(
                "table {}: no Parquet file at {} (expected a .parquet file or a folder of them; set [sources.{}] path in the pipeline)",
                s.table,
                input.url_of(&s.path),
                s.table
            ),
        });
    }
    Ok(out)
}

/// One object of a table, scanned on its own.
struct Part {
    url: String,
    frame: LazyFrame,
    schema: SchemaRef,
}

/// The contract error for a column of one object: missing, or of a type
/// that cannot be read as the contract's. Names the table, the column, the
/// object and what was expected; never a value.
fn check_column(s: &Source, part: &Part, name: &str, kind: Option<Kind>) -> Result<DataType> {
    let physical = s.physical(name);
    let Some(dt) = part.schema.get(physical) else {
        let renamed = if physical != name {
            format!(" (renamed from canonical `{name}` in the pipeline)")
        } else {
            String::new()
        };
        return Err(Error::Contract {
            table: s.table.clone(),
            column: Some(name.to_string()),
            file: Some(part.url.clone()),
            message: format!(
                "table {}: column `{physical}`{renamed} is missing in {}; expected {} (found columns: {}). Map the warehouse's name with [sources.{}] columns = {{ {name} = \"...\" }}",
                s.table,
                part.url,
                kind.map(Kind::describe).unwrap_or("it"),
                part.schema.iter_names().map(|n| n.as_str()).collect::<Vec<_>>().join(", "),
                s.table
            ),
        });
    };
    if let Some(k) = kind {
        if !kind_accepts(k, dt) {
            return Err(Error::Contract {
                table: s.table.clone(),
                column: Some(name.to_string()),
                file: Some(part.url.clone()),
                message: format!(
                    "table {}: column `{physical}` has type {dt} in {}; expected {}",
                    s.table,
                    part.url,
                    k.describe()
                ),
            });
        }
    }
    Ok(dt.clone())
}

/// The canonical frame of a scan whose needed columns have types `types`.
fn canonical_frame(
    s: &Source,
    lf: LazyFrame,
    needed: &[(String, Option<Kind>, bool)],
    types: &[DataType],
) -> (LazyFrame, Vec<(String, Kind)>) {
    let mut exprs = Vec::new();
    let mut columns = Vec::new();
    for ((name, kind, _), dt) in needed.iter().zip(types) {
        let (e, k) = canonical_expr(name, *kind, dt, s.physical(name));
        exprs.push(e);
        columns.push((name.clone(), k));
    }
    let Some(d) = &s.date_column else {
        return (lf.select(exprs), columns);
    };
    let e = if s.table == "revenue" {
        // revenue.month is truncated to the first day of its month.
        col(d.as_str())
            .cast(DataType::Date)
            .to_physical()
            .cast(DataType::Int32)
            .map(month_start_days, |_, f| {
                Ok(Field::new(f.name().clone(), DataType::Int32))
            })
    } else {
        col(d.as_str())
    };
    let mut frame = lf.select(exprs).with_column(e.alias(DAY));
    if s.table == "revenue" {
        // The month column itself holds the truncated date too, so an
        // aggregation of `month` (max, count_distinct) sees months.
        frame = frame.with_column(col(DAY).alias(d.as_str()));
    }
    (frame, columns)
}

/// Day numbers (since 1970-01-01) moved to the first day of their month,
/// nulls kept: one pass of [`healthscore_kernel::first_of_month`] per
/// chunk (polars' day-of-month goes through a calendar conversion per row).
fn month_start_days(c: Column) -> PolarsResult<Column> {
    let ca = c.as_materialized_series().i32()?;
    let chunks: Vec<PrimitiveArray<i32>> = ca
        .downcast_iter()
        .map(|arr| {
            PrimitiveArray::new(
                ArrowDataType::Int32,
                healthscore_kernel::first_of_month(arr.values()).into(),
                arr.validity().cloned(),
            )
        })
        .collect();
    Ok(Int32Chunked::from_chunk_iter(ca.name().clone(), chunks).into_column())
}

fn open_table(
    p: &Pipeline,
    input: &Store,
    s: &Source,
    objects: Vec<ObjectInfo>,
) -> Result<OpenTable> {
    // Every object is checked on its own (its footer only), so the one file
    // of a multi-file table that breaks the contract is named, and files
    // whose accepted types differ (int32 here, int64 there) are read as one.
    let needed = needed_columns(p, s);
    // The objects' footers are read on the machine's cores; the first
    // object in order that fails is the one named.
    let opened: Vec<Result<(Part, Option<u64>)>> = objects
        .par_iter()
        .map(|o| {
            let url = input.url_of(&o.rel);
            let mut frame = scan(input, std::slice::from_ref(o)).map_err(|e| match e {
                Error::Corrupt { message, .. } => Error::Corrupt {
                    url: url.clone(),
                    message,
                },
                other => other,
            })?;
            let schema = frame.collect_schema().map_err(|e| Error::Corrupt {
                url: url.clone(),
                message: e.to_string(),
            })?;
            let rows = object_rows(&frame);
            Ok((Part { url, frame, schema }, rows))
        })
        .collect();
    let (parts, rows): (Vec<Part>, Vec<Option<u64>>) = opened
        .into_iter()
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .unzip();
    let mut types_per_part = Vec::with_capacity(parts.len());
    for part in &parts {
        let mut types = Vec::with_capacity(needed.len());
        for (name, kind, _) in &needed {
            types.push(check_column(s, part, name, *kind)?);
        }
        types_per_part.push(types);
    }
    let canonical_parts: Vec<(String, LazyFrame)> = parts
        .iter()
        .zip(&types_per_part)
        .map(|(part, types)| {
            let (f, _) = canonical_frame(s, part.frame.clone(), &needed, types);
            (part.url.clone(), f)
        })
        .collect();
    let same_types = types_per_part.windows(2).all(|w| w[0] == w[1]);
    let (frame, columns) = if same_types && input.local_path("").is_some() {
        // One multi-file scan: the plan the engine reads fastest.
        let lf = scan(input, &objects)?;
        canonical_frame(s, lf, &needed, &types_per_part[0])
    } else {
        // Each object cast to the canonical types, then stacked.
        let (_, columns) = canonical_frame(s, parts[0].frame.clone(), &needed, &types_per_part[0]);
        let frames: Vec<LazyFrame> = canonical_parts.iter().map(|(_, f)| f.clone()).collect();
        let frame = if frames.len() == 1 {
            frames.into_iter().next().expect("one part")
        } else {
            concat(frames, UnionArgs::default()).map_err(|e| Error::Corrupt {
                url: input.url_of(&s.path),
                message: e.to_string(),
            })?
        };
        (frame, columns)
    };
    Ok(OpenTable {
        table: s.table.clone(),
        frame,
        objects: objects
            .iter()
            .zip(rows)
            .map(|(o, rows)| to_input(input, o, rows))
            .collect(),
        columns,
        parts: canonical_parts,
        source_types: types_per_part,
    })
}

/// Reads every table's canonical frame into memory, once: a run over many
/// dates then aggregates each date from memory instead of reading every
/// input object again per date.
pub fn load_into_memory(tables: &mut [OpenTable]) -> Result<()> {
    let plans: Vec<_> = tables
        .iter()
        .map(|t| t.frame.clone().logical_plan)
        .collect();
    let frames = LazyFrame::collect_all_with_engine(plans, Engine::Streaming, OptFlags::default())
        .map_err(|e| {
            let refs: Vec<&OpenTable> = tables.iter().collect();
            unreadable_object(
                &refs,
                Error::Corrupt {
                    url: tables
                        .first()
                        .and_then(|t| t.objects.first())
                        .map(|o| o.path.clone())
                        .unwrap_or_default(),
                    message: e.to_string(),
                },
            )
        })?;
    for (t, df) in tables.iter_mut().zip(frames) {
        t.frame = df.lazy();
    }
    Ok(())
}

/// The error for a failed read of `tables`: when one object cannot be
/// decoded on its own, a corrupt-object error naming it (exit 1); else
/// `fallback`.
pub fn unreadable_object(tables: &[&OpenTable], fallback: Error) -> Error {
    for t in tables {
        for (url, frame) in &t.parts {
            if let Err(e) = frame.clone().collect() {
                return Error::Corrupt {
                    url: url.clone(),
                    message: e.to_string(),
                };
            }
        }
    }
    fallback
}

/// Rows of one Parquet object, read from its footer (no data pages).
fn object_rows(frame: &LazyFrame) -> Option<u64> {
    let df = frame.clone().select([len().alias("n")]).collect().ok()?;
    df.column("n").ok()?.get(0).ok()?.extract::<u64>()
}

fn to_input(input: &Store, o: &ObjectInfo, rows: Option<u64>) -> InputObject {
    InputObject {
        path: input.url_of(&o.rel),
        size: o.size,
        rows,
        etag: o.etag.clone(),
        last_modified: o.last_modified.clone(),
    }
}

/// Collects a plan on polars' streaming engine (lower peak memory than the
/// in-memory engine when reading a whole table).
pub fn collect_streaming(lf: LazyFrame) -> PolarsResult<DataFrame> {
    lf.collect_with_engine(Engine::Streaming)
        .map(|r| r.unwrap_single())
}

#[cfg(test)]
mod tests {
    use chrono::{Datelike, NaiveDate};

    use super::*;

    /// Every day from 1600 to 2400 (and a null) moves to the first of its
    /// month as chrono's calendar says, across chunks.
    #[test]
    fn month_start_days_agrees_with_the_calendar() {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("a date");
        let number = |d: NaiveDate| (d - epoch).num_days() as i32;
        let first = number(NaiveDate::from_ymd_opt(1600, 1, 1).expect("a date"));
        let last = number(NaiveDate::from_ymd_opt(2400, 12, 31).expect("a date"));
        let days: Vec<Option<i32>> = (first..=last).map(Some).chain([None]).collect();
        let (a, b) = days.split_at(days.len() / 2);
        let mut ca = Int32Chunked::from_iter_options("d".into(), a.iter().copied());
        ca.append(&Int32Chunked::from_iter_options(
            "d".into(),
            b.iter().copied(),
        ))
        .expect("same type");
        let out = month_start_days(ca.into_column()).expect("maps");
        let out: Vec<Option<i32>> = out.i32().expect("Int32").iter().collect();
        let expected: Vec<Option<i32>> = days
            .iter()
            .map(|d| {
                d.map(|d| {
                    let date = epoch + chrono::Duration::days(d as i64);
                    number(date.with_day(1).expect("day 1 exists"))
                })
            })
            .collect();
        assert_eq!(out, expected);
    }
}
