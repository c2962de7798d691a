//! Trend (SPEC §4) and the commit protocol (SPEC §6), on a one-metric
//! pipeline whose score equals the account's onboarding percentage, so
//! every expected score is the input value itself.

use crate::common;
use common::*;
use polars::prelude::*;

/// [`pct_pipeline`] version 1 plus one `[[metrics]]` entry with `body`.
fn pct_pipeline_with_metric(body: &str) -> String {
    pct_pipeline("1").replace(
        "[[scorecards]]",
        &format!("[[metrics]]\n{body}\n\n[[scorecards]]"),
    )
}

struct Env {
    tmp: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("v1.toml"), pct_pipeline("1")).unwrap();
        std::fs::write(tmp.path().join("v2.toml"), pct_pipeline("2")).unwrap();
        Env { tmp }
    }
    fn input(&self) -> std::path::PathBuf {
        self.tmp.path().join("in")
    }
    fn out(&self) -> std::path::PathBuf {
        self.tmp.path().join("out")
    }
    fn run(&self, version: &str, as_of: &str) -> Out {
        self.run_with(&[], version, as_of, &[])
    }
    /// `healthscore [global…] run … [extra…]` with pipeline v<version>.
    fn run_with(&self, global: &[&str], version: &str, as_of: &str, extra: &[&str]) -> Out {
        let p = self.tmp.path().join(format!("v{version}.toml"));
        let input = self.input();
        let out = self.out();
        let mut args: Vec<&str> = global.to_vec();
        args.extend([
            "run",
            "--pipeline",
            p.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "--output",
            out.to_str().unwrap(),
            "--as-of",
            as_of,
        ]);
        args.extend(extra);
        healthscore(&args)
    }
    fn scores(&self, date: &str) -> DataFrame {
        read_parquet(&self.out().join(format!("scores/snapshot_date={date}")))
    }
}

#[test]
fn trend_new_up_down_flat_with_exact_thresholds() {
    let env = Env::new();
    write_pct_accounts(
        &env.input(),
        &[
            ("U", Some(50.0)),
            ("Dn", Some(50.0)),
            ("F", Some(50.0)),
            ("X", None),
            ("Y", Some(30.0)),
        ],
    );
    assert_eq!(env.run("1", "2026-11-20").code, 0);
    write_pct_accounts(
        &env.input(),
        &[
            ("U", Some(55.0)),
            ("Dn", Some(45.0)),
            ("F", Some(54.0)),
            ("X", Some(70.0)),
            ("Y", None),
            ("N", Some(10.0)),
        ],
    );
    let r = env.run("1", "2026-11-21");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let df = env.scores("2026-11-21");
    let t = |id: &str| s(&df, "trend", row_of(&df, id));
    let ch = |id: &str| f(&df, "score_change", row_of(&df, id));
    assert_eq!(t("U").as_deref(), Some("up"), "+5 exactly is up");
    assert_eq!(ch("U"), Some(5.0));
    assert_eq!(t("Dn").as_deref(), Some("down"), "−5 exactly is down");
    assert_eq!(ch("Dn"), Some(-5.0));
    assert_eq!(t("F").as_deref(), Some("flat"), "+4 is flat");
    assert_eq!(t("N").as_deref(), Some("new"));
    assert_eq!(f(&df, "prev_score", row_of(&df, "N")), None);
    // X was unscored before, Y is unscored now: flat, change null.
    assert_eq!(t("X").as_deref(), Some("flat"));
    assert_eq!(ch("X"), None);
    assert_eq!(t("Y").as_deref(), Some("flat"));
    assert_eq!(ch("Y"), None);
    assert_eq!(f(&df, "prev_score", row_of(&df, "Y")), Some(30.0));
    assert_eq!(
        s(&df, "prev_band", row_of(&df, "Y")).as_deref(),
        Some("Critical")
    );
    assert_eq!(
        s(&df, "band", row_of(&df, "Y")).as_deref(),
        Some("Unscored")
    );
    assert_eq!(s(&df, "color", row_of(&df, "Y")).as_deref(), Some("grey"));
    assert_eq!(f(&df, "completeness", row_of(&df, "Y")), Some(0.0));
    assert_eq!(s(&df, "top_drivers", row_of(&df, "Y")), None);
    assert_eq!(s(&df, "playbook", row_of(&df, "Y")), None);
}

#[test]
fn latest_committed_earlier_date_is_the_previous_snapshot() {
    let env = Env::new();
    write_pct_accounts(&env.input(), &[("A", Some(20.0))]);
    assert_eq!(env.run("1", "2026-11-18").code, 0);
    write_pct_accounts(&env.input(), &[("A", Some(40.0))]);
    assert_eq!(env.run("1", "2026-11-19").code, 0);
    // 11-19 loses its _SUCCESS: it is no longer a committed snapshot.
    std::fs::remove_file(env.out().join("scores/snapshot_date=2026-11-19/_SUCCESS")).unwrap();
    write_pct_accounts(&env.input(), &[("A", Some(90.0))]);
    assert_eq!(
        env.run("1", "2026-11-25").code,
        0,
        "a later date must not be used"
    );
    write_pct_accounts(&env.input(), &[("A", Some(30.0))]);
    assert_eq!(env.run("1", "2026-11-21").code, 0);
    let df = env.scores("2026-11-21");
    assert_eq!(
        f(&df, "prev_score", 0),
        Some(20.0),
        "11-18 is the latest committed date before 11-21"
    );
    assert_eq!(f(&df, "score_change", 0), Some(10.0));
    assert_eq!(s(&df, "trend", 0).as_deref(), Some("up"));
}

#[test]
fn new_model_version_is_rebased() {
    let env = Env::new();
    write_pct_accounts(&env.input(), &[("A", Some(20.0))]);
    assert_eq!(env.run("1", "2026-11-20").code, 0);
    write_pct_accounts(&env.input(), &[("A", Some(60.0))]);
    assert_eq!(env.run("2", "2026-11-21").code, 0);
    let df = env.scores("2026-11-21");
    assert_eq!(s(&df, "trend", 0).as_deref(), Some("rebased"));
    assert_eq!(f(&df, "score_change", 0), None);
    assert_eq!(f(&df, "prev_score", 0), Some(20.0));
    // 20 points is the first band, Critical (0-40).
    assert_eq!(s(&df, "prev_band", 0).as_deref(), Some("Critical"));
    assert_eq!(s(&df, "band", 0).as_deref(), Some("At-Risk"));
    assert_eq!(s(&df, "model_version", 0).as_deref(), Some("pct@2"));
}

#[test]
fn rerun_replaces_and_removes_stale_parts() {
    let env = Env::new();
    write_pct_accounts(&env.input(), &[("A", Some(20.0)), ("B", Some(70.0))]);
    assert_eq!(env.run("1", D).code, 0);
    let folder = env.out().join("scores/snapshot_date=2026-11-24");
    let first = std::fs::read(folder.join("part-00000.parquet")).unwrap();
    // A stale part from an earlier, larger run.
    std::fs::write(folder.join("part-00007.parquet"), b"stale").unwrap();
    assert_eq!(env.run("1", D).code, 0);
    let second = std::fs::read(folder.join("part-00000.parquet")).unwrap();
    assert_eq!(
        first, second,
        "a rerun of the same inputs is byte-identical"
    );
    assert!(
        !folder.join("part-00007.parquet").exists(),
        "stale part removed"
    );
    let mut names: Vec<String> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, vec!["_SUCCESS", "part-00000.parquet"]);
    assert!(!env.out().join("_LOCK").exists(), "the lease is released");
}

#[test]
fn manifest_records_run_and_counts() {
    let env = Env::new();
    write_pct_accounts(&env.input(), &[("A", Some(20.0)), ("B", Some(70.0))]);
    let r = env.run_with(&[], "1", D, &["--run-id", "nightly-42"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let m = read_manifest(&env.out(), D);
    assert_eq!(m["run_id"], "nightly-42");
    assert_eq!(m["as_of"], "2026-11-24");
    assert_eq!(m["pipeline"]["name"], "pct");
    assert_eq!(m["pipeline"]["version"], "1");
    // The SHA-256 of the pipeline file's bytes, computed here.
    let file = std::fs::read(env.tmp.path().join("v1.toml")).unwrap();
    let file_sha256 = {
        use sha2::Digest;
        format!("{:x}", sha2::Sha256::digest(&file))
    };
    assert_eq!(m["pipeline"]["sha256"], file_sha256.as_str());
    assert_eq!(m["tables"]["accounts"]["rows_read"], 2);
    let inputs = m["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 1, "one object read: accounts/part-0.parquet");
    assert_eq!(inputs[0]["rows"], 2);
    assert!(inputs[0]["path"]
        .as_str()
        .unwrap()
        .ends_with("accounts/part-0.parquet"));
    // The object's size on disk.
    let on_disk = std::fs::metadata(env.input().join("accounts/part-0.parquet"))
        .unwrap()
        .len();
    assert_eq!(inputs[0]["size"].as_u64(), Some(on_disk));
    assert_eq!(m["tables"]["accounts"]["rows_used"], 2);
    assert_eq!(m["accounts"]["by_band"]["Critical"], 1);
    assert_eq!(m["accounts"]["by_band"]["Healthy"], 1);
    // scores, summary and the long metrics table, one part each, each with
    // the SHA-256 of its bytes; scores_sha256 digests the scores parts.
    let outputs = m["outputs"].as_array().unwrap();
    let tables: Vec<&str> = outputs
        .iter()
        .map(|o| o["table"].as_str().unwrap())
        .collect();
    assert_eq!(tables, ["scores", "summary", "metrics", "changes"]);
    for o in outputs {
        let path = o["path"].as_str().unwrap();
        let bytes = std::fs::read(path).unwrap();
        use sha2::Digest;
        assert_eq!(
            o["sha256"],
            format!("{:x}", sha2::Sha256::digest(&bytes)),
            "{path}"
        );
        assert_eq!(o["bytes"], bytes.len());
    }
    let scores_digest = {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update(outputs[0]["sha256"].as_str().unwrap().as_bytes());
        h.update(b"\n");
        format!("{:x}", h.finalize())
    };
    assert_eq!(m["scores_sha256"], scores_digest);
    assert!(m["stages_ms"]["score"].is_number());
}

#[test]
fn a_lease_held_by_another_run_is_exit_1_and_an_expired_one_is_taken_over() {
    let env = Env::new();
    write_pct_accounts(&env.input(), &[("A", Some(20.0))]);
    std::fs::create_dir_all(env.out()).unwrap();
    let future = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    std::fs::write(
        env.out().join("_LOCK"),
        format!(r#"{{"run_id":"other","host":"h","expires":"{future}"}}"#),
    )
    .unwrap();
    let r = env.run("1", D);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("locked"), "{}", r.stderr);
    assert!(
        !env.out().join("scores").exists(),
        "nothing written while locked"
    );
    let past = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    std::fs::write(
        env.out().join("_LOCK"),
        format!(r#"{{"run_id":"other","host":"h","expires":"{past}"}}"#),
    )
    .unwrap();
    assert_eq!(env.run("1", D).code, 0, "an expired lease is taken over");
    assert!(!env.out().join("_LOCK").exists());
}

#[test]
fn summary_rows_and_shares() {
    let env = Env::new();
    write_pct_accounts(
        &env.input(),
        &[
            ("A", Some(20.0)),
            ("B", Some(70.0)),
            ("C", Some(90.0)),
            ("E", Some(64.0)),
            ("F", None),
        ],
    );
    assert_eq!(env.run("1", D).code, 0);
    let sm = read_parquet(&env.out().join("summary/snapshot_date=2026-11-24"));
    // Bands in declared order, Unscored last.
    let bands: Vec<Option<String>> = (0..sm.height()).map(|i| s(&sm, "band", i)).collect();
    assert_eq!(
        bands,
        vec![
            Some("Critical".into()),
            Some("Healthy".into()),
            Some("Thriving".into()),
            Some("Unscored".into())
        ]
    );
    let healthy = 1;
    assert_eq!(f(&sm, "accounts", healthy), Some(2.0));
    close(f(&sm, "mean_score", healthy), 67.0, "mean of 70 and 64");
    close(f(&sm, "share", healthy), 0.4, "2 of 5");
    assert_eq!(f(&sm, "mean_score", 3), None, "Unscored has no mean");
    let total: f64 = (0..sm.height()).map(|i| f(&sm, "share", i).unwrap()).sum();
    close(Some(total), 1.0, "shares sum to 1");
}

/// Summary rows come in the pipeline's order of scorecards (not their
/// names' order), then accounts that no scorecard took, and within each in
/// the order of bands, Unscored last; the manifest counts the same rows.
/// "small" (pct < 50) is declared before "big" (pct >= 50); F (no pct)
/// matches neither, so it has no scorecard and no score.
#[test]
fn summary_rows_follow_the_pipelines_scorecards_then_none() {
    let env = Env::new();
    let two = pct_pipeline("1").replace(
        "[[scorecards]]\nname = \"all\"\nweights = { onboarding = 1 }",
        "[[scorecards]]\nname = \"small\"\nwhen = \"onboarding_completion_pct < 50\"\nweights = { onboarding = 1 }\n\n[[scorecards]]\nname = \"big\"\nwhen = \"onboarding_completion_pct >= 50\"\nweights = { onboarding = 1 }",
    );
    assert!(two.contains("small"), "the pipeline was rewritten");
    std::fs::write(env.tmp.path().join("v1.toml"), two).unwrap();
    write_pct_accounts(
        &env.input(),
        &[
            ("A", Some(20.0)),
            ("B", Some(70.0)),
            ("C", Some(90.0)),
            ("F", None),
        ],
    );
    let r = env.run("1", D);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let sm = read_parquet(&env.out().join("summary/snapshot_date=2026-11-24"));
    let rows: Vec<(Option<String>, Option<String>, Option<f64>)> = (0..sm.height())
        .map(|i| {
            (
                s(&sm, "scorecard", i),
                s(&sm, "band", i),
                f(&sm, "accounts", i),
            )
        })
        .collect();
    let row =
        |sc: Option<&str>, band: &str| (sc.map(str::to_string), Some(band.to_string()), Some(1.0));
    assert_eq!(
        rows,
        vec![
            row(Some("small"), "Critical"),
            row(Some("big"), "Healthy"),
            row(Some("big"), "Thriving"),
            row(None, "Unscored"),
        ]
    );
    let m = read_manifest(&env.out(), D);
    assert_eq!(
        m["accounts"]["by_scorecard"],
        serde_json::json!({"small": 1, "big": 2, "null": 1})
    );
    assert_eq!(
        m["accounts"]["by_band"],
        serde_json::json!({"Critical": 1, "Healthy": 1, "Thriving": 1, "Unscored": 1})
    );
}

#[test]
fn wrong_command_line_is_64() {
    assert_eq!(healthscore(&["run", "--pipeline"]).code, 64);
    assert_eq!(healthscore(&["frobnicate"]).code, 64);
    let r = healthscore(&[
        "run",
        "--pipeline",
        "x",
        "--input",
        "y",
        "--output",
        "z",
        "--as-of",
        "2026-13-01",
    ]);
    assert_eq!(r.code, 64, "{}", r.stderr);
    assert_eq!(healthscore(&["--help"]).code, 0);
}

#[test]
fn json_log_lines_are_flat_objects_for_schedulers() {
    let env = Env::new();
    write_pct_accounts(&env.input(), &[("A", Some(20.0))]);
    let r = env.run_with(
        &["--log-format", "json", "--format", "json"],
        "1",
        D,
        &["--run-id", "r-7"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines: Vec<serde_json::Value> = r
        .stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
        .collect();
    let stages: Vec<&str> = lines.iter().filter_map(|l| l["stage"].as_str()).collect();
    assert!(
        stages.contains(&"score") && stages.contains(&"write"),
        "{stages:?}"
    );
    for l in &lines {
        assert_eq!(l["run_id"], "r-7");
        assert_eq!(l["as_of"], "2026-11-24");
        assert!(l["ts"].is_string() && l["level"].is_string());
    }
    let scored = lines.iter().find(|l| l["stage"] == "score").unwrap();
    assert_eq!(scored["rows"], 1);
    assert!(scored["duration_ms"].is_u64());
    // stdout: one JSON object with the status.
    let out: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(out["status"], "ok");
    assert_eq!(out["exit_code"], 0);
    assert_eq!(out["run_id"], "r-7");
}

#[test]
fn account_filter_is_counted_and_pass_through_columns_follow_model_version() {
    let tmp = tempfile::tempdir().unwrap();
    let text = pct_pipeline("1").replace(
        "[[groups]]",
        "[accounts]\nfilter = \"status != 'cancelled'\"\nextra_columns = [\"status\", \"csm_owner\"]\npass_through = [\"csm_owner\"]\n\n[[groups]]",
    );
    let p = tmp.path().join("p.toml");
    std::fs::write(&p, text).unwrap();
    let input = tmp.path().join("in");
    let df = DataFrame::new_infer_height(vec![
        Column::new("customer_id".into(), ["A", "B", "C"]),
        Column::new("name".into(), ["A", "B", "C"]),
        Column::new("segment".into(), ["smb", "smb", "smb"]),
        date_col("signup_date", &[Some(400), Some(400), Some(400)]),
        Column::new("onboarding_completion_pct".into(), [70.0f64, 80.0, 90.0]),
        Column::new("status".into(), [Some("active"), Some("cancelled"), None]),
        Column::new("csm_owner".into(), ["ann", "bob", "cy"]),
    ])
    .unwrap();
    write_parquet(&input, "accounts/part-0.parquet", df);
    let out = tmp.path().join("out");
    let r = healthscore(&[
        "run",
        "--pipeline",
        p.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
        "--as-of",
        D,
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let scores = read_parquet(&out.join("scores/snapshot_date=2026-11-24"));
    // B is cancelled; C's status is null, and a filter on null is false.
    assert_eq!(scores.height(), 1);
    assert_eq!(s(&scores, "customer_id", 0).as_deref(), Some("A"));
    let names: Vec<String> = scores
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    assert_eq!(
        &names[names.len() - 2..],
        &["model_version".to_string(), "csm_owner".to_string()]
    );
    assert_eq!(s(&scores, "csm_owner", 0).as_deref(), Some("ann"));
    let m = read_manifest(&out, D);
    assert_eq!(m["tables"]["accounts"]["excluded_by_filter"], 2);
    assert_eq!(m["tables"]["accounts"]["rows_used"], 1);
}

#[test]
fn a_jump_in_the_lowest_band_share_is_a_warning() {
    let env = Env::new();
    write_pct_accounts(
        &env.input(),
        &[
            ("A", Some(20.0)),
            ("B", Some(70.0)),
            ("C", Some(70.0)),
            ("E", Some(70.0)),
        ],
    );
    assert_eq!(env.run("1", "2026-11-20").code, 0);
    // Critical: 1 of 4 (25%) → 2 of 4 (50%): +25 points > the default 10.
    write_pct_accounts(
        &env.input(),
        &[
            ("A", Some(20.0)),
            ("B", Some(20.0)),
            ("C", Some(70.0)),
            ("E", Some(70.0)),
        ],
    );
    let r = env.run("1", "2026-11-21");
    assert_eq!(r.code, 0, "a warning does not fail the run: {}", r.stderr);
    assert!(
        r.stdout.contains(
            "warning: the share of Critical accounts moved +25.0 points since 2026-11-20"
        ),
        "{}",
        r.stdout
    );
    let m = read_manifest(&env.out(), "2026-11-21");
    assert_eq!(m["warnings"].as_array().unwrap().len(), 1);
    // A move of exactly 25 points under a threshold of 25 is not a warning.
    let relaxed = pct_pipeline("1").replace(
        "[sources.accounts]",
        "[settings]\nlowest_band_alert_points = 25\n\n[sources.accounts]",
    );
    std::fs::write(env.tmp.path().join("v1.toml"), relaxed).unwrap();
    let r = env.run("1", "2026-11-21");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stdout.contains("warning"), "{}", r.stdout);
}

#[test]
fn removed_columns_need_allow_schema_change_and_added_ones_are_reported() {
    let env = Env::new();
    write_pct_accounts(&env.input(), &[("A", Some(20.0))]);
    assert_eq!(env.run("1", "2026-11-20").code, 0);
    // v1 plus a helper metric: one column added.
    let added = pct_pipeline_with_metric("name = \"tenure\"\naccount = \"tenure_days\"");
    std::fs::write(env.tmp.path().join("v1.toml"), &added).unwrap();
    let r = env.run("1", "2026-11-21");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("scores columns added since 2026-11-20: tenure"),
        "{}",
        r.stdout
    );
    // Independent readers read both dates as one table with the flags the
    // README names: DuckDB union_by_name, pyarrow a unified schema.
    let script = r#"
import sys, glob, duckdb, pyarrow as pa, pyarrow.parquet as pq, pyarrow.dataset as ds
root = sys.argv[1] + "/scores"
rows = duckdb.sql(f"select snapshot_date::varchar, tenure from read_parquet('{root}/*/*.parquet', hive_partitioning = true, union_by_name = true) order by 1").fetchall()
# signup is 2026-11-24 − 400 days; as of 2026-11-21 that is 400 − 3 = 397 days
assert rows == [("2026-11-20", None), ("2026-11-21", 397.0)], rows
files = sorted(glob.glob(root + "/*/*.parquet"))
schema = pa.unify_schemas([pq.read_schema(f) for f in files])
t = ds.dataset(root, format="parquet", partitioning="hive", schema=schema.append(pa.field("snapshot_date", pa.string()))).to_table()
assert t.num_rows == 2 and "tenure" in t.column_names, t.schema
print("readers ok")
"#;
    run_python(script, &env.out());
    // Back to plain v1 on a later date: `tenure` disappears.
    std::fs::write(env.tmp.path().join("v1.toml"), pct_pipeline("1")).unwrap();
    let r = env.run("1", "2026-11-22");
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("removed [tenure]") && r.stderr.contains("--allow-schema-change"),
        "{}",
        r.stderr
    );
    assert!(
        !env.out().join("scores/snapshot_date=2026-11-22").exists(),
        "nothing written"
    );
    let r = env.run_with(&[], "1", "2026-11-22", &["--allow-schema-change"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(env
        .out()
        .join("scores/snapshot_date=2026-11-22/_SUCCESS")
        .exists());
}

#[test]
fn the_long_metrics_table_keeps_its_shape_when_a_scored_metric_is_added() {
    let env = Env::new();
    write_pct_accounts(&env.input(), &[("A", Some(20.0))]);
    assert_eq!(env.run("1", "2026-11-20").code, 0);
    // v1 plus a second scored metric in the same group.
    let more = pct_pipeline_with_metric(
        "name = \"tenure_days_held\"\ngroup = \"onboarding\"\naccount = \"tenure_days\"\nnormalize = { linear = [0, 1000] }",
    );
    std::fs::write(env.tmp.path().join("v1.toml"), &more).unwrap();
    let r = env.run("1", "2026-11-21");
    assert_eq!(r.code, 0, "{}", r.stderr);
    // The scores table grew two columns; the long table only rows. A plain
    // read of both dates (no union_by_name) works, with the values:
    // 2026-11-20: pct 20 → 20 points, loss (100 − 20) · 1/1 = 80.
    // 2026-11-21: tenure 400 − 3 = 397 days → 39.7 points; each metric
    // weighs 1/2 of the group: losses 80/2 = 40 and 60.3/2 = 30.15.
    let script = r#"
import sys, glob, duckdb, pyarrow.parquet as pq
root = sys.argv[1] + "/metrics"
files = sorted(glob.glob(root + "/*/*.parquet"))
assert len(files) == 2, files
assert pq.read_schema(files[0]).equals(pq.read_schema(files[1])), "one shape"
rows = duckdb.sql(f"select snapshot_date::varchar, customer_id, scorecard, \"group\", metric, raw, points, loss, model_version from read_parquet('{root}/*/*.parquet', hive_partitioning = true) order by 1, 5").fetchall()
want = [
    ("2026-11-20", "A", "all", "onboarding", "pct", 20.0, 20.0, 80.0, "pct@1"),
    ("2026-11-21", "A", "all", "onboarding", "pct", 20.0, 20.0, 40.0, "pct@1"),
    ("2026-11-21", "A", "all", "onboarding", "tenure_days_held", 397.0, 39.7, 30.15, "pct@1"),
]
assert len(rows) == len(want), rows
for got, exp in zip(rows, want):
    assert got[:5] == exp[:5] and got[8] == exp[8], (got, exp)
    for g, e in zip(got[5:8], exp[5:8]):
        assert abs(g - e) < 1e-9, (got, exp)
print("ok")
"#;
    run_python(script, &env.out());
}

#[test]
fn the_metrics_table_can_be_turned_off_and_a_rerun_leaves_no_stale_copy() {
    let env = Env::new();
    write_pct_accounts(&env.input(), &[("A", Some(20.0))]);
    assert_eq!(env.run("1", "2026-11-20").code, 0);
    let folder = env.out().join("metrics/snapshot_date=2026-11-20");
    assert!(folder.join("_SUCCESS").exists());
    // The same date again without the long table: its old copy goes.
    let off = pct_pipeline("1").replace(
        "[sources.accounts]",
        "[settings]\nmetrics_table = false\n\n[sources.accounts]",
    );
    std::fs::write(env.tmp.path().join("v1.toml"), off).unwrap();
    let r = env.run("1", "2026-11-20");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let left: Vec<_> = std::fs::read_dir(&folder)
        .map(|d| d.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "stale metrics objects: {left:?}");
    let m = read_manifest(&env.out(), "2026-11-20");
    let tables: Vec<&str> = m["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["table"].as_str().unwrap())
        .collect();
    assert_eq!(tables, ["scores", "summary", "changes"]);
    assert_eq!(env.scores("2026-11-20").height(), 1);
}

/// Scoring is computed a row group (131,072 rows) at a time while the one
/// before is written; a percentile rank still spans every account. With
/// n = 132,072 accounts whose value is their index i (distinct, one
/// scorecard), the rank of i is i + 1, so its points are
/// 100 × i / (n − 1) (SPEC §4): the first account of the second row
/// group (i = 131,072) has 100 × 131072 / 132071 = 99.2436…, score 99,
/// and the last one 100. The scores and long tables hold every row once,
/// in customer_id order, in row groups of 131,072 and 1,000 rows.
#[test]
fn percentile_ranks_span_the_row_groups_scored_one_at_a_time() {
    let env = Env::new();
    let ranked = pct_pipeline("1").replace(
        "normalize = { linear = [0, 100] }",
        "normalize = { percentile = \"higher_is_better\" }",
    );
    std::fs::write(env.tmp.path().join("v1.toml"), ranked).unwrap();
    let n = 132_072usize;
    let ids: Vec<String> = (0..n).map(|i| format!("C{i:06}")).collect();
    let rows: Vec<(&str, Option<f64>)> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), Some(i as f64)))
        .collect();
    write_pct_accounts(&env.input(), &rows);
    let r = env.run("1", "2026-11-20");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let scores = env.scores("2026-11-20");
    assert_eq!(scores.height(), n);
    for i in [0usize, 1, 131_071, 131_072, 131_073, n - 1] {
        assert_eq!(
            s(&scores, "customer_id", i).as_deref(),
            Some(ids[i].as_str())
        );
        let expected = 100.0 * i as f64 / (n - 1) as f64;
        close(
            f(&scores, "pct_points", i),
            expected,
            &format!("pct_points of {}", ids[i]),
        );
        close(
            f(&scores, "score_raw", i),
            expected,
            &format!("score_raw of {}", ids[i]),
        );
    }
    let score = |i: usize| scores.column("score").unwrap().i32().unwrap().get(i);
    assert_eq!(score(131_072), Some(99));
    assert_eq!(score(n - 1), Some(100));
    assert_eq!(score(0), Some(0));
    let part = env
        .out()
        .join("scores/snapshot_date=2026-11-20/part-00000.parquet");
    let md = polars_parquet::read::read_metadata(&mut std::fs::File::open(&part).unwrap()).unwrap();
    let groups: Vec<usize> = md.row_groups.iter().map(|g| g.num_rows()).collect();
    assert_eq!(groups, [131_072, 1_000]);
    // The long metrics table: one row per account, the same points.
    let long = read_parquet(&env.out().join("metrics/snapshot_date=2026-11-20"));
    assert_eq!(long.height(), n);
    assert_eq!(
        s(&long, "customer_id", n - 1).as_deref(),
        Some(ids[n - 1].as_str())
    );
    close(
        f(&long, "points", 131_072),
        100.0 * 131_072.0 / (n - 1) as f64,
        "long points",
    );
    close(f(&long, "raw", n - 1), (n - 1) as f64, "long raw");
}

/// No accounts: every table is still written, with its columns and no
/// rows (one part each), and committed.
#[test]
fn no_accounts_still_commit_empty_tables_with_their_columns() {
    let env = Env::new();
    write_pct_accounts(&env.input(), &[]);
    let r = env.run("1", D);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let scores = env.scores(D);
    assert_eq!(scores.height(), 0);
    assert_eq!(
        scores.column("score").map(|c| c.dtype().clone()).ok(),
        Some(DataType::Int32)
    );
    for table in ["summary", "metrics"] {
        let df = read_parquet(&env.out().join(format!("{table}/snapshot_date={D}")));
        assert_eq!(df.height(), 0, "{table}");
    }
    let m = read_manifest(&env.out(), D);
    assert_eq!(m["accounts"]["scored"], 0);
    let parts: Vec<&str> = m["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["table"].as_str().unwrap())
        .collect();
    assert_eq!(parts, ["scores", "summary", "metrics", "changes"]);
}
