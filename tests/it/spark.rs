//! `run --engine spark` (SPEC §10) against a real Spark Connect server
//! (pyspark 4.3.0 from the test venv, local[2], on 127.0.0.1): every
//! table's cells (strings and integers equal, floats to 1e-9), column
//! names and types, and the manifest's counts equal `--engine local`'s on
//! each data set; the parts Spark writes keep SPEC §6's type rules; a
//! refused guard is exit 2 with nothing written, a lost or unreachable
//! cluster exit 1 with no `_SUCCESS` and no staging left.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;
use crate::servers::spark::{spark_connect, SparkServer};
use crate::sql::{overrides_case, prepared_input, DUPLICATES_PY, HANDMADE, PREPARE_PY};

const D: &str = "2026-11-24";
const D_PREV: &str = "2026-11-17";

/// Compares the local and the Spark outputs of the dates given: every
/// table's parts read in order with pyarrow, then the manifests' counts;
/// checks the type rules on every part Spark wrote and that no staging
/// prefix is left. Argument: a JSON config.
const COMPARE_PY: &str = r#"import json, sys, glob, os, math
import pyarrow as pa, pyarrow.parquet as pq

cfg = json.load(open(sys.argv[1]))
a_root, b_root = cfg["local"], cfg["spark"]
problems = []

def parts(root, table, d):
    return sorted(glob.glob(f"{root}/{table}/snapshot_date={d}/*.parquet"))

# Floats to 1e-9, relative beyond 1: a sum of many doubles (the summary's
# mrr, ~1e8 at 1M accounts) is added in another order by the cluster's
# partitions, and its last bits differ (1e-7 absolute on 7e8).
def same(x, y):
    if isinstance(x, float) and isinstance(y, float):
        return (math.isnan(x) and math.isnan(y)) or abs(x - y) <= 1e-9 * max(1.0, abs(x), abs(y))
    return x == y

def type_rules(table, f):
    meta = pq.read_metadata(f)
    if meta.num_rows > 1_000_000:
        problems.append(f"{f}: {meta.num_rows} rows in one part")
    for field in pq.read_schema(f):
        t = field.type
        if pa.types.is_unsigned_integer(t) or pa.types.is_large_string(t) or pa.types.is_dictionary(t) \
                or (pa.types.is_timestamp(t) and t.unit == "ns"):
            problems.append(f"{f}: column {field.name} has type {t}")
        if field.name == "snapshot_date":
            problems.append(f"{f}: a snapshot_date column inside the file")
        if table == "scores" and field.name in ("score", "prev_score", "score_change") and t != pa.int32():
            problems.append(f"{f}: {field.name} is {t}, not int32")

compared = 0
for d in cfg["dates"]:
    for table in ["scores", "summary", "metrics", "changes"]:
        fa, fb = parts(a_root, table, d), parts(b_root, table, d)
        if bool(fa) != bool(fb):
            problems.append(f"{table} {d}: local has {len(fa)} parts, spark {len(fb)}")
            continue
        if not fa:
            continue
        for f in fb:
            type_rules(table, f)
        ta = pa.concat_tables([pq.read_table(f) for f in fa])
        tb = pa.concat_tables([pq.read_table(f) for f in fb])
        sa = [(f.name, str(f.type)) for f in ta.schema]
        sb = [(f.name, str(f.type)) for f in tb.schema]
        if sa != sb:
            problems.append(f"{table} {d}: columns differ:\n  local {sa}\n  spark {sb}")
            continue
        if ta.num_rows != tb.num_rows:
            problems.append(f"{table} {d}: local {ta.num_rows} rows, spark {tb.num_rows}")
            continue
        for name in ta.column_names:
            ca, cb = ta.column(name).to_pylist(), tb.column(name).to_pylist()
            bad = [(i, x, y) for i, (x, y) in enumerate(zip(ca, cb)) if not same(x, y)]
            if bad:
                problems.append(f"{table} {d} {name}: {len(bad)} cells differ, e.g. {bad[:3]}")
        compared += ta.num_rows
    ma = json.load(open(f"{a_root}/scores/snapshot_date={d}/_SUCCESS"))
    mb = json.load(open(f"{b_root}/scores/snapshot_date={d}/_SUCCESS"))
    for key in ["tables", "accounts", "changes", "bands_held", "overrides_applied",
                "previous_snapshot", "warnings", "scores_schema"]:
        if ma.get(key) != mb.get(key):
            problems.append(f"manifest {d} {key}:\n  local {ma.get(key)}\n  spark {mb.get(key)}")
    if (ma.get("engine"), mb.get("engine")) != ("local", "spark"):
        problems.append(f"manifest {d} engines: {ma.get('engine')}, {mb.get('engine')}")
    if not str(mb.get("spark_application_id", "")).startswith("local-"):
        problems.append(f"manifest {d}: spark_application_id {mb.get('spark_application_id')}")
if os.path.exists(os.path.join(b_root, "_staging")):
    problems.append(f"a staging prefix is left: {os.listdir(os.path.join(b_root, '_staging'))}")
if compared == 0:
    problems.append("no rows compared")
if problems:
    print("\n".join(problems))
    sys.exit(1)
print("equal", compared)
"#;

/// `healthscore run` on this machine, or with `--engine spark` on
/// `server`.
fn run_on(
    server: Option<&SparkServer>,
    pipeline: &Path,
    input: &Path,
    out: &Path,
    date: &str,
) -> Out {
    let remote = server.map(SparkServer::remote);
    let mut extra = vec!["--allow-schema-change"];
    if let Some(remote) = &remote {
        extra.extend(["--engine", "spark", "--spark-remote", remote.as_str()]);
    }
    run_pipeline(pipeline, input, out, date, &extra)
}

/// `count` accounts generated into `dir/input` (seed `seed`, as of D).
fn generated(dir: &Path, count: &str, seed: &str) -> PathBuf {
    let input = dir.join("input");
    let g = healthscore(&[
        "generate",
        "--accounts",
        count,
        "--seed",
        seed,
        "--as-of",
        D,
        "--out",
        input.to_str().unwrap(),
    ]);
    assert_eq!(g.code, 0, "generate failed: {}", g.stderr);
    input
}

/// Runs each (pipeline, date) in order on both engines into
/// `dir/local` and `dir/spark`, then compares the two outputs.
fn both_engines(server: &SparkServer, dir: &Path, input: &Path, runs: &[(&Path, &str)]) {
    let runs: Vec<(&Path, &str, &Path)> = runs.iter().map(|(p, d)| (*p, *d, input)).collect();
    both_engines_on(server, dir, &runs);
}

/// [`both_engines`] with each date's own input folder: (pipeline, date,
/// input).
fn both_engines_on(server: &SparkServer, dir: &Path, runs: &[(&Path, &str, &Path)]) {
    let (local, spark) = (dir.join("local"), dir.join("spark"));
    for (pipeline, date, input) in runs {
        let l = run_on(None, pipeline, input, &local, date);
        assert_eq!(l.code, 0, "local run failed: {}", l.stderr);
        let s = run_on(Some(server), pipeline, input, &spark, date);
        assert_eq!(
            s.code,
            0,
            "spark run failed: {}\n--- server log ---\n{}",
            s.stderr,
            server.log()
        );
    }
    let dates: Vec<&str> = runs.iter().map(|(_, d, _)| *d).collect();
    compare(dir, &local, &spark, &dates);
}

/// The comparison of two outputs on `dates` ([`COMPARE_PY`]).
fn compare(dir: &Path, local: &Path, spark: &Path, dates: &[&str]) {
    let cfg = dir.join("compare.json");
    std::fs::write(
        &cfg,
        serde_json::json!({ "local": local, "spark": spark, "dates": dates }).to_string(),
    )
    .unwrap();
    run_python(COMPARE_PY, &cfg);
}

/// Sample data rewritten with the types SPEC §2 accepts and Spark reads
/// otherwise: nanosecond and zoned timestamps, dictionary strings,
/// unsigned integers.
const TYPES_PY: &str = r#"import json, os, sys, glob
import pyarrow as pa, pyarrow.parquet as pq, pyarrow.compute as pc
cfg = json.load(open(sys.argv[1]))
src, dst = cfg["src"], cfg["dst"]
for path in glob.glob(f"{src}/*/*.parquet"):
    table = os.path.basename(os.path.dirname(path))
    t = pq.read_table(path)
    cols = {}
    for name in t.column_names:
        c = t.column(name)
        if table == "usage" and name == "date":
            c = c.cast(pa.timestamp("s")).cast(pa.timestamp("ns", tz="America/New_York"))
        elif table == "support_tickets" and name in ("opened_at", "closed_at"):
            c = c.cast(pa.timestamp("ns"))
        elif table == "usage" and name == "events":
            c = c.cast(pa.uint32())
        elif table == "usage" and name == "users":
            c = c.cast(pa.uint64())
        elif table == "accounts" and name == "seats":
            c = c.cast(pa.uint16())
        elif name in ("customer_id", "feature", "segment", "priority"):
            c = pc.dictionary_encode(c)
        cols[name] = c
    os.makedirs(f"{dst}/{table}", exist_ok=True)
    pq.write_table(pa.table(cols), f"{dst}/{table}/part-00000.parquet", coerce_timestamps=None, allow_truncated_timestamps=False)
"#;

#[test]
fn spark_engine_equals_local_engine_on_every_data_set() {
    let server = spark_connect();
    let default = repo().join("pipelines/default.toml");
    let b2c = repo().join("pipelines/b2c.toml");
    let sample = repo().join("sample_data");

    // The sample data, two dates with a trend, then the b2c model on the
    // next date (rebased), then b2c on its own.
    let dir = tempfile::tempdir().unwrap();
    both_engines(
        &server,
        dir.path(),
        &sample,
        &[(&default, D_PREV), (&default, D), (&b2c, "2026-11-25")],
    );
    // The same two dates as one range on the cluster (one job per date)
    // equal the local runs of each date.
    let range = dir.path().join("range");
    let remote = server.remote();
    let r = healthscore(&[
        "run",
        "--pipeline",
        default.to_str().unwrap(),
        "--input",
        sample.to_str().unwrap(),
        "--output",
        range.to_str().unwrap(),
        "--from",
        D_PREV,
        "--to",
        D,
        "--every",
        "7d",
        "--engine",
        "spark",
        "--spark-remote",
        &remote,
    ]);
    assert_eq!(r.code, 0, "a range on the cluster: {}", r.stderr);
    compare(dir.path(), &dir.path().join("local"), &range, &[D_PREV, D]);
    let dir = tempfile::tempdir().unwrap();
    both_engines(&server, dir.path(), &sample, &[(&b2c, D)]);

    // A pipeline with an extra event table, an account filter, renamed
    // and pass-through columns over rows that break rules and orphans.
    let dir = tempfile::tempdir().unwrap();
    let input = prepared_input(dir.path(), PREPARE_PY, serde_json::json!({}));
    let handmade = dir.path().join("handmade.toml");
    std::fs::write(&handmade, HANDMADE).unwrap();
    both_engines(
        &server,
        dir.path(),
        &input,
        &[(&handmade, D_PREV), (&handmade, D)],
    );

    // Nanosecond and zoned timestamps, dictionary strings, unsigned ints.
    let dir = tempfile::tempdir().unwrap();
    let input = prepared_input(dir.path(), TYPES_PY, serde_json::json!({}));
    both_engines(&server, dir.path(), &input, &[(&default, D)]);

    // 20,000 generated accounts.
    let dir = tempfile::tempdir().unwrap();
    let input = generated(dir.path(), "20000", "11");
    both_engines(&server, dir.path(), &input, &[(&default, D)]);

    overrides_and_hysteresis(&server);
    refused_guard_writes_nothing(&server, &sample, &default);
    duplicate_ids_are_refused(&server, &default);
}

/// Accounts ids held by several rows on the cluster: exit 2 with `run`'s
/// message, nothing written.
fn duplicate_ids_are_refused(server: &SparkServer, default: &Path) {
    let dir = tempfile::tempdir().unwrap();
    let input = prepared_input(dir.path(), DUPLICATES_PY, serde_json::json!({}));
    let out = dir.path().join("out");
    let r = run_on(Some(server), default, &input, &out, D);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "column customer_id must be unique; 2 ids appear more than once, e.g. C0000001, C0000002"
        ),
        "{}",
        r.stderr
    );
    assert!(!out.join("scores").exists() && !out.join("_staging").exists());
}

/// SPEC §11 on the cluster: overrides (expired, superseded, in force)
/// and band hysteresis over two dates, as in the SQL tests.
fn overrides_and_hysteresis(server: &SparkServer) {
    let dir = tempfile::tempdir().unwrap();
    let (pipeline, [(d1, day1), (d2, day2)]) = overrides_case(dir.path());
    both_engines_on(
        server,
        dir.path(),
        &[(&pipeline, d1, &day1), (&pipeline, d2, &day2)],
    );
    // The counts worked out by hand in the SQL test of the same data.
    let m = read_manifest(&dir.path().join("spark"), D);
    let t = &m["tables"]["overrides"];
    assert_eq!(
        (t["expired"].clone(), t["superseded"].clone()),
        (2.into(), 3.into())
    );
    assert_eq!(t["rows_used"], 6);
    assert_eq!(m["bands_held"], 1, "K's model band held");
}

/// A stale export (the lag guard) on the cluster: exit 2, the guard's
/// message, nothing written, no staging left.
fn refused_guard_writes_nothing(server: &SparkServer, sample: &Path, default: &Path) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    // Two months after the sample's last event: usage is stale.
    let r = run_on(Some(server), default, sample, &out, "2027-01-31");
    assert_eq!(r.code, 2, "a stale export is refused: {}", r.stderr);
    assert!(
        r.stderr.contains("table usage: latest event date is"),
        "{}",
        r.stderr
    );
    assert!(
        !out.join("scores").exists() && !out.join("_staging").exists(),
        "nothing written: {:?}",
        std::fs::read_dir(&out).map(|d| d.flatten().map(|e| e.file_name()).collect::<Vec<_>>())
    );
}

#[test]
fn a_cluster_lost_during_a_run_is_exit_1_with_nothing_committed() {
    let dir = tempfile::tempdir().unwrap();
    let input = generated(dir.path(), "20000", "5");
    let mut server = spark_connect();
    let out = dir.path().join("out");
    let remote = server.remote();
    let mut run = Command::new(env!("CARGO_BIN_EXE_healthscore"))
        .args([
            "run",
            "--pipeline",
            repo().join("pipelines/default.toml").to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "--output",
            out.to_str().unwrap(),
            "--as-of",
            D,
            "--engine",
            "spark",
            "--spark-remote",
            &remote,
            "--spark-lost-after",
            "3",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Once the run holds the lease it is talking to the cluster: kill the
    // cluster while the job runs.
    let started = Instant::now();
    while !out.join("_LOCK").exists() && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        run.try_wait().unwrap().is_none(),
        "the run ended before the cluster was killed"
    );
    server.kill();
    let o = run.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        o.status.code(),
        Some(1),
        "a lost cluster is exit 1: {stderr}"
    );
    assert!(
        stderr.contains(&remote),
        "the message names the endpoint: {stderr}"
    );
    assert!(!out
        .join(format!("scores/snapshot_date={D}/_SUCCESS"))
        .exists());
    assert!(!out.join("_staging").exists(), "no staging left");
    assert!(!out.join("_LOCK").exists(), "the lease is released");
}

#[test]
fn an_unreachable_cluster_is_exit_1_naming_the_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let out: PathBuf = dir.path().join("out");
    let port = crate::servers::free_port();
    let remote = format!("sc://127.0.0.1:{port}");
    let r = healthscore(&[
        "run",
        "--pipeline",
        repo().join("pipelines/default.toml").to_str().unwrap(),
        "--input",
        repo().join("sample_data").to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
        "--as-of",
        D,
        "--engine",
        "spark",
        "--spark-remote",
        &remote,
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "Spark Connect endpoint {remote}: cannot reach the Spark Connect server"
        )),
        "{}",
        r.stderr
    );
    assert!(!out.join("scores").exists() && !out.join("_LOCK").exists());
}
