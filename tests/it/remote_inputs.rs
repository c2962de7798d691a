//! Inputs read through an object store (fetched by the storage seam and
//! handed to polars as buffers) give the same snapshot as the same files on
//! disk, Hive-partitioned folders included (SPEC §2).

use crate::common;
use common::read_parquet;
use polars::prelude::*;

use healthscore::commands::generate::{self, GenerateOptions};
use healthscore::commands::run::{self, RunOptions};
use healthscore::pipeline::Pipeline;
use healthscore::storage::Store;

/// Rewrites `table/` as `table/<key>=<value>/part-0.parquet` folders, the
/// key column dropped from the files (it lives in the folder names only).
fn hive_partition(root: &std::path::Path, table: &str, key: &str) {
    let dir = root.join(table);
    let df = read_parquet(&dir);
    std::fs::remove_dir_all(&dir).unwrap();
    for part in df.partition_by_stable([key], true).unwrap() {
        let value = part.column(key).unwrap().get(0).unwrap().str_value();
        let mut rest = part.drop(key).unwrap();
        let folder = dir.join(format!("{key}={value}"));
        std::fs::create_dir_all(&folder).unwrap();
        let f = std::fs::File::create(folder.join("part-0.parquet")).unwrap();
        ParquetWriter::new(f).finish(&mut rest).unwrap();
    }
}

#[test]
fn hive_partitioned_inputs_read_the_same_from_a_store_as_from_disk() {
    let tmp = tempfile::tempdir().unwrap();
    let local_in = tmp.path().join("in");
    let as_of = chrono::NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
    generate::generate(
        &GenerateOptions {
            accounts: 80,
            seed: 9,
            as_of,
            usage_days: generate::USAGE_DAYS,
        },
        &Store::open(local_in.to_str().unwrap(), &[]).unwrap(),
    )
    .unwrap();
    // A string partition key and a date one.
    hive_partition(&local_in, "usage", "feature");
    hive_partition(&local_in, "revenue", "month");
    assert!(local_in.join("revenue/month=2026-11-01").is_dir());

    // The same objects in an in-memory store.
    let disk = Store::open(local_in.to_str().unwrap(), &[]).unwrap();
    let remote = Store::open("memory://remote-inputs/exports", &[]).unwrap();
    for o in disk.list("").unwrap() {
        remote.put(&o.rel, disk.get(&o.rel).unwrap()).unwrap();
    }

    let p = Pipeline::load(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("pipelines/default.toml")
            .to_str()
            .unwrap(),
    )
    .unwrap();
    let opts = RunOptions {
        run_id: "remote-inputs".into(),
        as_of,
        allow_schema_change: false,
    };
    let local_out = Store::open(tmp.path().join("out").to_str().unwrap(), &[]).unwrap();
    let remote_out = Store::open("memory://remote-inputs/snapshots", &[]).unwrap();
    let a = run::run(&p, &disk, &local_out, &opts).expect("run from disk");
    let b = run::run(&p, &remote, &remote_out, &opts).expect("run from the store");
    assert_eq!(a.manifest.tables, b.manifest.tables, "row accounting");
    assert!(a.scores.equals_missing(&b.scores), "scores differ");
    let parts = |s: &Store| -> Vec<(String, Vec<u8>)> {
        s.list("")
            .unwrap()
            .into_iter()
            .filter(|o| o.rel.ends_with(".parquet"))
            .map(|o| {
                let b = s.get(&o.rel).unwrap().to_vec();
                (o.rel, b)
            })
            .collect()
    };
    assert!(
        parts(&local_out) == parts(&remote_out),
        "written bytes differ"
    );
    // The input objects are named by their store URL in the manifest.
    assert!(b.manifest.inputs.iter().any(|o| o
        .object
        .path
        .starts_with("memory://remote-inputs/exports/usage/feature=")));
}
