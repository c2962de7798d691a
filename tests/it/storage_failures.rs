//! Failure injection on the commit protocol (SPEC §6): a store
//! (tests/common/hooked_store.rs) whose hooks fail the Nth write, for every N from taking the lease to the last
//! `_SUCCESS`, with single puts and with multipart uploads. After each
//! failure: an error with exit code 1, no `_SUCCESS` for that date, the
//! previous date's snapshot still committed and unchanged, no lease left,
//! multipart uploads aborted, and a rerun that succeeds with the same bytes
//! as a run that never failed.

use crate::hooked_store;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use hooked_store::{HookedStore, Hooks};
use object_store::memory::InMemory;
use object_store::path::Path;

use healthscore::commands::generate::{self, GenerateOptions};
use healthscore::commands::run::{self, RunOptions};
use healthscore::pipeline::Pipeline;
use healthscore::storage::Store;

/// Counts every write (put, multipart start, part, completion, delete,
/// copy) and fails the `fail_at`-th one.
#[derive(Debug, Default)]
struct Faults {
    count: AtomicUsize,
    fail_at: AtomicUsize,
    log: Mutex<Vec<String>>,
}

impl Hooks for Faults {
    /// Records one write; true when it must fail.
    fn write(&self, op: &str, path: &Path) -> bool {
        let n = self.count.fetch_add(1, Ordering::SeqCst) + 1;
        let fail = n == self.fail_at.load(Ordering::SeqCst);
        self.log.lock().unwrap().push(format!(
            "{n} {op} {path}{}",
            if fail { " FAILED" } else { "" }
        ));
        fail
    }
    fn note(&self, what: String) {
        self.log.lock().unwrap().push(what);
    }
}

impl Faults {
    fn reset(&self, fail_at: usize) {
        self.count.store(0, Ordering::SeqCst);
        self.fail_at.store(fail_at, Ordering::SeqCst);
        self.log.lock().unwrap().clear();
    }
    fn writes(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }
    fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

const D0: &str = "2026-11-23";
const D1: &str = "2026-11-24";

fn date(s: &str) -> chrono::NaiveDate {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn pipeline() -> Pipeline {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/default.toml");
    Pipeline::load(p.to_str().unwrap()).expect("default pipeline")
}

fn input(name: &str) -> Store {
    let store = Store::open(&format!("memory://{name}/exports"), &[]).expect("memory store");
    generate::generate(
        &GenerateOptions {
            accounts: 60,
            seed: 5,
            as_of: date(D1),
            usage_days: generate::USAGE_DAYS,
        },
        &store,
    )
    .expect("generate");
    store
}

/// An output over a fresh in-memory store wrapped by the fault injector.
fn output(multipart: bool) -> (Store, Arc<Faults>, Arc<InMemory>) {
    let faults = Arc::new(Faults::default());
    let hooked = HookedStore::new(faults.clone());
    let inner = hooked.inner.clone();
    let store =
        Store::from_object_store(Arc::new(hooked), "memory://faults/snapshots").expect("store");
    // Multipart: every object above 1 byte, in 4 KiB parts.
    let store = if multipart {
        store.with_multipart(1, 4096)
    } else {
        store
    };
    (store, faults, inner)
}

fn run(p: &Pipeline, input: &Store, out: &Store, as_of: &str) -> healthscore::Result<()> {
    run::run(
        p,
        input,
        out,
        &RunOptions {
            run_id: format!("run-{as_of}"),
            as_of: date(as_of),
            allow_schema_change: false,
        },
    )
    .map(|_| ())
}

/// Every object of the store with its bytes.
fn objects(store: &Store, prefix: &str) -> BTreeMap<String, Vec<u8>> {
    store
        .list(prefix)
        .unwrap()
        .into_iter()
        .map(|o| {
            let b = store.get(&o.rel).unwrap().to_vec();
            (o.rel, b)
        })
        .collect()
}

fn parquet(objects: &BTreeMap<String, Vec<u8>>) -> BTreeMap<String, Vec<u8>> {
    objects
        .iter()
        .filter(|(k, _)| k.ends_with(".parquet"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn success(table: &str, d: &str) -> String {
    format!("{table}/snapshot_date={d}/_SUCCESS")
}

/// Fails every write of the D1 run in turn; returns how many failure points
/// were tested.
fn fail_every_write(name: &str, multipart: bool) -> usize {
    let p = pipeline();
    let input = input(name);

    // A run that never fails: the reference bytes and the writes to fail.
    let (out, faults, _) = output(multipart);
    run(&p, &input, &out, D0).expect("reference run D0");
    faults.reset(0);
    run(&p, &input, &out, D1).expect("reference run D1");
    let log = faults.log();
    let total = faults.writes();
    let reference = parquet(&objects(&out, ""));
    assert!(
        log[0].contains("put") && log[0].ends_with("snapshots/_LOCK"),
        "{log:#?}"
    );
    assert!(
        log.last().unwrap().contains("delete") && log.last().unwrap().ends_with("_LOCK"),
        "the lease is released last: {log:#?}"
    );
    // The markers are written last, scores first (the date's commit
    // point, SPEC §6), then summary, metrics and changes; a marker is written when
    // its put (or its multipart upload's complete) is done.
    let marker_done = |line: &str, table: &str| {
        (line.contains(" put ") || line.contains(" complete "))
            && line.ends_with(&format!("{table}/snapshot_date={D1}/_SUCCESS"))
    };
    let order: Vec<&str> = log
        .iter()
        .filter_map(|l| {
            ["scores", "summary", "metrics", "changes"]
                .into_iter()
                .find(|t| marker_done(l, t))
        })
        .collect();
    assert_eq!(
        order,
        ["scores", "summary", "metrics", "changes"],
        "{log:#?}"
    );
    // Every part is written before any marker write begins.
    let last_part = log.iter().rposition(|l| l.contains(".parquet")).unwrap();
    let first_marker_write = log
        .iter()
        .position(|l| l.contains("_SUCCESS") && !l.contains(" delete "))
        .unwrap();
    assert!(last_part < first_marker_write, "{log:#?}");
    // A kill after any write: no table of D1 is committed while scores is
    // not (every prefix of the log).
    for cut in 0..=log.len() {
        let done = &log[..cut];
        let marked = |t: &str| done.iter().any(|l| marker_done(l, t));
        if marked("summary") || marked("metrics") || marked("changes") {
            assert!(marked("scores"), "killed after write {cut}: {log:#?}");
        }
    }
    if multipart {
        assert!(
            log.iter().filter(|l| l.contains("put_part")).count() >= 8,
            "several parts per object: {log:#?}"
        );
    }

    // Every write from the lease to the manifest: 1..total (the last write
    // is the release of the lease, after the commit).
    let points = total - 1;
    for n in 1..=points {
        let (out, faults, _) = output(multipart);
        run(&p, &input, &out, D0).expect("run D0");
        let before = objects(&out, "");
        faults.reset(n);
        let err = run(&p, &input, &out, D1).expect_err("the injected failure surfaces");
        let log = faults.log();
        let failed = log.iter().find(|l| l.ends_with("FAILED")).cloned();
        let ctx = format!("failing write {n} of {total} ({failed:?}): {err}\n{log:#?}");
        assert_eq!(err.exit_code(), 1, "{ctx}");
        assert_eq!(err.kind(), "storage", "{ctx}");
        assert!(
            err.to_string().contains("memory://faults/snapshots"),
            "{ctx}"
        );
        faults.reset(0);
        let after = objects(&out, "");
        for table in ["scores", "summary", "metrics", "changes"] {
            assert!(
                !after.contains_key(&success(table, D1)),
                "{table} {D1} has a _SUCCESS: {ctx}"
            );
        }
        let d0_before: BTreeMap<_, _> = before.iter().filter(|(k, _)| k.contains(D0)).collect();
        let d0_after: BTreeMap<_, _> = after.iter().filter(|(k, _)| k.contains(D0)).collect();
        assert!(d0_before == d0_after, "the {D0} snapshot changed: {ctx}");
        assert!(d0_after.contains_key(&success("scores", D0)), "{ctx}");
        assert!(
            !after.contains_key("_LOCK"),
            "the lease is left behind: {ctx}"
        );
        if multipart
            && failed
                .as_deref()
                .is_some_and(|f| f.contains("put_part") || f.contains("complete"))
        {
            assert!(
                log.iter().any(|l| l.starts_with("abort")),
                "the multipart upload is aborted: {ctx}"
            );
        }
        // The rerun succeeds and writes what a run that never failed wrote.
        run(&p, &input, &out, D1).unwrap_or_else(|e| panic!("rerun after {ctx}: {e}"));
        let rerun = objects(&out, "");
        assert!(rerun.contains_key(&success("scores", D1)), "{ctx}");
        assert!(rerun.contains_key(&success("summary", D1)), "{ctx}");
        assert!(rerun.contains_key(&success("metrics", D1)), "{ctx}");
        assert!(rerun.contains_key(&success("changes", D1)), "{ctx}");
        assert!(parquet(&rerun) == reference, "rerun bytes differ: {ctx}");
        assert!(!rerun.contains_key("_LOCK"), "{ctx}");
    }
    points
}

#[test]
fn every_single_put_write_can_fail_safely() {
    let points = fail_every_write("faults-put", false);
    // Lease, 4 × un-commit, 4 parts, 4 manifests (scores, summary, metrics,
    // changes).
    assert_eq!(points, 13, "failure points of a run with single puts");
    eprintln!("single puts: {points} failure points tested");
}

#[test]
fn every_multipart_write_can_fail_safely() {
    let points = fail_every_write("faults-multipart", true);
    assert!(
        points > 20,
        "failure points of a run with multipart uploads: {points}"
    );
    eprintln!("multipart uploads: {points} failure points tested");
}

#[test]
fn a_failed_rerun_of_a_committed_date_keeps_earlier_dates() {
    // D1 committed, then rerun with a failure at every write: D0 is never
    // touched and D1 is either still fully committed (failure before the
    // un-commit) or not committed at all.
    let p = pipeline();
    let input = input("faults-rerun");
    let (out, faults, _) = output(false);
    run(&p, &input, &out, D0).unwrap();
    run(&p, &input, &out, D1).unwrap();
    let committed = objects(&out, "");
    faults.reset(0);
    run(&p, &input, &out, D1).unwrap();
    let total = faults.writes();
    for n in 1..total {
        faults.reset(n);
        let err = run(&p, &input, &out, D1).expect_err("injected");
        assert_eq!(err.exit_code(), 1);
        faults.reset(0);
        let now = objects(&out, "");
        let d0 = |m: &BTreeMap<String, Vec<u8>>| -> BTreeMap<String, Vec<u8>> {
            m.iter()
                .filter(|(k, _)| k.contains(D0))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        assert!(d0(&now) == d0(&committed), "write {n}: {D0} changed");
        let scores_ok = now.contains_key(&success("scores", D1));
        if scores_ok {
            assert!(
                parquet(&now) == parquet(&committed),
                "write {n}: a committed {D1} must be the full earlier snapshot"
            );
        }
        run(&p, &input, &out, D1).unwrap();
    }
}
