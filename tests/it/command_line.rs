//! SPEC §3 and §8 rules of the command line that hold for every command:
//! the default as-of date (yesterday in UTC), `{as_of}` in a single date's
//! input URL, and every flag readable as `HEALTHSCORE_<FLAG>`.

use std::path::Path;

use chrono::{Duration, Utc};

use crate::common::*;

fn pipeline() -> String {
    repo().join("pipelines/default.toml").display().to_string()
}

fn sample() -> String {
    repo().join("sample_data").display().to_string()
}

#[test]
fn without_as_of_the_date_is_yesterday_in_utc() {
    // `check` prints its date even when a guard refuses the inputs: the
    // sample data ends on 2026-11-24, so yesterday (later) fails the
    // freshness guard (exit 2) and the report names the date it checked.
    let before = Utc::now().date_naive() - Duration::days(1);
    let o = healthscore(&["check", "--pipeline", &pipeline(), "--input", &sample()]);
    let after = Utc::now().date_naive() - Duration::days(1);
    let named = [before, after]
        .iter()
        .any(|d| o.stdout.starts_with(&format!("check {d} with default@1")));
    assert!(named, "stdout: {}\nstderr: {}", o.stdout, o.stderr);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("max_lag_days"), "{}", o.stderr);
}

#[test]
fn a_single_date_reads_the_folder_named_by_as_of() {
    let tmp = tempfile::tempdir().unwrap();
    copy_sample_data(&tmp.path().join("exports/2026-11-24"));
    let input = format!("{}/exports/{{as_of}}", tmp.path().display());
    let out = tmp.path().join("out");
    let out = out.to_str().unwrap();

    let o = healthscore(&[
        "check",
        "--pipeline",
        &pipeline(),
        "--input",
        &input,
        "--as-of",
        D,
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let o = healthscore(&[
        "run",
        "--pipeline",
        &pipeline(),
        "--input",
        &input,
        "--output",
        out,
        "--as-of",
        D,
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let m = read_manifest(Path::new(out), D);
    let paths: Vec<&str> = m["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["path"].as_str().unwrap())
        .collect();
    assert!(!paths.is_empty());
    assert!(
        paths.iter().all(|p| p.contains("/exports/2026-11-24/")),
        "{paths:?}"
    );

    // Another date names another folder, which has not landed: exit 1
    // (a retry may find it), naming that date's folder; nothing written.
    let o = healthscore(&[
        "run",
        "--pipeline",
        &pipeline(),
        "--input",
        &input,
        "--output",
        out,
        "--as-of",
        "2026-11-23",
    ]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(
        o.stderr
            .contains("exports/2026-11-23: the input folder is missing or empty"),
        "{}",
        o.stderr
    );
    assert!(!Path::new(out)
        .join("scores/snapshot_date=2026-11-23")
        .exists());
}

#[test]
fn every_flag_of_run_check_and_explain_is_read_from_the_environment() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out").display().to_string();
    let env = [
        ("HEALTHSCORE_PIPELINE", pipeline()),
        ("HEALTHSCORE_INPUT", sample()),
        ("HEALTHSCORE_OUTPUT", out.clone()),
        ("HEALTHSCORE_AS_OF", D.to_string()),
        ("HEALTHSCORE_RUN_ID", "from-the-environment".to_string()),
        ("HEALTHSCORE_FORMAT", "json".to_string()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();

    let o = healthscore_env(&["check"], &env);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let j: serde_json::Value = serde_json::from_str(o.stdout.trim()).unwrap();
    assert_eq!(j["as_of"], D);
    assert_eq!(j["status"], "ok");

    let o = healthscore_env(&["run"], &env);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let j: serde_json::Value = serde_json::from_str(o.stdout.trim()).unwrap();
    assert_eq!(j["run_id"], "from-the-environment");
    let m = read_manifest(Path::new(&out), D);
    assert_eq!(m["run_id"], "from-the-environment");
    assert_eq!(m["as_of"], D);

    let mut env = env.clone();
    env.push(("HEALTHSCORE_CUSTOMER", "C0000042"));
    let o = healthscore_env(&["explain"], &env);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let j: serde_json::Value = serde_json::from_str(o.stdout.trim()).unwrap();
    assert_eq!(j["customer_id"], "C0000042");
    assert_eq!(j["snapshot_date"], D);
}
