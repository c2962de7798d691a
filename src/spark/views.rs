//! The views a Spark run registers before the compiled script (SPEC §10):
//! one per pipeline table, read from the input objects as the cluster
//! names them, with the pipeline's column mapping applied; and
//! `previous_scores`, the previous snapshot's scores.

use polars::prelude::{DataType, TimeUnit};

use crate::input::OpenTable;
use crate::pipeline::Pipeline;
use crate::sql::expr::{ident, string_lit};
use crate::sql::Dialect;
use crate::storage::Store;

const SPARK: Dialect = Dialect::Spark;

/// An object of `store` as the cluster names it: `file://` for a local
/// folder (a disk the cluster shares), `s3a://` for `s3://` (Hadoop's S3
/// connector), any other URL (gs://, abfss://) as it is.
pub fn cluster_url(store: &Store, rel: &str) -> String {
    if let Some(path) = store.local_path(rel) {
        return format!("file://{}", path.to_string_lossy());
    }
    let url = store.url_of(rel);
    match url.strip_prefix("s3://") {
        Some(rest) => format!("s3a://{rest}"),
        None => url,
    }
}

/// `rel` of an object URL of `store` (the manifest and the input tables
/// keep URLs).
fn rel_of<'a>(store: &Store, url: &'a str) -> &'a str {
    url.strip_prefix(store.url())
        .map(|r| r.trim_start_matches('/'))
        .unwrap_or(url)
}

/// A column read as the script expects it (SPEC §2 types): nanosecond
/// timestamps arrive as their integer (`nanosAsLong`) and become
/// microsecond timestamps, floored; UInt64 (read as DECIMAL(20,0))
/// becomes BIGINT; anything else is read as it is.
fn column_expr(physical: &str, dt: &DataType) -> String {
    let c = ident(SPARK, physical);
    match dt {
        DataType::Datetime(TimeUnit::Nanoseconds, _) => {
            format!("timestamp_micros(({c} - pmod({c}, 1000)) div 1000)")
        }
        DataType::UInt64 => format!("CAST({c} AS BIGINT)"),
        _ => c,
    }
}

/// The statements registering `table`'s view: a raw view per group of
/// objects read alike (the table's folder at once when every object has
/// the same types, else one view per object, its folder as the base of
/// Hive partitions), then the view named after the table, each raw view's
/// columns renamed to their canonical names, stacked.
fn table_view(p: &Pipeline, input: &Store, index: usize, t: &OpenTable) -> Vec<String> {
    let Some(source) = p.source(&t.table) else {
        return Vec::new();
    };
    let folder = source.path.trim_matches('/');
    let is_folder = !folder.ends_with(".parquet");
    let same_types = t.source_types.windows(2).all(|w| w[0] == w[1]);
    let mut reads: Vec<(String, &Vec<DataType>)> = Vec::new();
    if is_folder && same_types {
        reads.push((
            format!(
                "path {}, pathGlobFilter '*.parquet'",
                string_lit(SPARK, &cluster_url(input, folder))
            ),
            &t.source_types[0],
        ));
    } else {
        for (o, types) in t.objects.iter().zip(&t.source_types) {
            let mut options = format!(
                "path {}",
                string_lit(SPARK, &cluster_url(input, rel_of(input, &o.path)))
            );
            if is_folder {
                options.push_str(&format!(
                    ", basePath {}",
                    string_lit(SPARK, &cluster_url(input, folder))
                ));
            }
            reads.push((options, types));
        }
    }
    let mut statements = Vec::new();
    let mut selects = Vec::new();
    for (k, (options, types)) in reads.into_iter().enumerate() {
        let raw = format!("hs_src_{index}_{k}");
        statements.push(format!(
            "CREATE OR REPLACE TEMPORARY VIEW {raw} USING parquet OPTIONS ({options})"
        ));
        let columns: Vec<String> = t
            .columns
            .iter()
            .zip(types)
            .map(|((name, _), dt)| {
                format!(
                    "{} AS {}",
                    column_expr(source.physical(name), dt),
                    ident(SPARK, name)
                )
            })
            .collect();
        selects.push(format!("SELECT {} FROM {raw}", columns.join(", ")));
    }
    statements.push(format!(
        "CREATE OR REPLACE TEMPORARY VIEW {} AS\n{}",
        ident(SPARK, &t.table),
        selects.join("\nUNION ALL\n")
    ));
    statements
}

/// The statements registering every table's view.
pub fn input_views(p: &Pipeline, input: &Store, tables: &[OpenTable]) -> Vec<String> {
    tables
        .iter()
        .enumerate()
        .flat_map(|(i, t)| table_view(p, input, i, t))
        .collect()
}

/// The statement registering `previous_scores`: the committed scores
/// folder `folder` of the output (its parts), or no rows when there is no
/// previous snapshot.
pub fn previous_scores(output: &Store, folder: Option<&str>) -> String {
    match folder {
        Some(folder) => format!(
            "CREATE OR REPLACE TEMPORARY VIEW previous_scores USING parquet OPTIONS (path {}, pathGlobFilter '*.parquet')",
            string_lit(SPARK, &cluster_url(output, folder))
        ),
        None => "CREATE OR REPLACE TEMPORARY VIEW previous_scores AS SELECT CAST(NULL AS STRING) AS customer_id, CAST(NULL AS INT) AS score, CAST(NULL AS STRING) AS band, CAST(NULL AS STRING) AS model_version WHERE FALSE".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_read_as_the_script_expects() {
        assert_eq!(
            column_expr("ts", &DataType::Datetime(TimeUnit::Nanoseconds, None)),
            "timestamp_micros((`ts` - pmod(`ts`, 1000)) div 1000)"
        );
        assert_eq!(column_expr("n", &DataType::UInt64), "CAST(`n` AS BIGINT)");
        assert_eq!(column_expr("a`b", &DataType::String), "`a``b`");
    }

    #[test]
    fn the_cluster_names_s3_objects_with_hadoops_connector() {
        let s3 = Store::open("s3://bucket/exports", &[]).unwrap();
        assert_eq!(
            cluster_url(&s3, "usage/a.parquet"),
            "s3a://bucket/exports/usage/a.parquet"
        );
        let dir = std::env::temp_dir();
        let local = Store::open(dir.to_str().unwrap(), &[]).unwrap();
        assert_eq!(
            cluster_url(&local, "x/y.parquet"),
            format!("file://{}", dir.join("x/y.parquet").to_string_lossy())
        );
    }
}
