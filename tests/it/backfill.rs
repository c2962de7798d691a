//! Backfills (issue 8): `run --from D1 --to D2 [--every Nd]` scores a range
//! of dates in one process, reading each input object once; it equals the
//! same dates run one by one, byte for byte; up-to-date dates are skipped
//! unless `--force`; `--cascade` rescores the later dates whose previous
//! snapshot changed.

use crate::bad_fixture;
use crate::common;
use crate::hooked_store;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use hooked_store::{HookedStore, Hooks};
use object_store::path::Path as ObjectPath;

use common::*;
use healthscore::commands::backfill::{self, Action, BackfillOptions, Inputs};
use healthscore::commands::generate::{self, GenerateOptions};
use healthscore::commands::run::{self, RunOptions};
use healthscore::pipeline::Pipeline;
use healthscore::storage::Store;

/// Counts the reads of every object.
#[derive(Debug, Default)]
struct Reads(Mutex<BTreeMap<String, usize>>);

impl Reads {
    fn counts(&self) -> BTreeMap<String, usize> {
        self.0.lock().unwrap().clone()
    }
    fn reset(&self) {
        self.0.lock().unwrap().clear();
    }
}

impl Hooks for Reads {
    fn read(&self, path: &ObjectPath) {
        *self.0.lock().unwrap().entry(path.to_string()).or_default() += 1;
    }
}

fn date(s: &str) -> chrono::NaiveDate {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn default_pipeline() -> Pipeline {
    Pipeline::load(repo().join("pipelines/default.toml").to_str().unwrap()).unwrap()
}

/// Generated exports of `accounts` accounts as of D into `dir`.
fn exports(dir: &Path, accounts: usize, seed: u64) {
    generate::generate(
        &GenerateOptions {
            accounts,
            seed,
            as_of: date(D),
            usage_days: generate::USAGE_DAYS,
        },
        &Store::open(dir.to_str().unwrap(), &[]).unwrap(),
    )
    .unwrap();
}

/// Every Parquet object under `root` (relative path → bytes).
fn parquet_objects(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "parquet") {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// The objects of `local` copied behind a store that counts reads, the
/// counter, and the input objects of `run` among them (churn_labels, for
/// backtests, is not one).
fn counted_copy(local: &Path) -> (Store, Arc<Reads>, Vec<String>) {
    let counting = Arc::new(Reads::default());
    let input = Store::from_object_store(
        Arc::new(HookedStore::new(counting.clone())),
        "memory://counted/exports",
    )
    .unwrap();
    let disk = Store::open(local.to_str().unwrap(), &[]).unwrap();
    let mut objects = Vec::new();
    for o in disk.list("").unwrap() {
        input.put(&o.rel, disk.get(&o.rel).unwrap()).unwrap();
        if !o.rel.starts_with("churn_labels/") {
            objects.push(format!("exports/{}", o.rel));
        }
    }
    (input, counting, objects)
}

#[test]
fn a_backfill_of_30_dates_equals_30_single_runs_and_reads_each_input_object_once() {
    let tmp = tempfile::tempdir().unwrap();
    let local = tmp.path().join("in");
    exports(&local, 60, 3);
    let (input, counting, objects) = counted_copy(&local);
    assert_eq!(objects.len(), 5, "one object per input table: {objects:?}");
    counting.reset();

    let p = default_pipeline();
    let dates: Vec<_> = (0..30).rev().map(day).collect();
    let out_a = tmp.path().join("backfill");
    let done = Mutex::new(Vec::new());
    let r = backfill::backfill(
        &p,
        &Inputs::Shared(input.clone()),
        &Store::open(out_a.to_str().unwrap(), &[]).unwrap(),
        &BackfillOptions {
            run_id: "backfill".into(),
            dates: dates.clone(),
            force: false,
            cascade: false,
            allow_schema_change: false,
        },
        &|n, total, o| done.lock().unwrap().push((n, total, o.date)),
    )
    .expect("backfill");
    assert_eq!(r.dates.len(), 30);
    assert!(r.dates.iter().all(|d| d.action == Action::Scored));
    // Progress: dates done / total, in ascending date order.
    let expected_progress: Vec<_> = dates
        .iter()
        .enumerate()
        .map(|(i, d)| (i + 1, 30, *d))
        .collect();
    assert_eq!(*done.lock().unwrap(), expected_progress);

    // Each input object read exactly once for the 30 dates.
    let reads = counting.counts();
    for o in &objects {
        assert_eq!(reads.get(o), Some(&1), "reads of {o}: {reads:?}");
    }
    assert_eq!(reads.len(), objects.len(), "nothing else read: {reads:?}");

    // The same dates, one run each, in ascending order.
    let out_b = tmp.path().join("single");
    let single_out = Store::open(out_b.to_str().unwrap(), &[]).unwrap();
    counting.reset();
    for d in &dates {
        run::run(
            &p,
            &input,
            &single_out,
            &RunOptions {
                run_id: format!("single-{d}"),
                as_of: *d,
                allow_schema_change: false,
            },
        )
        .unwrap_or_else(|e| panic!("run {d}: {e}"));
    }
    // (one run per date reads every object once per date)
    assert_eq!(counting.counts().get(&objects[0]), Some(&30));

    let a = parquet_objects(&out_a);
    let b = parquet_objects(&out_b);
    assert_eq!(
        a.len(),
        120,
        "scores, summary, metrics and changes for 30 dates"
    );
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "same objects"
    );
    for (rel, bytes) in &a {
        assert!(
            bytes == &b[rel],
            "{rel} differs between backfill and single runs"
        );
    }
    // The same row accounting per date (counted from rows per day in the
    // backfill, from the rows themselves in a single run).
    for d in &dates {
        let (ma, mb) = (
            read_manifest(&out_a, &d.to_string()),
            read_manifest(&out_b, &d.to_string()),
        );
        assert_eq!(ma["tables"], mb["tables"], "row accounting of {d}");
    }
    // Each date's trend comes from the date before it.
    for w in dates.windows(2) {
        let m = read_manifest(&out_a, &w[1].to_string());
        assert_eq!(m["previous_snapshot"], w[0].to_string());
        let prev = read_manifest(&out_a, &w[0].to_string());
        assert_eq!(m["previous_scores_sha256"], prev["scores_sha256"]);
    }
    assert_eq!(
        read_manifest(&out_a, &dates[0].to_string())["previous_snapshot"],
        serde_json::Value::Null
    );
}

/// `healthscore [global…] run --pipeline P --input I --output O [args…]`.
fn run_cmd(global: &[&str], pipeline: &str, input: &str, output: &Path, args: &[&str]) -> Out {
    let mut all: Vec<&str> = global.to_vec();
    all.extend([
        "run",
        "--pipeline",
        pipeline,
        "--input",
        input,
        "--output",
        output.to_str().unwrap(),
    ]);
    all.extend_from_slice(args);
    healthscore(&all)
}

/// [`run_cmd`] with `--format json`: the exit code, the JSON result and
/// stderr.
fn run_json(
    pipeline: &str,
    input: &str,
    output: &Path,
    args: &[&str],
) -> (i32, serde_json::Value, String) {
    let o = run_cmd(&["--format", "json"], pipeline, input, output, args);
    let j = serde_json::from_str(o.stdout.trim()).unwrap_or(serde_json::Value::Null);
    (o.code, j, o.stderr)
}

/// `--from D−from --to D−to`.
fn span(from: i64, to: i64) -> [String; 4] {
    [
        "--from".into(),
        day(from).to_string(),
        "--to".into(),
        day(to).to_string(),
    ]
}

/// Borrowed arguments.
fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

struct Env {
    _tmp: tempfile::TempDir,
    input: String,
    output: std::path::PathBuf,
    pipeline: String,
}

impl Env {
    fn new() -> Env {
        let tmp = tempfile::tempdir().unwrap();
        let input = tmp.path().join("in");
        exports(&input, 40, 5);
        Env {
            input: input.to_str().unwrap().to_string(),
            output: tmp.path().join("out"),
            pipeline: repo()
                .join("pipelines/default.toml")
                .to_str()
                .unwrap()
                .to_string(),
            _tmp: tmp,
        }
    }
    /// `run --format json` of the default pipeline on this output.
    fn json(&self, input: &str, args: &[&str]) -> (i32, serde_json::Value, String) {
        run_json(&self.pipeline, input, &self.output, args)
    }
    /// A backfill from D−from to D−to that must succeed; its JSON result.
    fn range(&self, from: i64, to: i64, run_id: &str, extra: &[&str]) -> serde_json::Value {
        let span = span(from, to);
        let mut args = strs(&span);
        args.extend(["--run-id", run_id]);
        args.extend_from_slice(extra);
        let (code, j, stderr) = self.json(&self.input, &args);
        assert_eq!(code, 0, "{j}\n{stderr}");
        j
    }
    fn run_id_of(&self, days_before_d: i64) -> String {
        read_manifest(&self.output, &day(days_before_d).to_string())["run_id"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

fn actions(j: &serde_json::Value) -> Vec<(String, String)> {
    j["dates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["date"].as_str().unwrap().to_string(),
                d["action"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn act(days_before_d: i64, action: &str) -> (String, String) {
    (day(days_before_d).to_string(), action.to_string())
}

#[test]
fn committed_dates_are_skipped_unless_forced_or_changed() {
    let env = Env::new();
    let first = env.range(2, 0, "first", &[]);
    assert_eq!(
        actions(&first),
        vec![act(2, "scored"), act(1, "scored"), act(0, "scored")]
    );
    assert_eq!(
        (first["scored"].as_i64(), first["skipped"].as_i64()),
        (Some(3), Some(0))
    );
    let before = parquet_objects(&env.output);

    // Same pipeline, inputs and previous snapshots: nothing rewritten.
    let again = env.range(2, 0, "again", &[]);
    assert_eq!(
        actions(&again),
        vec![act(2, "skipped"), act(1, "skipped"), act(0, "skipped")]
    );
    assert_eq!(again["skipped"].as_i64(), Some(3));
    assert_eq!(env.run_id_of(1), "first", "the manifest was not rewritten");
    assert_eq!(parquet_objects(&env.output), before);

    // --force rescores every date (same bytes: same inputs).
    let forced = env.range(2, 0, "forced", &["--force"]);
    assert_eq!(forced["scored"].as_i64(), Some(3));
    assert_eq!(env.run_id_of(0), "forced");
    assert_eq!(parquet_objects(&env.output), before);

    // A changed input object (new size and modification time) → rescored.
    let usage = Path::new(&env.input).join("usage");
    let part = std::fs::read_dir(&usage)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut df = read_parquet(&part);
    std::fs::remove_file(&part).unwrap();
    let df2 = df.slice(0, df.height() - 1);
    df = df2;
    write_parquet(&usage, part.file_name().unwrap().to_str().unwrap(), df);
    let changed = env.range(2, 0, "changed-input", &[]);
    assert_eq!(changed["scored"].as_i64(), Some(3), "{changed}");
    assert_eq!(
        changed["dates"][0]["reason"].as_str(),
        Some("committed from other input objects")
    );

    // Another pipeline (a different sha256) → rescored.
    let other = env._tmp.path().join("default-v2.toml");
    let text = std::fs::read_to_string(&env.pipeline).unwrap();
    std::fs::write(&other, format!("{text}\n# the same model, another file\n")).unwrap();
    let (code, j, stderr) = run_json(
        other.to_str().unwrap(),
        &env.input,
        &env.output,
        &strs(&span(1, 0)),
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        j["dates"][0]["reason"].as_str(),
        Some("committed with another pipeline")
    );
    assert_eq!(j["scored"].as_i64(), Some(2));
}

#[test]
fn every_7d_scores_one_date_a_week_and_bad_ranges_are_usage_errors() {
    let env = Env::new();
    let j = env.range(14, 0, "weekly", &["--every", "7d"]);
    assert_eq!(
        actions(&j),
        vec![act(14, "scored"), act(7, "scored"), act(0, "scored")]
    );
    let mut folders: Vec<String> = std::fs::read_dir(env.output.join("scores"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    folders.sort();
    assert_eq!(
        folders,
        vec![
            format!("snapshot_date={}", day(14)),
            format!("snapshot_date={}", day(7)),
            format!("snapshot_date={}", day(0)),
        ]
    );
    // The week's trend is against the week before.
    assert_eq!(
        read_manifest(&env.output, &day(0).to_string())["previous_snapshot"],
        day(7).to_string()
    );

    let base = [
        "run",
        "--pipeline",
        env.pipeline.as_str(),
        "--input",
        env.input.as_str(),
        "--output",
        env.output.to_str().unwrap(),
    ];
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--from", "2026-11-24", "--to", "2026-11-23"],
            "--from 2026-11-24 is after --to 2026-11-23",
        ),
        (
            vec![
                "--from",
                "2026-11-20",
                "--to",
                "2026-11-24",
                "--every",
                "0d",
            ],
            "--every 0d: expected a number of days such as 1d or 7d",
        ),
        (
            vec![
                "--from",
                "2026-11-20",
                "--to",
                "2026-11-24",
                "--every",
                "weekly",
            ],
            "--every weekly: expected a number of days",
        ),
        (
            vec!["--from", "2026-11-31", "--to", "2026-12-02"],
            "--from 2026-11-31: expected a date YYYY-MM-DD",
        ),
        (vec!["--from", "2026-11-20"], "--to"),
        (
            vec![
                "--from",
                "2026-11-20",
                "--to",
                "2026-11-24",
                "--as-of",
                "2026-11-24",
            ],
            "cannot be used with",
        ),
    ];
    for (extra, message) in cases {
        let mut args = base.to_vec();
        args.extend(extra.iter());
        let o = healthscore(&args);
        assert_eq!(o.code, 64, "{extra:?}: {}", o.stderr);
        assert!(o.stderr.contains(message), "{extra:?}: {}", o.stderr);
    }
}

#[test]
fn cascade_rescores_the_later_dates_whose_previous_snapshot_changed() {
    let env = Env::new();
    env.range(2, 0, "first", &[]);
    // Other exports (another seed): rescoring D−2 from them changes it.
    let other = env._tmp.path().join("other");
    exports(&other, 40, 6);
    let d2 = day(2).to_string();
    let single = |input: &Path, run_id: &str, cascade: bool| {
        let mut args = vec!["--as-of", d2.as_str(), "--run-id", run_id];
        if cascade {
            args.push("--cascade");
        }
        let (code, j, stderr) = env.json(input.to_str().unwrap(), &args);
        assert_eq!(code, 0, "{stderr}");
        j
    };

    let j = single(&other, "cascade", true);
    assert_eq!(
        actions(&j),
        vec![act(2, "scored"), act(1, "cascaded"), act(0, "cascaded")]
    );
    assert_eq!(j["cascaded"].as_i64(), Some(2));
    for (date, prev) in [(1, 2), (0, 1)] {
        let m = read_manifest(&env.output, &day(date).to_string());
        let pm = read_manifest(&env.output, &day(prev).to_string());
        assert_eq!(m["run_id"], "cascade");
        assert_eq!(m["previous_scores_sha256"], pm["scores_sha256"]);
        // Rescored from the inputs given to the cascading run.
        assert!(m["inputs"][0]["path"]
            .as_str()
            .unwrap()
            .starts_with(other.to_str().unwrap()));
    }
    // D−1's prev_score is D−2's new score, account by account.
    let s2 = read_parquet(&env.output.join(format!("scores/snapshot_date={d2}")));
    let s1 = read_parquet(&env.output.join(format!("scores/snapshot_date={}", day(1))));
    let mut compared = 0;
    for i in 0..s1.height() {
        let id = s(&s1, "customer_id", i).unwrap();
        let in_prev = s2
            .column("customer_id")
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .position(|v| v == Some(id.as_str()));
        if let Some(k) = in_prev {
            assert_eq!(f(&s1, "prev_score", i), f(&s2, "score", k), "{id}");
            compared += 1;
        }
    }
    assert!(compared >= 30, "compared {compared} accounts");

    // Rescoring D−2 to the same bytes changes no later date's previous.
    let j = single(&other, "same-again", true);
    assert_eq!(actions(&j), vec![act(2, "scored")]);
    assert_eq!(env.run_id_of(1), "cascade");

    // Without --cascade, later dates keep a stale trend; a backfill over
    // them then rescores them even though pipeline and inputs are the same.
    let input = std::path::PathBuf::from(&env.input);
    single(&input, "no-cascade", false);
    assert_eq!(env.run_id_of(1), "cascade");
    let (code, j, stderr) = env.json(other.to_str().unwrap(), &strs(&span(1, 0)));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(actions(&j), vec![act(1, "scored"), act(0, "scored")]);
    assert_eq!(
        j["dates"][0]["reason"].as_str(),
        Some("its previous snapshot changed")
    );
    assert_eq!(
        j["dates"][1]["reason"].as_str(),
        Some("its previous snapshot changed")
    );
}

#[test]
fn a_held_lease_stops_a_backfill_before_any_write() {
    let env = Env::new();
    std::fs::create_dir_all(&env.output).unwrap();
    let lease = serde_json::json!({
        "run_id": "nightly",
        "host": "scheduler-1",
        "expires": (chrono::Utc::now() + chrono::Duration::minutes(30)).to_rfc3339(),
    });
    std::fs::write(env.output.join("_LOCK"), lease.to_string()).unwrap();
    let (code, j, _) = env.json(&env.input, &strs(&span(2, 0)));
    assert_eq!(code, 1);
    assert_eq!(j["error"]["kind"], "locked");
    assert!(!env.output.join("scores").exists(), "nothing written");
}

#[test]
fn progress_is_logged_per_date_as_done_of_total_and_lines_carry_the_date_at_hand() {
    let env = Env::new();
    let o = run_cmd(
        &["--log-format", "json"],
        &env.pipeline,
        &env.input,
        &env.output,
        &strs(&span(2, 0)),
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    let progress: Vec<(u64, u64, String)> = o
        .stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|j| j["stage"] == "backfill")
        .map(|j| {
            (
                j["done"].as_u64().unwrap(),
                j["total"].as_u64().unwrap(),
                j["date"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        progress,
        vec![
            (1, 3, day(2).to_string()),
            (2, 3, day(1).to_string()),
            (3, 3, day(0).to_string()),
        ]
    );
    // Every stage line says which date it belongs to.
    let stage_dates: Vec<String> = o
        .stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|j| j["stage"] == "score")
        .map(|j| j["as_of"].as_str().unwrap_or("none").to_string())
        .collect();
    assert_eq!(
        stage_dates,
        vec![day(2).to_string(), day(1).to_string(), day(0).to_string()]
    );
}

#[test]
fn a_backfill_over_dirty_rows_counts_and_scores_each_date_like_a_single_run() {
    // Rows of every kind the row accounting tells apart, on days around
    // the range: rule breakers, orphans (unknown and null id), null dates,
    // rows after some of the dates, nulls of optional columns, and history
    // older than any window.
    use bad_fixture::{id, o, Fixture, Rev, Srv, Tkt, Use};
    let mut fx = Fixture::valid(12);
    let usage = |cid: Option<String>, day: Option<i64>, events: i64, users: Option<i64>| Use {
        id: cid,
        day,
        feature: o("login"),
        events: Some(events),
        users,
    };
    // Fresh usage on every day of the range (the fixture's covers 10).
    for i in 0..12 {
        for d in 10..30 {
            fx.usage.push(usage(id(i), Some(d), 1 + d % 4, Some(1)));
        }
    }
    fx.usage.push(usage(id(1), Some(3), -5, Some(1))); // negative_events
    fx.usage.push(usage(id(2), None, 4, Some(1))); // null_date
    fx.usage.push(usage(o("C-unknown"), Some(2), 4, Some(1))); // orphan
    fx.usage.push(usage(None, Some(6), 4, Some(1))); // null customer_id
    fx.usage.push(usage(id(3), Some(-2), 9, Some(2))); // after every date
    fx.usage.push(usage(id(4), Some(1), 7, None)); // users null (optional)
    fx.usage.push(usage(id(5), Some(400), 50, Some(3))); // older than any window
    fx.usage.push(usage(id(6), Some(45), 11, Some(2))); // only in logins_prev_30d for late dates
    fx.tickets.push(Tkt {
        ticket: Some("TX".into()),
        id: id(7),
        opened: Some(4),
        closed: None,
        priority: o("blocker"), // unknown_priority
    });
    fx.surveys.push(Srv {
        id: id(8),
        at: Some(2),
        kind: o("nps"),
        score: Some(14), // nps_out_of_range
    });
    fx.revenue.push(Rev {
        id: id(9),
        month: Some(bad_fixture::month_before_d(0)),
        mrr: Some(-1.0), // negative_mrr
        dpd: Some(0),
    });
    let case = bad_fixture::Case::lenient();
    fx.write(&case.input());
    let (pipeline, input) = (case.pipeline(), case.input());
    let (pipeline, input) = (pipeline.to_str().unwrap(), input.to_str().unwrap());
    let backfilled = case.tmp.path().join("backfilled");
    let singles = case.tmp.path().join("singles");
    // As many dates as make a range order its tables by day (the path
    // under test: windows read, earlier rows counted once).
    let n = healthscore::aggregate::range::ORDER_FROM_DATES as i64;
    let dates: Vec<String> = (0..n).rev().map(|k| day(k).to_string()).collect();
    let (code, j, stderr) = run_json(pipeline, input, &backfilled, &strs(&span(n - 1, 0)));
    assert_eq!(code, 0, "{j}\n{stderr}");
    for d in &dates {
        let o = run_cmd(&[], pipeline, input, &singles, &["--as-of", d]);
        assert_eq!(o.code, 0, "{d}: {}", o.stderr);
    }
    assert_eq!(parquet_objects(&backfilled), parquet_objects(&singles));
    for d in &dates {
        let (a, b) = (read_manifest(&backfilled, d), read_manifest(&singles, d));
        assert_eq!(a["tables"], b["tables"], "row accounting of {d}");
    }
    // The planted rows are counted as planted: at D, the null-date usage
    // row, the negative one; two orphans; one row after D; one null users.
    let m = read_manifest(&backfilled, D);
    let usage = &m["tables"]["usage"];
    assert_eq!(usage["rejected"]["null_date"], 1, "{usage}");
    assert_eq!(usage["rejected"]["negative_events"], 1, "{usage}");
    assert_eq!(usage["after_as_of"], 1, "{usage}");
    assert_eq!(
        m["tables"]["support_tickets"]["rejected"]["unknown_priority"],
        1
    );
    assert_eq!(
        m["tables"]["survey_responses"]["rejected"]["nps_out_of_range"],
        1
    );
    assert_eq!(m["tables"]["revenue"]["rejected"]["negative_mrr"], 1);
    // Four dates earlier the negative-events row (day 3) is after D − 4.
    let m4 = read_manifest(&backfilled, &day(4).to_string());
    assert_eq!(
        m4["tables"]["usage"]["rejected"]["negative_events"],
        serde_json::Value::Null
    );
}

#[test]
fn per_day_exports_are_read_per_date_and_a_failing_date_stops_the_backfill() {
    // `--input …/{as_of}`: an export folder per day. D−2 and D−1 are fine;
    // D's usage lacks its `events` column.
    let env = Env::new();
    let root = env._tmp.path().join("daily");
    for k in [2, 1, 0] {
        exports(&root.join(day(k).to_string()), 40, 5);
    }
    let usage = root.join(format!("{}/usage", day(0)));
    for e in std::fs::read_dir(&usage).unwrap() {
        let part = e.unwrap().path();
        let df = read_parquet(&part).drop("events").unwrap();
        std::fs::remove_file(&part).unwrap();
        write_parquet(&usage, part.file_name().unwrap().to_str().unwrap(), df);
    }
    let input = format!("{}/{{as_of}}", root.display());
    let (code, j, stderr) = env.json(&input, &strs(&span(2, 0)));
    assert_eq!(code, 2, "{j}\n{stderr}");
    assert_eq!(j["error"]["kind"], "contract");
    assert_eq!(j["error"]["table"], "usage");
    let message = j["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with(&format!("backfill date {}: ", day(0))) && message.contains("events"),
        "{message}"
    );
    // The dates before it are committed, each from its own folder; the
    // failing date has no snapshot; the lease is released.
    for k in [2, 1] {
        let m = read_manifest(&env.output, &day(k).to_string());
        let path = m["inputs"][0]["path"].as_str().unwrap();
        assert!(path.contains(&format!("daily/{}/", day(k))), "{path}");
    }
    assert!(!env
        .output
        .join(format!("scores/snapshot_date={}", day(0)))
        .exists());
    assert!(!env.output.join("_LOCK").exists());
    // Fixed, the same command skips the committed dates and does the rest.
    exports(&root.join(day(0).to_string()), 40, 5);
    let (code, j, stderr) = env.json(&input, &strs(&span(2, 0)));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        actions(&j),
        vec![act(2, "skipped"), act(1, "skipped"), act(0, "scored")]
    );
}

/// SPEC §11 over a range: the overrides and band hysteresis case of the
/// SQL tests (K held Healthy by its model band on D, overrides expired,
/// superseded and in force) run as one `--from/--to` over an export
/// folder per date gives the bytes of two single runs, and the same
/// counts: the range takes D − 1's snapshot from memory as D's previous,
/// the single run of D reads it back.
#[test]
fn a_range_with_overrides_and_hysteresis_equals_single_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let (pipeline, days) = crate::sql::overrides_case(tmp.path());
    let root = tmp.path().join("by_date");
    std::fs::create_dir_all(&root).unwrap();
    for (date, dir) in &days {
        std::fs::rename(dir, root.join(date)).unwrap();
    }
    let input = format!("{}/{{as_of}}", root.display());
    let pipeline = pipeline.to_str().unwrap();
    let (ranged, singles) = (tmp.path().join("ranged"), tmp.path().join("singles"));
    let (first, last) = (days[0].0, days[1].0);
    let o = run_cmd(
        &[],
        pipeline,
        &input,
        &ranged,
        &["--from", first, "--to", last],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    for (date, _) in &days {
        let input = root.join(date);
        let o = run_cmd(
            &[],
            pipeline,
            input.to_str().unwrap(),
            &singles,
            &["--as-of", date],
        );
        assert_eq!(o.code, 0, "{date}: {}", o.stderr);
    }
    let (a, b) = (parquet_objects(&ranged), parquet_objects(&singles));
    assert_eq!(
        a.len(),
        8,
        "scores, summary, metrics, changes for 2 dates: {:?}",
        a.keys()
    );
    assert_eq!(a, b);
    let (m, single) = (read_manifest(&ranged, last), read_manifest(&singles, last));
    for k in [
        "tables",
        "accounts",
        "changes",
        "bands_held",
        "overrides_applied",
        "previous_snapshot",
        "previous_scores_sha256",
        "scores_sha256",
    ] {
        assert_eq!(m[k], single[k], "{k}");
    }
    // The hand-worked counts of the case (see the SQL test): one band
    // held, the previous snapshot D − 1.
    assert_eq!(m["bands_held"], 1);
    assert_eq!(m["previous_snapshot"], first);
}

/// `backtest` over shared inputs reads each input object once for all
/// its dates (the range's tables held in memory, ordered by day), and
/// measures every date as reading the inputs afresh for each date does
/// (the per-date path): the same report, figure for figure.
#[test]
fn a_backtest_reads_shared_inputs_once_and_measures_each_date_as_a_fresh_read() {
    use healthscore::commands::backtest::{backtest_model, read_labels, Options};
    let tmp = tempfile::tempdir().unwrap();
    let local = tmp.path().join("in");
    exports(&local, 300, 5);
    let (shared, counting, objects) = counted_copy(&local);
    let p = default_pipeline();
    let dates: Vec<_> = [28, 21, 14, 7, 0].into_iter().map(day).collect();
    let (labels, _) =
        read_labels(&p, local.to_str().unwrap(), "churn_labels", dates[4], &[]).unwrap();
    let opts = Options {
        dates: dates.clone(),
        every_days: 7,
        horizon_days: 30,
        l2: 1.0,
    };
    let alert = vec!["Critical".to_string()];
    counting.reset();
    let once = backtest_model(&p, &Inputs::Shared(shared), &labels, &alert, &opts).unwrap();
    let reads = counting.counts();
    for o in &objects {
        assert_eq!(reads.get(o), Some(&1), "reads of {o}: {reads:?}");
    }
    let fresh = |_| Store::open(local.to_str().unwrap(), &[]);
    let per_date = backtest_model(&p, &Inputs::PerDate(&fresh), &labels, &alert, &opts).unwrap();
    assert_eq!(
        serde_json::to_value(&once).unwrap(),
        serde_json::to_value(&per_date).unwrap()
    );
    assert_eq!(once.per_date.len(), 5);
}
