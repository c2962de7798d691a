//! Retention (`healthscore prune`): on a local output made by running the
//! real binary on a one-metric pipeline for several dates — keep-days,
//! month ends, dry run, the latest committed date never deleted, partial
//! dates removed, and a failure injected at every delete leaving no date
//! that has `_SUCCESS` but misses parts.

use crate::common;
use crate::hooked_store;
use common::*;

use std::collections::BTreeMap;
use std::path::{Path as FsPath, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use hooked_store::{HookedStore, Hooks};
use object_store::path::Path;

use healthscore::commands::prune::{self, PruneOptions};
use healthscore::storage::Store;

struct Env {
    tmp: tempfile::TempDir,
}

impl Env {
    /// An output with one committed snapshot per date of `dates`.
    fn with_dates(dates: &[&str]) -> Env {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("p.toml"), pct_pipeline("1")).unwrap();
        write_pct_accounts(
            &tmp.path().join("in"),
            &[("a", Some(10.0)), ("b", Some(50.0)), ("c", Some(90.0))],
        );
        let env = Env { tmp };
        for d in dates {
            let r = env.run(d);
            assert_eq!(r.code, 0, "run {d}: {}", r.stderr);
        }
        env
    }
    fn out(&self) -> PathBuf {
        self.tmp.path().join("out")
    }
    fn run(&self, as_of: &str) -> Out {
        healthscore(&[
            "run",
            "--pipeline",
            self.tmp.path().join("p.toml").to_str().unwrap(),
            "--input",
            self.tmp.path().join("in").to_str().unwrap(),
            "--output",
            self.out().to_str().unwrap(),
            "--as-of",
            as_of,
        ])
    }
    fn prune(&self, extra: &[&str]) -> (Out, serde_json::Value) {
        let out = self.out();
        let mut args = vec![
            "prune",
            "--format",
            "json",
            "--output",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let o = healthscore(&args);
        let j: serde_json::Value = serde_json::from_str(o.stdout.trim())
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", o.stdout));
        (o, j)
    }
    /// Date folders present under `table`.
    fn dates(&self, table: &str) -> Vec<String> {
        let dir = self.out().join(table);
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .map(|rd| {
                rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .filter_map(|n| n.strip_prefix("snapshot_date=").map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }
    fn committed(&self) -> Vec<String> {
        self.dates("scores")
            .into_iter()
            .filter(|d| self.success("scores", d).exists())
            .collect()
    }
    fn success(&self, table: &str, d: &str) -> PathBuf {
        self.out()
            .join(format!("{table}/snapshot_date={d}/_SUCCESS"))
    }
}

/// Every file under `dir` (relative path → bytes).
fn files(dir: &FsPath) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &FsPath, dir: &FsPath, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn deleted_dates(j: &serde_json::Value) -> Vec<String> {
    j["deleted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["date"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn keep_days_deletes_older_dates_and_both_tables() {
    let env = Env::with_dates(&[
        "2026-11-01",
        "2026-11-03",
        "2026-11-05",
        "2026-11-07",
        "2026-11-09",
        "2026-11-10",
    ]);
    let (o, j) = env.prune(&["--keep-days", "5", "--run-id", "prune-1"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(j["status"], "ok");
    assert_eq!(j["latest_committed"], "2026-11-10");
    assert_eq!(j["cut"], "2026-11-05");
    assert_eq!(deleted_dates(&j), ["2026-11-01", "2026-11-03"]);
    let kept = ["2026-11-05", "2026-11-07", "2026-11-09", "2026-11-10"];
    assert_eq!(env.dates("scores"), kept);
    assert_eq!(env.dates("summary"), kept);
    assert_eq!(env.committed(), kept);
    assert!(!env.out().join("_LOCK").exists(), "the lease is released");
    // A later run still finds its previous snapshot and commits.
    let r = env.run("2026-11-11");
    assert_eq!(r.code, 0, "{}", r.stderr);
    // Pruning again with the same settings is a no-op on what was kept.
    let (o, j) = env.prune(&["--keep-days", "6"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(deleted_dates(&j).is_empty(), "{j}");
}

#[test]
fn month_ends_are_kept() {
    let env = Env::with_dates(&[
        "2026-08-31",
        "2026-09-15",
        "2026-09-29",
        "2026-10-20",
        "2026-10-31",
        "2026-11-05",
        "2026-11-10",
    ]);
    // Month ends: Aug 31, Sep 29 (the last date of September), Oct 31;
    // November is not over. The last two are kept.
    let (o, j) = env.prune(&["--keep-days", "3", "--keep-month-ends", "2"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(
        deleted_dates(&j),
        ["2026-08-31", "2026-09-15", "2026-10-20", "2026-11-05"]
    );
    assert_eq!(
        j["kept_month_ends"],
        serde_json::json!(["2026-09-29", "2026-10-31"])
    );
    assert_eq!(env.committed(), ["2026-09-29", "2026-10-31", "2026-11-10"]);
    assert_eq!(env.dates("summary"), env.committed());
}

#[test]
fn month_end_selection() {
    let d = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let dates: Vec<_> = ["2026-01-31", "2026-02-10", "2026-02-27", "2026-03-31"]
        .iter()
        .map(|s| d(s))
        .collect();
    // March 31 is the last day of its month: a month end although newest.
    assert_eq!(
        prune::month_ends(&dates),
        vec![d("2026-01-31"), d("2026-02-27"), d("2026-03-31")]
    );
    assert_eq!(
        prune::month_ends(&dates[..3]),
        vec![d("2026-01-31")],
        "February is not over"
    );
    assert!(prune::month_ends(&[]).is_empty());
}

#[test]
fn dry_run_deletes_nothing_and_lists_what_it_would() {
    let env = Env::with_dates(&["2026-11-01", "2026-11-02", "2026-11-03", "2026-11-04"]);
    let before = files(&env.out());
    let (o, j) = env.prune(&["--keep-days", "1", "--dry-run"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(j["dry_run"], true);
    assert_eq!(deleted_dates(&j), ["2026-11-01", "2026-11-02"]);
    let listed = j["deleted"][0]["objects"].as_array().unwrap();
    assert!(
        listed
            .iter()
            .any(|o| o == "scores/snapshot_date=2026-11-01/_SUCCESS"),
        "{j}"
    );
    assert!(
        listed
            .iter()
            .any(|o| o == "summary/snapshot_date=2026-11-01/part-00000.parquet"),
        "{j}"
    );
    assert_eq!(files(&env.out()), before, "a dry run changes nothing");

    // Text output names the dates.
    let t = healthscore(&[
        "prune",
        "--output",
        env.out().to_str().unwrap(),
        "--keep-days",
        "1",
        "--dry-run",
    ]);
    assert_eq!(t.code, 0, "{}", t.stderr);
    assert!(t.stdout.contains("would delete 2026-11-01"), "{}", t.stdout);
    assert!(t.stdout.contains("would delete 2026-11-02"), "{}", t.stdout);
    assert!(
        !t.stdout.contains("would delete 2026-11-03"),
        "{}",
        t.stdout
    );
    assert_eq!(files(&env.out()), before);
}

#[test]
fn the_latest_committed_snapshot_is_never_deleted() {
    let env = Env::with_dates(&["2026-11-01", "2026-11-02", "2026-11-03"]);
    // The newest folder is not committed: the age is measured from the
    // newest committed date, which stays, and the newer partial stays.
    std::fs::remove_file(env.success("scores", "2026-11-03")).unwrap();
    std::fs::remove_file(env.success("summary", "2026-11-03")).unwrap();
    let (o, j) = env.prune(&["--keep-days", "0"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(j["latest_committed"], "2026-11-02");
    assert_eq!(deleted_dates(&j), ["2026-11-01"]);
    assert_eq!(env.committed(), ["2026-11-02"]);
    assert_eq!(env.dates("scores"), ["2026-11-02", "2026-11-03"]);

    // A single committed date survives keep-days 0.
    let env = Env::with_dates(&["2026-11-05"]);
    let (o, j) = env.prune(&["--keep-days", "0"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(deleted_dates(&j).is_empty());
    assert_eq!(env.committed(), ["2026-11-05"]);

    // No committed date at all: nothing to measure against, nothing deleted.
    std::fs::remove_file(env.success("scores", "2026-11-05")).unwrap();
    let before = files(&env.out());
    let (o, j) = env.prune(&["--keep-days", "0"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(j["latest_committed"].is_null());
    assert_eq!(files(&env.out()), before);
}

#[test]
fn a_partial_date_older_than_the_cut_is_removed() {
    let env = Env::with_dates(&[
        "2026-11-01",
        "2026-11-02",
        "2026-11-03",
        "2026-11-04",
        "2026-11-05",
    ]);
    // 11-02 as a crashed run leaves it: no _SUCCESS, a stray part.
    std::fs::remove_file(env.success("scores", "2026-11-02")).unwrap();
    std::fs::write(
        env.out()
            .join("scores/snapshot_date=2026-11-02/part-00007.parquet"),
        b"junk",
    )
    .unwrap();
    let (o, j) = env.prune(&["--keep-days", "1"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(
        deleted_dates(&j),
        ["2026-11-01", "2026-11-02", "2026-11-03"]
    );
    assert_eq!(j["deleted"][1]["committed"], false);
    assert_eq!(j["deleted"][0]["committed"], true);
    assert_eq!(env.dates("scores"), ["2026-11-04", "2026-11-05"]);
    assert_eq!(env.dates("summary"), ["2026-11-04", "2026-11-05"]);
}

#[test]
fn prune_waits_for_the_lease_of_a_run() {
    let env = Env::with_dates(&["2026-11-01", "2026-11-02"]);
    let lease = serde_json::json!({
        "run_id": "someone-else",
        "host": "elsewhere",
        "expires": (chrono::Utc::now() + chrono::Duration::minutes(30)).to_rfc3339(),
    });
    std::fs::write(env.out().join("_LOCK"), lease.to_string()).unwrap();
    let before = files(&env.out());
    let (o, j) = env.prune(&["--keep-days", "0"]);
    assert_eq!(o.code, 1, "{}", o.stdout);
    assert_eq!(j["error"]["kind"], "locked");
    assert_eq!(
        files(&env.out()),
        before,
        "nothing deleted without the lease"
    );
    // A dry run reads only, and needs no lease.
    let (o, j) = env.prune(&["--keep-days", "0", "--dry-run"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(deleted_dates(&j), ["2026-11-01"]);
}

#[test]
fn bad_arguments_are_usage_errors() {
    let env = Env::with_dates(&["2026-11-01"]);
    let out = env.out();
    for args in [
        vec!["prune", "--output", out.to_str().unwrap()],
        vec![
            "prune",
            "--output",
            out.to_str().unwrap(),
            "--keep-days",
            "-1",
        ],
        vec![
            "prune",
            "--output",
            out.to_str().unwrap(),
            "--keep-days",
            "x",
        ],
    ] {
        assert_eq!(healthscore(&args).code, 64, "{args:?}");
    }
    let o = healthscore_env(
        &["prune", "--dry-run"],
        &[
            ("HEALTHSCORE_OUTPUT", out.to_str().unwrap()),
            ("HEALTHSCORE_KEEP_DAYS", "0"),
        ],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
}

// ---------------------------------------------------------------------------
// Failure injection
// ---------------------------------------------------------------------------

/// Fails the `fail_at`-th delete of a snapshot object (the lease's own
/// deletes are not counted).
#[derive(Debug)]
struct FailingDeletes {
    count: Arc<AtomicUsize>,
    fail_at: usize,
}

impl Hooks for FailingDeletes {
    fn write(&self, op: &str, path: &Path) -> bool {
        if op != "delete" || path.as_ref().ends_with("_LOCK") {
            return false;
        }
        self.count.fetch_add(1, Ordering::SeqCst) + 1 == self.fail_at
    }
}

/// A copy of `files` in a fresh failing store; returns the store and its
/// delete counter.
fn failing_copy(files: &BTreeMap<String, Vec<u8>>, fail_at: usize) -> (Store, Arc<AtomicUsize>) {
    let count = Arc::new(AtomicUsize::new(0));
    let store = Store::from_object_store(
        Arc::new(HookedStore::new(Arc::new(FailingDeletes {
            count: count.clone(),
            fail_at,
        }))),
        "memory://prune-faults/out",
    )
    .unwrap();
    for (rel, bytes) in files {
        store.put(rel, bytes.clone().into()).unwrap();
    }
    (store, count)
}

fn store_files(store: &Store) -> BTreeMap<String, Vec<u8>> {
    store
        .list("")
        .unwrap()
        .into_iter()
        .map(|o| {
            let b = store.get(&o.rel).unwrap().to_vec();
            (o.rel, b)
        })
        .collect()
}

/// Every date folder holding a `_SUCCESS` has all of its original objects,
/// byte for byte.
fn assert_no_half_committed(
    original: &BTreeMap<String, Vec<u8>>,
    now: &BTreeMap<String, Vec<u8>>,
    what: &str,
) {
    for rel in now.keys().filter(|r| r.ends_with("/_SUCCESS")) {
        let folder = rel.trim_end_matches("_SUCCESS");
        let want: Vec<_> = original
            .iter()
            .filter(|(k, _)| k.starts_with(folder))
            .collect();
        let have: Vec<_> = now.iter().filter(|(k, _)| k.starts_with(folder)).collect();
        assert_eq!(
            have, want,
            "{what}: {folder} has _SUCCESS but not all its parts"
        );
    }
    // A date's scores are never committed without its summary.
    for rel in now
        .keys()
        .filter(|r| r.starts_with("scores/") && r.ends_with("/_SUCCESS"))
    {
        let summary = rel.replacen("scores/", "summary/", 1);
        assert!(
            now.contains_key(&summary),
            "{what}: {rel} without {summary}"
        );
    }
}

#[test]
fn a_failure_between_deletes_leaves_no_half_committed_date() {
    let env = Env::with_dates(&["2026-11-01", "2026-11-02", "2026-11-03", "2026-11-04"]);
    let original = files(&env.out());
    let opts = PruneOptions {
        keep_days: 1,
        keep_month_ends: 0,
        dry_run: false,
        run_id: "prune-faults".into(),
    };

    // The reference: a prune that never fails, and how many deletes it makes.
    let (store, count) = failing_copy(&original, 0);
    let report = prune::prune(&store, &opts).expect("reference prune");
    let total = count.load(Ordering::SeqCst);
    let reference = store_files(&store);
    assert_eq!(report.deleted.len(), 2);
    assert!(
        total >= 2 * 4,
        "two dates, two tables, marker and part each: {total}"
    );
    assert!(!reference
        .keys()
        .any(|k| k.contains("2026-11-01") || k.contains("2026-11-02")));

    for n in 1..=total {
        let (store, _) = failing_copy(&original, n);
        let err = prune::prune(&store, &opts).expect_err("the injected failure surfaces");
        assert_eq!(err.exit_code(), 1, "delete {n}: {err}");
        let now = store_files(&store);
        assert_no_half_committed(&original, &now, &format!("failure at delete {n}"));
        // The kept dates are untouched.
        for d in ["2026-11-03", "2026-11-04"] {
            for (k, v) in original.iter().filter(|(k, _)| k.contains(d)) {
                assert_eq!(now.get(k), Some(v), "delete {n}: kept object {k} changed");
            }
        }
        assert!(
            !now.contains_key("_LOCK"),
            "delete {n}: the lease is released"
        );
        // A rerun finishes the job: the same objects as a prune that never failed.
        prune::prune(&store, &opts).unwrap_or_else(|e| panic!("rerun after failure {n}: {e}"));
        assert_eq!(store_files(&store), reference, "rerun after failure {n}");
    }
}
