//! SPEC §6 parts: a scores table of more than 1M rows is written as
//! several parts of at most 1M rows in customer_id order, and reading the
//! parts in name order gives every account once, sorted.

use polars::prelude::*;

use crate::common::*;

/// 1,200,001 accounts: ids `A0000000` … `A1200000`, written in reverse
/// order; onboarding_completion_pct = i mod 101, so score = i mod 101.
const N: usize = 1_200_001;

#[test]
fn more_than_a_million_accounts_are_written_as_ordered_parts() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    let ids: Vec<String> = (0..N).rev().map(|i| format!("A{i:07}")).collect();
    let pct: Vec<f64> = (0..N).rev().map(|i| (i % 101) as f64).collect();
    let accounts = DataFrame::new_infer_height(vec![
        Column::new("customer_id".into(), ids.clone()),
        Column::new("name".into(), ids),
        Column::new("segment".into(), vec!["smb"; N]),
        date_col("signup_date", &vec![Some(400); N]),
        Column::new("onboarding_completion_pct".into(), pct),
    ])
    .unwrap();
    write_parquet(&input, "accounts/part-0.parquet", accounts);
    let pipeline = tmp.path().join("pct.toml");
    std::fs::write(&pipeline, pct_pipeline("1")).unwrap();
    let out = tmp.path().join("out");
    let o = healthscore(&[
        "run",
        "--pipeline",
        pipeline.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
        "--as-of",
        D,
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);

    let folder = out.join(format!("scores/snapshot_date={D}"));
    let mut parts: Vec<String> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".parquet"))
        .collect();
    parts.sort();
    assert_eq!(parts, ["part-00000.parquet", "part-00001.parquet"]);

    let first = read_parquet(&folder.join(&parts[0]));
    let second = read_parquet(&folder.join(&parts[1]));
    assert_eq!(first.height(), 1_000_000);
    assert_eq!(second.height(), 200_001);
    // Part boundaries in customer_id order: the first part ends where the
    // second begins.
    assert_eq!(s(&first, "customer_id", 0).as_deref(), Some("A0000000"));
    assert_eq!(
        s(&first, "customer_id", 999_999).as_deref(),
        Some("A0999999")
    );
    assert_eq!(s(&second, "customer_id", 0).as_deref(), Some("A1000000"));
    assert_eq!(
        s(&second, "customer_id", 200_000).as_deref(),
        Some("A1200000")
    );
    // Every id once, ascending, across the parts read in order.
    let all = first.vstack(&second).unwrap();
    let ids = all.column("customer_id").unwrap().str().unwrap().clone();
    let expected: Vec<String> = (0..N).map(|i| format!("A{i:07}")).collect();
    assert!(
        ids.iter()
            .zip(&expected)
            .all(|(a, b)| a == Some(b.as_str())),
        "ids out of order or missing"
    );
    // score = pct (linear 0-100, one metric, one group).
    for i in [0usize, 100, 101, 999_999, 1_000_000, 1_200_000] {
        let score = all.column("score").unwrap().i32().unwrap().get(i);
        assert_eq!(score, Some((i % 101) as i32), "row {i}");
    }
    // The manifest lists both parts with their rows.
    let m = read_manifest(&out, D);
    let rows: Vec<i64> = m["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["table"] == "scores")
        .map(|o| o["rows"].as_i64().unwrap())
        .collect();
    assert_eq!(rows, [1_000_000, 200_001]);
}
