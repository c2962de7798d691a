//! A hostile night (issue 18; SPEC §2, §6, §7): what a killed writer, a
//! damaged previous snapshot, unknown options and ids with control
//! characters must never do — leave a folder readers choke on, give a
//! silent trend, be ignored, or write to the operator's terminal.

use std::path::{Path, PathBuf};

use crate::common::*;

/// D − 1 and D: two committed dates of the sample data.
const D0: &str = "2026-11-23";

struct Night {
    _tmp: tempfile::TempDir,
    out: PathBuf,
}

impl Night {
    fn new() -> Night {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        Night { _tmp: tmp, out }
    }
    fn run(&self, as_of: &str, extra: &[&str]) -> Out {
        let pipeline = repo().join("pipelines/default.toml");
        let input = repo().join("sample_data");
        let mut args = vec![
            "--format",
            "json",
            "run",
            "--pipeline",
            pipeline.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "--output",
            self.out.to_str().unwrap(),
            "--as-of",
            as_of,
        ];
        args.extend(extra);
        healthscore(&args)
    }
    fn folder(&self, table: &str, date: &str) -> PathBuf {
        self.out.join(format!("{table}/snapshot_date={date}"))
    }
    fn names(&self, table: &str, date: &str) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.folder(table, date))
            .map(|d| {
                d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }
}

fn json(o: &Out) -> serde_json::Value {
    serde_json::from_str(o.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {}", o.stdout))
}

/// The sample's accounts that are customers on `date` (SPEC §3).
fn customers_on(date: &str) -> usize {
    use polars::prelude::*;
    let d = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap();
    let day = (d - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()).num_days() as i32;
    let accounts = read_parquet(&repo().join("sample_data/accounts"));
    accounts
        .lazy()
        .filter(
            col("customer_id").is_not_null().and(
                col("signup_date")
                    .is_null()
                    .or(col("signup_date").cast(DataType::Int32).lt_eq(lit(day))),
            ),
        )
        .collect()
        .unwrap()
        .height()
}

#[test]
fn a_temporary_file_left_by_a_killed_write_is_swept_by_the_rerun_and_by_prune() {
    let n = Night::new();
    assert_eq!(n.run(D0, &[]).code, 0);
    assert_eq!(n.run(D, &[]).code, 0);
    // What a local store leaves when the writer is killed at the rename:
    // the complete part under its temporary name (`<name>#<n>`), which
    // pyarrow and Spark would read as a second part.
    let part = n.folder("scores", D).join("part-00000.parquet");
    std::fs::copy(&part, n.folder("scores", D).join("part-00000.parquet#1")).unwrap();
    std::fs::write(n.folder("metrics", D).join("part-00000.parquet#2"), b"half").unwrap();
    let o = n.run(D, &["--run-id", "rerun"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(n.names("scores", D), ["_SUCCESS", "part-00000.parquet"]);
    assert_eq!(n.names("metrics", D), ["_SUCCESS", "part-00000.parquet"]);
    // The README's reader: one row per account and date, no more (the
    // accounts of each date, SPEC §3: a customer_id, and signed up on or
    // before the date or with no signup date — counted here).
    let expected = customers_on(D0) + customers_on(D);
    run_python(
        &format!(
            "import sys, pyarrow.dataset as ds\n\
             t = ds.dataset(sys.argv[1] + '/scores', partitioning='hive').to_table()\n\
             assert t.num_rows == {expected}, t.num_rows\n"
        ),
        &n.out,
    );
    // prune deletes a date whose folder holds such a file, folder and all.
    std::fs::write(n.folder("scores", D0).join("part-00000.parquet#7"), b"x").unwrap();
    let o = healthscore(&[
        "prune",
        "--output",
        n.out.to_str().unwrap(),
        "--keep-days",
        "0",
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(!o.stderr.contains("Directory not empty"), "{}", o.stderr);
    assert!(
        !n.folder("scores", D0).exists(),
        "{:?}",
        n.names("scores", D0)
    );
}

/// Runs D on top of a committed D0 whose snapshot `damage` broke; asserts
/// exit 2 naming D0 and the remedy, and nothing committed for D.
fn refused_over_damage(damage: impl FnOnce(&Path), what: &str) {
    let n = Night::new();
    assert_eq!(n.run(D0, &[]).code, 0);
    damage(&n.folder("scores", D0));
    let o = n.run(D, &[]);
    assert_eq!(o.code, 2, "{what}: {}", o.stderr);
    let j = json(&o);
    assert_eq!(j["error"]["kind"], "damaged_snapshot", "{what}");
    assert_eq!(j["error"]["retryable"], false, "{what}");
    let message = j["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("snapshot of {D0}")),
        "{what}: {message}"
    );
    assert!(
        message.contains(&format!("healthscore run --as-of {D0}")),
        "{what}: {message}"
    );
    assert!(
        !n.folder("scores", D).join("_SUCCESS").exists(),
        "{what}: nothing committed"
    );
}

#[test]
fn a_damaged_previous_snapshot_stops_the_run_with_exit_2_and_the_remedy() {
    let success = |f: &Path| f.join("_SUCCESS");
    let part = |f: &Path| f.join("part-00000.parquet");
    refused_over_damage(
        |f| std::fs::write(success(f), b"{not json").unwrap(),
        "corrupt manifest",
    );
    refused_over_damage(
        |f| std::fs::write(success(f), b"").unwrap(),
        "empty manifest",
    );
    refused_over_damage(
        |f| std::fs::write(success(f), b"{}").unwrap(),
        "{} manifest",
    );
    refused_over_damage(|f| std::fs::remove_file(part(f)).unwrap(), "missing part");
    refused_over_damage(
        |f| {
            let bytes = std::fs::read(part(f)).unwrap();
            std::fs::write(part(f), &bytes[..bytes.len() / 2]).unwrap();
        },
        "truncated part",
    );
}

#[test]
fn a_part_swapped_for_another_dates_is_refused() {
    let n = Night::new();
    assert_eq!(n.run("2026-11-22", &[]).code, 0);
    assert_eq!(n.run(D0, &[]).code, 0);
    // A valid Parquet part, but not the one D0's manifest records.
    std::fs::copy(
        n.folder("scores", "2026-11-22").join("part-00000.parquet"),
        n.folder("scores", D0).join("part-00000.parquet"),
    )
    .unwrap();
    let o = n.run(D, &[]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert_eq!(json(&o)["error"]["kind"], "damaged_snapshot");
    assert!(o.stderr.contains("SHA-256"), "{}", o.stderr);
}

#[test]
fn unknown_storage_options_are_64_on_local_file_and_memory_urls() {
    let n = Night::new();
    let file_url = format!("file://{}", n.out.display());
    for url in [
        n.out.to_str().unwrap(),
        file_url.as_str(),
        "memory://night/out",
    ] {
        let o = healthscore(&[
            "run",
            "--pipeline",
            repo().join("pipelines/default.toml").to_str().unwrap(),
            "--input",
            repo().join("sample_data").to_str().unwrap(),
            "--output",
            url,
            "--output-option",
            "no_such_option=1",
            "--as-of",
            D,
        ]);
        assert_eq!(o.code, 64, "{url}: {}", o.stderr);
        assert!(
            o.stderr.contains("unknown storage option no_such_option"),
            "{}",
            o.stderr
        );
    }
    for url in [file_url.as_str(), "memory://night/in"] {
        let o = healthscore(&[
            "check",
            "--pipeline",
            repo().join("pipelines/default.toml").to_str().unwrap(),
            "--input",
            url,
            "--input-option",
            "colour=blue",
            "--as-of",
            D,
        ]);
        assert_eq!(o.code, 64, "{url}: {}", o.stderr);
        assert!(
            o.stderr.contains("unknown storage option colour"),
            "{}",
            o.stderr
        );
    }
}

#[test]
fn ids_and_run_ids_reach_the_terminal_with_control_characters_escaped() {
    // A duplicated customer_id that would clear the screen and forge a line.
    let tmp = tempfile::tempdir().unwrap();
    let evil = "C1\u{1b}[2J\nhealthscore: ok";
    write_pct_accounts(tmp.path(), &[(evil, Some(1.0)), (evil, Some(2.0))]);
    let pipeline = tmp.path().join("pct.toml");
    std::fs::write(&pipeline, pct_pipeline("1")).unwrap();
    let out = tmp.path().join("out");
    let o = run_pipeline(&pipeline, tmp.path(), &out, D, &[]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(
        !o.stderr.contains('\u{1b}'),
        "raw escape on stderr: {:?}",
        o.stderr
    );
    assert!(
        o.stderr.contains("C1\\u{1b}[2J\\nhealthscore: ok"),
        "{:?}",
        o.stderr
    );
    // One error line, and no forged one.
    let errors = o
        .stderr
        .lines()
        .filter(|l| l.starts_with("healthscore: error"))
        .count();
    assert_eq!(errors, 1, "{:?}", o.stderr);
    assert!(
        !o.stderr.lines().any(|l| l.starts_with("healthscore: ok")),
        "{:?}",
        o.stderr
    );

    // A lease whose run id carries the same.
    std::fs::create_dir_all(&out).unwrap();
    let lease = serde_json::json!({
        "run_id": "r\u{1b}[31m\nhealthscore: ok",
        "host": "h\u{7}",
        "expires": (chrono::Utc::now() + chrono::Duration::minutes(30)).to_rfc3339(),
    });
    std::fs::write(out.join("_LOCK"), lease.to_string()).unwrap();
    write_pct_accounts(tmp.path(), &[("A", Some(1.0))]);
    let o = run_pipeline(&pipeline, tmp.path(), &out, D, &[]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(
        !o.stderr.contains('\u{1b}') && !o.stderr.contains('\u{7}'),
        "{:?}",
        o.stderr
    );
    assert!(
        o.stderr.contains("--run-id r\\u{1b}[31m\\nhealthscore: ok"),
        "{:?}",
        o.stderr
    );
}

#[test]
fn a_run_id_must_be_printable_and_not_empty() {
    let n = Night::new();
    for bad in ["", "  ", "a\nb"] {
        let o = n.run(D, &["--run-id", bad]);
        assert_eq!(o.code, 64, "{bad:?}: {}", o.stderr);
        assert!(o.stderr.contains("--run-id"), "{}", o.stderr);
        assert!(!n.out.exists(), "nothing written for {bad:?}");
    }
}

/// Replaces `table` of the exports under `input` by one Parquet file of 0
/// rows with the same schema (a truncated export).
fn empty_table(input: &Path, table: &str) {
    let df = read_parquet(&input.join(table));
    std::fs::remove_dir_all(input.join(table)).unwrap();
    write_parquet(input, &format!("{table}/part-0.parquet"), df.head(Some(0)));
}

#[test]
fn empty_exports_after_a_full_snapshot_are_refused_by_max_rows_drop() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    copy_sample_data(&input);
    let out = tmp.path().join("out");
    let run = |as_of: &str| {
        healthscore(&[
            "--format",
            "json",
            "run",
            "--pipeline",
            repo().join("pipelines/default.toml").to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "--output",
            out.to_str().unwrap(),
            "--as-of",
            as_of,
        ])
    };
    assert_eq!(run(D0).code, 0);
    for t in ["revenue", "support_tickets", "survey_responses"] {
        empty_table(&input, t);
    }
    let o = run(D);
    assert_eq!(o.code, 2, "{}", o.stderr);
    let j = json(&o);
    assert_eq!(j["error"]["kind"], "guard");
    // The first table in name order that fell: revenue, 0 rows used against
    // the previous snapshot's, below 50 % (max_rows_drop 0.5).
    assert_eq!(j["error"]["table"], "revenue");
    let message = j["error"]["message"].as_str().unwrap();
    let before = read_manifest(&out, D0)["tables"]["revenue"]["rows_used"]
        .as_i64()
        .unwrap();
    assert!(before > 0);
    assert!(
        message.contains(&format!("table revenue: 0 rows used, below 50% of the {before} used by the previous snapshot ({D0})")),
        "{message}"
    );
    assert!(
        !out.join(format!("scores/snapshot_date={D}")).exists(),
        "nothing written"
    );

    // A first snapshot has nothing to compare with: the same exports pass.
    let fresh = tmp.path().join("fresh");
    let o = healthscore(&[
        "run",
        "--pipeline",
        repo().join("pipelines/default.toml").to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--output",
        fresh.to_str().unwrap(),
        "--as-of",
        D,
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
}

#[test]
fn a_damaged_previous_snapshot_on_s3_is_exit_2_too() {
    use crate::servers::*;
    let moto = moto();
    create_bucket(&moto, "night");
    let env = s3_env(&moto);
    let pipeline = repo().join("pipelines/default.toml");
    let input = repo().join("sample_data");
    let run = |as_of: &str| {
        healthscore_with(
            &[
                "--format",
                "json",
                "run",
                "--pipeline",
                pipeline.to_str().unwrap(),
                "--input",
                input.to_str().unwrap(),
                "--output",
                "s3://night/out",
                "--as-of",
                as_of,
            ],
            &env,
        )
    };
    assert_eq!(run(D0).code, 0);
    let store = healthscore::storage::Store::open("s3://night/out", &s3_options(&moto)).unwrap();
    let marker = format!("scores/snapshot_date={D0}/_SUCCESS");
    // A manifest that is JSON but not a manifest.
    store
        .put(&marker, bytes::Bytes::from_static(b"{}"))
        .unwrap();
    let o = run(D);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert_eq!(json(&o)["error"]["kind"], "damaged_snapshot");
    assert!(
        !store
            .list("")
            .unwrap()
            .iter()
            .any(|o| o.rel == format!("scores/snapshot_date={D}/_SUCCESS")),
        "nothing committed for D"
    );
}
