//! Every pipeline shipped in pipelines/ runs on sample_data/ and its output
//! passes the independent readers' check (tests/readers/check_output.py:
//! pyarrow and DuckDB read the Hive-partitioned folders, column order and
//! types, sorting, summary). The expected scores columns are computed here,
//! in SPEC §6 order, independently of the program.

use crate::common;
use common::*;
use std::path::{Path, PathBuf};

const SAMPLE_AS_OF: &str = "2026-11-24";

/// The default pipeline's 53 columns, spelled out from SPEC §5/§6.
const DEFAULT_COLUMNS: [&str; 53] = [
    // the 15 fixed columns
    "customer_id",
    "customer_name",
    "segment",
    "scorecard",
    "score",
    "score_raw",
    "band",
    "color",
    "completeness",
    "top_drivers",
    "playbook",
    "prev_score",
    "prev_band",
    "score_change",
    "trend",
    // the 7 group scores, in declared order
    "adoption_score",
    "sentiment_score",
    "churn_risk_score",
    "support_score",
    "onboarding_score",
    "engagement_score",
    "revenue_score",
    // the 4 helpers
    "logins_30d",
    "logins_prev_30d",
    "mrr_latest",
    "mrr_first",
    // the 13 scored metrics, each followed by its points
    "logins_per_seat_30d",
    "logins_per_seat_30d_points",
    "feature_breadth_30d",
    "feature_breadth_30d_points",
    "active_days_30d",
    "active_days_30d_points",
    "nps_180d",
    "nps_180d_points",
    "csat_180d",
    "csat_180d_points",
    "login_trend",
    "login_trend_points",
    "mrr_change_90d",
    "mrr_change_90d_points",
    "max_days_past_due_90d",
    "max_days_past_due_90d_points",
    "tickets_30d",
    "tickets_30d_points",
    "urgent_share_90d",
    "urgent_share_90d_points",
    "onboarding_pct",
    "onboarding_pct_points",
    "seat_utilization_30d",
    "seat_utilization_30d_points",
    "mrr_percentile",
    "mrr_percentile_points",
    "model_version",
];

/// SPEC §6 column order derived from the pipeline file: the 15 fixed
/// columns, `<group>_score` per group, every metric and, for scored ones
/// (those with a group), `<metric>_points`, model_version, pass-through.
fn columns_of(pipeline: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(pipeline).unwrap();
    let v: toml::Value = toml::from_str(&text).unwrap();
    let mut cols: Vec<String> = DEFAULT_COLUMNS[..15]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let arr = |k: &str| {
        v.get(k)
            .and_then(|a| a.as_array())
            .cloned()
            .unwrap_or_default()
    };
    for g in arr("groups") {
        cols.push(format!("{}_score", g["name"].as_str().unwrap()));
    }
    for m in arr("metrics") {
        let name = m["name"].as_str().unwrap();
        cols.push(name.to_string());
        if m.get("group").is_some() {
            cols.push(format!("{name}_points"));
        }
    }
    cols.push("model_version".into());
    if let Some(pt) = v
        .get("accounts")
        .and_then(|a| a.get("pass_through"))
        .and_then(|p| p.as_array())
    {
        cols.extend(pt.iter().map(|c| c.as_str().unwrap().to_string()));
    }
    cols
}

#[test]
fn default_columns_are_the_53_of_the_spec() {
    let derived = columns_of(&repo().join("pipelines/default.toml"));
    assert_eq!(derived, DEFAULT_COLUMNS.to_vec());
}

#[test]
fn every_shipped_pipeline_runs_on_sample_data_and_passes_the_readers() {
    let py = python();
    let mut pipelines: Vec<PathBuf> = std::fs::read_dir(repo().join("pipelines"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    pipelines.sort();
    assert!(
        pipelines.iter().any(|p| p.ends_with("default.toml")),
        "pipelines/default.toml must ship"
    );
    let sample = repo().join("sample_data");
    for p in &pipelines {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let r = healthscore(&[
            "run",
            "--pipeline",
            p.to_str().unwrap(),
            "--input",
            sample.to_str().unwrap(),
            "--output",
            out.to_str().unwrap(),
            "--as-of",
            SAMPLE_AS_OF,
        ]);
        assert_eq!(
            r.code,
            0,
            "{} on sample_data: stdout {}\nstderr {}",
            p.display(),
            r.stdout,
            r.stderr
        );
        let expected: Vec<String> = if p.ends_with("default.toml") {
            DEFAULT_COLUMNS.iter().map(|s| s.to_string()).collect()
        } else {
            columns_of(p)
        };
        let json = tmp.path().join("expected_columns.json");
        std::fs::write(&json, serde_json::to_vec(&expected).unwrap()).unwrap();
        let o = std::process::Command::new(&py)
            .arg(repo().join("tests/readers/check_output.py"))
            .arg(&out)
            .arg(&json)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}; run `make test`", py.display()));
        assert_eq!(
            o.status.code(),
            Some(0),
            "readers' check of {} failed:\n{}\n{}",
            p.display(),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        let df = read_parquet(&out.join(format!("scores/snapshot_date={SAMPLE_AS_OF}")));
        let names: Vec<String> = df
            .get_column_names()
            .iter()
            .map(|n| n.to_string())
            .collect();
        assert_eq!(names, expected, "{}", p.display());
        assert!(df.height() > 0, "{}: no rows", p.display());
    }
}
