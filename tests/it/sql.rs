//! `healthscore sql` (SPEC §10): the compiled script, run by the test
//! venv's DuckDB over views registered from the Parquet exports (the
//! pipeline's column mapping applied), gives `run`'s scores, summary,
//! long metrics table and changes (SPEC §11, band hysteresis and
//! overrides included) cell for cell (strings and integers equal, floats to
//! 1e-9, same column names, order and types) and the manifest's row
//! accounting; the Spark script is deterministic and pipeline strings
//! reach it only escaped.

use crate::common;
use common::*;
use std::path::{Path, PathBuf};

use healthscore::pipeline::Pipeline;

const D: &str = "2026-11-24";
const D_PREV: &str = "2026-11-17";

/// Registers the input views and `previous_scores`, runs the script
/// statement by statement (split at `;` line ends), and compares its views
/// with `run`'s output and manifest. Argument: a JSON config.
const CHECK_PY: &str = r#"import json, sys, glob, os
import duckdb

cfg = json.load(open(sys.argv[1]))
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
if cfg.get("timezone"):
    con.execute(f"SET TimeZone = '{cfg['timezone']}'")

def q(n):
    return '"' + n.replace('"', '""') + '"'

def lit(s):
    return "'" + s.replace("'", "''") + "'"

# Input views: the exports with the pipeline's column mapping applied.
for t in cfg["tables"]:
    path = os.path.join(cfg["input"], t["path"])
    src = path if path.endswith(".parquet") else os.path.join(path, "**", "*.parquet")
    scan = f"read_parquet({lit(src)}, hive_partitioning = true)"
    cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()]
    back = {phys: canon for canon, phys in t["renames"].items()}
    sel = ", ".join(f"{q(c)} AS {q(back.get(c, c))}" for c in cols)
    con.execute(f"CREATE VIEW {q(t['table'])} AS SELECT {sel} FROM {scan}")

prev = cfg.get("previous")
if prev:
    con.execute(f"CREATE VIEW previous_scores AS SELECT * FROM read_parquet({lit(prev)})")
else:
    con.execute("CREATE VIEW previous_scores AS SELECT NULL::VARCHAR AS customer_id, NULL::INTEGER AS score, "
                "NULL::VARCHAR AS band, NULL::VARCHAR AS model_version WHERE false")

script = open(cfg["sql"]).read()
statements = [s for s in script.split(";\n") if s.strip()]
for s in statements:
    con.execute(s)

problems = []

def compare(name, view, pattern, order_key):
    files = sorted(glob.glob(pattern))
    if not files:
        problems.append(f"{name}: no files {pattern}")
        return
    con.execute(f"CREATE OR REPLACE TEMP TABLE a AS SELECT * EXCLUDE (filename, file_row_number) FROM read_parquet({files!r}, filename = true, file_row_number = true, hive_partitioning = false) ORDER BY filename, file_row_number")
    con.execute(f"CREATE OR REPLACE TEMP TABLE b AS SELECT * FROM {view}")
    ta = con.execute("DESCRIBE a").fetchall()
    tb = con.execute("DESCRIBE b").fetchall()
    sa = [(r[0], r[1]) for r in ta]
    sb = [(r[0], r[1]) for r in tb]
    if sa != sb:
        problems.append(f"{name}: columns/types differ:\n  run {sa}\n  sql {sb}")
        return
    na = con.execute("SELECT count(*) FROM a").fetchone()[0]
    nb = con.execute("SELECT count(*) FROM b").fetchone()[0]
    if na != nb:
        problems.append(f"{name}: row count run {na} vs sql {nb}")
    con.execute("CREATE OR REPLACE TEMP TABLE a2 AS SELECT *, row_number() OVER () AS rn FROM a")
    con.execute("CREATE OR REPLACE TEMP TABLE b2 AS SELECT *, row_number() OVER () AS rn FROM b")
    for n, t in sa:
        qn = q(n)
        if t in ("DOUBLE", "FLOAT"):
            c = (f"(a2.{qn} IS NULL AND b2.{qn} IS NULL) OR (a2.{qn} IS NOT NULL AND b2.{qn} IS NOT NULL AND "
                 f"(a2.{qn} = b2.{qn} OR abs(a2.{qn} - b2.{qn}) <= 1e-9))")
        else:
            c = f"a2.{qn} IS NOT DISTINCT FROM b2.{qn}"
        bad = con.execute(f"SELECT count(*) FROM a2 FULL JOIN b2 USING (rn) WHERE NOT ({c})").fetchone()[0]
        if bad:
            ex = con.execute(f"SELECT rn, a2.{order_key}, b2.{order_key}, a2.{qn}, b2.{qn} FROM a2 FULL JOIN b2 USING (rn) WHERE NOT ({c}) ORDER BY rn LIMIT 5").fetchall()
            problems.append(f"{name}.{n}: {bad} cells differ, e.g. {ex}")

out, d = cfg["output"], cfg["date"]
compare("scores", "scores", f"{out}/scores/snapshot_date={d}/*.parquet", "customer_id")
compare("summary", "summary", f"{out}/summary/snapshot_date={d}/*.parquet", "scorecard")
if cfg.get("metrics_table"):
    compare("metrics", "metrics", f"{out}/metrics/snapshot_date={d}/*.parquet", "customer_id")
compare("changes", "changes", f"{out}/changes/snapshot_date={d}/*.parquet", "customer_id")

manifest = json.load(open(f"{out}/scores/snapshot_date={d}/_SUCCESS"))
tables = manifest["tables"]
seen = set()
for table, name, rows in con.execute("SELECT * FROM row_accounting").fetchall():
    m = tables.get(table)
    if m is None:
        problems.append(f"row_accounting: table {table} not in the manifest")
        continue
    if "." in name:
        kind, key = name.split(".", 1)
        expected = m.get(kind, {}).get(key, 0)
    else:
        expected = m.get(name)
    seen.add((table, name))
    if expected != rows:
        problems.append(f"row_accounting {table} {name}: sql {rows} vs manifest {expected}")
for table, first, last in con.execute("SELECT table_name, CAST(earliest_event_date AS VARCHAR), CAST(latest_event_date AS VARCHAR) FROM event_dates").fetchall():
    m = tables.get(table, {})
    for key, got in (("earliest_event_date", first), ("latest_event_date", last)):
        if m.get(key) != got:
            problems.append(f"event_dates {table} {key}: sql {got} vs manifest {m.get(key)}")
for table, m in tables.items():
    for key in ["rows_read", "after_as_of", "rows_used", "not_yet_customers", "excluded_by_filter",
                "expired", "superseded"]:
        if m.get(key) is not None and (table, key) not in seen:
            problems.append(f"row_accounting: missing {table} {key}")
    for kind in ["rejected", "orphaned", "nulls"]:
        for k, v in (m.get(kind) or {}).items():
            if v and (table, f"{kind}.{k}") not in seen:
                problems.append(f"row_accounting: missing {table} {kind}.{k} ({v})")
dups = con.execute("SELECT count(*) FROM duplicate_ids").fetchone()[0]
if dups:
    problems.append(f"duplicate_ids has {dups} rows for accounts run accepted")
held = con.execute("SELECT accounts FROM bands_held").fetchone()[0]
if held != manifest.get("bands_held"):
    problems.append(f"bands_held: sql {held} vs manifest {manifest.get('bands_held')}")
changes = con.execute("SELECT count(*) FROM changes").fetchone()[0]
if cfg.get("expect_changes") and not changes:
    problems.append("the changes view has no rows")

expect = cfg.get("expect_trends")
if expect:
    got = dict(con.execute("SELECT trend, count(*) FROM scores GROUP BY trend").fetchall())
    for k in expect:
        if not got.get(k):
            problems.append(f"trend {k} never appears: {got}")

if problems:
    print("\n".join(problems))
    sys.exit(1)
print("equal")
"#;

/// Makes the hand-made pipeline's inputs from sample_data: accounts with a
/// renamed column (segment → seg), a status and a CSM owner, and a null
/// id; usage with rows breaking rules, orphans and a row after D.
pub(crate) const PREPARE_PY: &str = r#"
import json, os, sys
import duckdb
cfg = json.load(open(sys.argv[1]))
src, dst, d = cfg["src"], cfg["dst"], cfg["date"]
con = duckdb.connect()
def copy(sql, rel):
    os.makedirs(os.path.dirname(os.path.join(dst, rel)), exist_ok=True)
    con.execute(f"COPY ({sql}) TO '{os.path.join(dst, rel)}' (FORMAT parquet)")
scan = lambda t: f"read_parquet('{src}/{t}/*.parquet')"
copy(f"""SELECT customer_id, name, segment AS seg, signup_date, seats, onboarding_completion_pct,
           CASE WHEN right(customer_id, 1) = '7' THEN 'cancelled' ELSE 'active' END AS status,
           'csm-' || right(customer_id, 1) AS csm_owner
    FROM {scan('accounts')}
    UNION ALL SELECT NULL, 'No Id', 'smb', DATE '2024-01-01', 3, 50.0, 'active', 'csm-0'""",
     "accounts/part-00000.parquet")
copy(f"""SELECT * FROM {scan('usage')}
    UNION ALL SELECT 'C0000001', DATE '{d}' - 1, 'login', -3, 1
    UNION ALL SELECT 'C0000002', DATE '{d}' - 2, NULL, 2, 1
    UNION ALL SELECT 'ZZ-unknown', DATE '{d}' - 1, 'login', 4, 1
    UNION ALL SELECT NULL, DATE '{d}' - 1, 'login', 4, 1
    UNION ALL SELECT 'C0000003', DATE '{d}' + 3, 'login', 9, 1""",
     "usage/part-00000.parquet")
for t in ["support_tickets", "revenue", "csm_pulse", "survey_responses"]:
    copy(f"SELECT * FROM {scan(t)}", f"{t}/part-00000.parquet")
"#;

/// A pipeline with an account filter, a renamed and a pass-through column,
/// an extra event table (csm_pulse), steps and lower-is-better percentile
/// metrics, offset windows, days_since, first/last, a scorecard on a raw
/// metric with its own playbook, a fixed missing value, the long metrics
/// table, and a filter whose text holds a quote and a `;`.
pub(crate) const HANDMADE: &str = r#"
[pipeline]
name = "handmade"
version = "3"

[settings]
trend_threshold = 7
lag_table = "usage"
summary_mrr_metric = "mrr_latest"
metrics_table = true

[sources.accounts]
path = "accounts"
columns = { segment = "seg" }
[sources.usage]
path = "usage"
[sources.support_tickets]
path = "support_tickets"
[sources.revenue]
path = "revenue"
[sources.csm_pulse]
path = "csm_pulse"
date = "date"

[accounts]
extra_columns = ["status", "csm_owner"]
filter = "status != 'cancelled'"
pass_through = ["csm_owner"]

[[groups]]
name = "usage"
playbook = "usage-review"
[[groups]]
name = "health"
playbook = "csm-call"

[[metrics]]
name = "logins_14d"
table = "usage"
agg = "sum"
column = "events"
filter = "feature = 'login'"
window_days = 14

[[metrics]]
name = "logins_prev_14d"
table = "usage"
agg = "sum"
column = "events"
filter = "feature = 'login'"
window_days = 14
offset_days = 14

[[metrics]]
name = "mrr_latest"
table = "revenue"
agg = "last"
column = "mrr"
window_days = 90

[[metrics]]
name = "login_steps"
group = "usage"
from = "logins_14d"
normalize = { steps = [[0, 0], [5, 40], [20, 80], [60, 100]] }

[[metrics]]
name = "login_trend"
group = "usage"
ratio = ["logins_14d", "logins_prev_14d"]
normalize = { linear = [0.5, 1.5] }
missing = "neutral"

[[metrics]]
name = "days_since_login"
group = "usage"
weight = 2
table = "usage"
agg = "days_since"
filter = "feature = 'login' and events > 0"
normalize = { percentile = "lower_is_better" }
missing = "worst"

[[metrics]]
name = "odd_features_30d"
group = "usage"
table = "usage"
agg = "count_distinct"
column = "feature"
filter = "feature != 'it''s; DROP VIEW scores' and events > 0"
window_days = 30
normalize = { linear = [0, 6] }

[[metrics]]
name = "pulse_mean_90d"
group = "health"
table = "csm_pulse"
agg = "mean"
column = "sentiment"
window_days = 90
normalize = { linear = [1, 5] }
missing = "neutral"

[[metrics]]
name = "pulse_first_180d"
group = "health"
table = "csm_pulse"
agg = "first"
column = "sentiment"
window_days = 180
normalize = { linear = [1, 5] }
missing = 25

[[metrics]]
name = "tickets_60d"
group = "health"
weight = 2
table = "support_tickets"
agg = "count"
window_days = 60
normalize = { percentile = "lower_is_better" }

[[metrics]]
name = "urgent_share_90d"
group = "health"
ratio = [
  { table = "support_tickets", agg = "count", filter = "priority in ('high', 'urgent')", window_days = 90 },
  { table = "support_tickets", agg = "count", window_days = 90 },
]
normalize = { linear = [0.5, 0] }
missing = "best"

[[metrics]]
name = "tenure"
group = "health"
account = "tenure_days"
normalize = { linear = [0, 730] }

[[scorecards]]
name = "big"
when = "mrr_latest >= 3000"
weights = { usage = 1, health = 2 }
playbooks = { tickets_60d = "escalate", usage = "exec-usage-review" }

[[scorecards]]
name = "enterprise"
when = "segment = 'enterprise' and tenure_days >= 60"
weights = { usage = 3, health = 1 }

[[scorecards]]
name = "rest"
weights = { usage = 1, health = 1 }

[[bands]]
name = "Low"
min = 0
max = 45
color = "red"
[[bands]]
name = "Mid"
min = 46
max = 70
color = "yellow"
[[bands]]
name = "High"
min = 71
max = 100
color = "green"
"#;

/// The sample data rewritten by the Python `script` (PREPARE_PY,
/// DUPLICATES_PY, …) into `dir/input`: its config is `src` (sample_data),
/// `dst` (that folder), the date D and `extra`'s keys.
pub(crate) fn prepared_input(dir: &Path, script: &str, extra: serde_json::Value) -> PathBuf {
    let input = dir.join("input");
    let mut cfg = serde_json::json!({ "src": repo().join("sample_data"), "dst": input, "date": D });
    for (k, v) in extra.as_object().expect("an object") {
        cfg[k] = v.clone();
    }
    let path = dir.join("prepare.json");
    std::fs::write(&path, cfg.to_string()).unwrap();
    run_python(script, &path);
    input
}

/// `healthscore run` then `healthscore sql --dialect duckdb` for `date`,
/// and the DuckDB check of the script against the run's output
/// (`previous`: the scores folder registered as previous_scores).
fn run_and_check(
    dir: &Path,
    input: &Path,
    pipeline: &Path,
    out: &Path,
    date: &str,
    previous: Option<&str>,
    extra: serde_json::Value,
) {
    let (p, i, o) = (
        pipeline.to_str().unwrap(),
        input.to_str().unwrap(),
        out.to_str().unwrap(),
    );
    let run = healthscore(&[
        "run",
        "--pipeline",
        p,
        "--input",
        i,
        "--output",
        o,
        // b2c after default: a new model's columns (trend: rebased).
        "--allow-schema-change",
        "--as-of",
        date,
    ]);
    assert_eq!(run.code, 0, "run failed: {}{}", run.stdout, run.stderr);
    let sql = healthscore(&[
        "sql",
        "--pipeline",
        p,
        "--dialect",
        "duckdb",
        "--as-of",
        date,
    ]);
    assert_eq!(sql.code, 0, "sql failed: {}", sql.stderr);
    let script = dir.join(format!("script-{date}.sql"));
    std::fs::write(&script, &sql.stdout).unwrap();
    let pipeline = Pipeline::load(p).expect("a valid pipeline");
    let tables: Vec<serde_json::Value> = pipeline
        .sources
        .iter()
        .map(|s| serde_json::json!({ "table": s.table, "path": s.path, "renames": s.renames }))
        .collect();
    let mut cfg = serde_json::json!({
        "input": i,
        "tables": tables,
        "sql": script,
        "output": o,
        "date": date,
        "metrics_table": pipeline.settings.metrics_table,
        "previous": previous.map(|d| format!("{o}/scores/snapshot_date={d}/*.parquet")),
    });
    for (k, v) in extra.as_object().unwrap() {
        cfg[k] = v.clone();
    }
    let cfg_path = dir.join(format!("check-{date}.json"));
    std::fs::write(&cfg_path, cfg.to_string()).unwrap();
    run_python(CHECK_PY, &cfg_path);
}

fn no_extra() -> serde_json::Value {
    serde_json::json!({})
}

#[test]
fn sql_of_the_default_pipeline_matches_run_on_two_dates_with_a_trend() {
    let dir = tempfile::tempdir().unwrap();
    let (input, pipeline) = (
        repo().join("sample_data"),
        repo().join("pipelines/default.toml"),
    );
    let out = dir.path().join("out");
    run_and_check(
        dir.path(),
        &input,
        &pipeline,
        &out,
        D_PREV,
        None,
        no_extra(),
    );
    run_and_check(
        dir.path(),
        &input,
        &pipeline,
        &out,
        D,
        Some(D_PREV),
        serde_json::json!({ "expect_trends": ["up", "down", "flat"], "expect_changes": true }),
    );
    let changes = read_manifest(&out, D)["changes"].clone();
    let rows: i64 = changes
        .as_object()
        .expect("changes per kind in the manifest")
        .values()
        .map(|v| v.as_i64().unwrap())
        .sum();
    assert!(rows > 0, "run wrote changes: {changes}");
}

#[test]
fn sql_of_the_b2c_pipeline_matches_run_and_rebases_after_another_model() {
    let dir = tempfile::tempdir().unwrap();
    let input = repo().join("sample_data");
    let out = dir.path().join("out");
    run_and_check(
        dir.path(),
        &input,
        &repo().join("pipelines/b2c.toml"),
        &out,
        D,
        None,
        no_extra(),
    );
    // The default model's snapshot of an earlier date, then b2c's: rebased.
    let out = dir.path().join("rebased");
    let default = repo().join("pipelines/default.toml");
    run_and_check(dir.path(), &input, &default, &out, D_PREV, None, no_extra());
    run_and_check(
        dir.path(),
        &input,
        &repo().join("pipelines/b2c.toml"),
        &out,
        D,
        Some(D_PREV),
        serde_json::json!({ "expect_trends": ["rebased"] }),
    );
}

#[test]
fn sql_of_a_hand_made_pipeline_matches_run_whatever_the_session_time_zone() {
    let dir = tempfile::tempdir().unwrap();
    let input = prepared_input(dir.path(), PREPARE_PY, serde_json::json!({}));
    let pipeline = dir.path().join("handmade.toml");
    std::fs::write(&pipeline, HANDMADE).unwrap();
    let out = dir.path().join("out");
    let zone = serde_json::json!({ "timezone": "America/Los_Angeles" });
    run_and_check(
        dir.path(),
        &input,
        &pipeline,
        &out,
        D_PREV,
        None,
        zone.clone(),
    );
    let mut second = zone;
    second["expect_trends"] = serde_json::json!(["up", "down", "flat"]);
    run_and_check(dir.path(), &input, &pipeline, &out, D, Some(D_PREV), second);
    let manifest = read_manifest(&out, D);
    let counts = &manifest["tables"];
    assert!(counts["usage"]["rejected"]["negative_events"].as_i64() > Some(0));
    assert!(counts["usage"]["orphaned"]["unknown_customer_id"].as_i64() > Some(0));
    assert!(counts["accounts"]["excluded_by_filter"].as_i64() > Some(0));
}

/// The hand-made pipeline with band hysteresis: the held bands (and so
/// color, the summary and the changes) agree on two dates.
#[test]
fn sql_with_band_hysteresis_matches_run_on_two_dates() {
    let dir = tempfile::tempdir().unwrap();
    let input = prepared_input(dir.path(), PREPARE_PY, serde_json::json!({}));
    let pipeline = dir.path().join("handmade.toml");
    let text = HANDMADE.replace(
        "metrics_table = true\n",
        "metrics_table = true\nband_hysteresis_points = 5\nalert_change_points = 10\n",
    );
    assert_ne!(text, HANDMADE);
    std::fs::write(&pipeline, text).unwrap();
    let out = dir.path().join("out");
    run_and_check(
        dir.path(),
        &input,
        &pipeline,
        &out,
        D_PREV,
        None,
        no_extra(),
    );
    run_and_check(
        dir.path(),
        &input,
        &pipeline,
        &out,
        D,
        Some(D_PREV),
        serde_json::json!({ "expect_changes": true }),
    );
    let manifest = read_manifest(&out, D);
    assert!(
        manifest["bands_held"].as_i64() > Some(0),
        "some band held: {}",
        manifest["bands_held"]
    );
}

/// An overrides row: (customer, band, reason, set_by, set_on day,
/// expires_on day), days before D (negative: after).
type OverrideRow = (
    Option<&'static str>,
    Option<&'static str>,
    Option<&'static str>,
    Option<&'static str>,
    Option<i64>,
    Option<i64>,
);

fn write_overrides(dir: &Path, rows: &[OverrideRow]) {
    use polars::prelude::*;
    let s = |f: fn(&OverrideRow) -> Option<&'static str>| rows.iter().map(f).collect::<Vec<_>>();
    let df = DataFrame::new_infer_height(vec![
        Column::new("customer_id".into(), s(|r| r.0)),
        Column::new("band".into(), s(|r| r.1)),
        Column::new("reason".into(), s(|r| r.2)),
        Column::new("set_by".into(), s(|r| r.3)),
        date_col("set_on", &rows.iter().map(|r| r.4).collect::<Vec<_>>()),
        date_col("expires_on", &rows.iter().map(|r| r.5).collect::<Vec<_>>()),
    ])
    .unwrap();
    write_parquet(dir, "overrides/part-0.parquet", df);
}

/// The overrides of D (as tests/it/overrides.rs): applied, expiring on D,
/// expired, three rows for one account (set_on, then expiry decide), a
/// tie broken by band, an override to the model's band, one on an
/// Unscored account, one set after D, each rule broken once (and a row
/// breaking two), and the two kinds of orphan.
fn overrides_of_d(k: OverrideRow) -> Vec<OverrideRow> {
    let (ana, bo) = (Some("ana"), Some("bo"));
    let row = |id, band, reason, by, set, exp| (id, band, reason, by, set, exp);
    vec![
        row(
            Some("A"),
            Some("Healthy"),
            Some("exec sponsor"),
            ana,
            Some(10),
            Some(-5),
        ),
        row(
            Some("B"),
            Some("At-Risk"),
            Some("budget cut"),
            ana,
            Some(9),
            Some(0),
        ),
        row(
            Some("C"),
            Some("Thriving"),
            Some("expansion"),
            ana,
            Some(9),
            Some(1),
        ),
        row(
            Some("E"),
            Some("Thriving"),
            Some("old"),
            ana,
            Some(5),
            Some(-10),
        ),
        row(
            Some("E"),
            Some("Critical"),
            Some("newer"),
            ana,
            Some(3),
            Some(-1),
        ),
        row(
            Some("E"),
            Some("Healthy"),
            Some("newest"),
            ana,
            Some(3),
            Some(-2),
        ),
        row(
            Some("F"),
            Some("Thriving"),
            Some("t"),
            bo,
            Some(2),
            Some(-3),
        ),
        row(Some("F"), Some("At-Risk"), Some("a"), bo, Some(2), Some(-3)),
        row(
            Some("G"),
            Some("At-Risk"),
            Some("confirmed"),
            bo,
            Some(1),
            Some(-30),
        ),
        row(
            Some("H"),
            Some("Healthy"),
            Some("new logo"),
            bo,
            Some(1),
            Some(-30),
        ),
        k,
        row(
            Some("A"),
            Some("Critical"),
            Some("future"),
            ana,
            Some(-1),
            Some(-9),
        ),
        row(Some("A"), None, Some("r"), ana, Some(5), Some(-5)),
        row(Some("A"), Some("Healthy"), None, ana, Some(5), Some(-5)),
        row(Some("A"), Some("Gold"), None, ana, Some(5), Some(-5)),
        row(
            Some("A"),
            Some("Healthy"),
            Some("r"),
            None,
            Some(5),
            Some(-5),
        ),
        row(Some("A"), Some("Healthy"), Some("r"), ana, None, Some(-5)),
        row(Some("A"), Some("Healthy"), Some("r"), ana, Some(5), None),
        row(Some("A"), Some("Gold"), Some("r"), ana, Some(5), Some(-5)),
        row(Some("A"), Some("Healthy"), Some("r"), ana, Some(5), Some(8)),
        row(None, Some("Healthy"), Some("r"), ana, Some(5), Some(-5)),
        row(
            Some("ZZ"),
            Some("Healthy"),
            Some("r"),
            ana,
            Some(5),
            Some(-5),
        ),
    ]
}

/// The overrides case of SPEC §11 (the SQL and the Spark tests): a
/// pipeline with the overrides table and band hysteresis of 5 points, and
/// two dates' inputs, (date, input folder). D − 1: K (62, Healthy)
/// overridden to Critical until D − 1, and an override on A already in
/// force. D: C rises to 70, K falls to 58 (held Healthy by its model
/// band), the overrides of [`overrides_of_d`].
pub(crate) fn overrides_case(dir: &Path) -> (PathBuf, [(&'static str, PathBuf); 2]) {
    let pipeline = dir.join("p.toml");
    let text = pct_pipeline("1").replacen(
        "[sources.accounts]\npath = \"accounts\"",
        "[settings]\nmax_rejected_share = 0.5\nmax_orphaned_share = 0.5\nband_hysteresis_points = 5\nlag_table = \"\"\n\n[sources.accounts]\npath = \"accounts\"\n[sources.overrides]\npath = \"overrides\"",
        1,
    );
    assert!(text.contains("[sources.overrides]"));
    std::fs::write(&pipeline, text).unwrap();
    let k: OverrideRow = (
        Some("K"),
        Some("Critical"),
        Some("sponsor left"),
        Some("bo"),
        Some(20),
        Some(1),
    );
    let accounts = |c: f64, k: f64| {
        vec![
            ("A", Some(20.0)),
            ("B", Some(70.0)),
            ("C", Some(c)),
            ("E", Some(50.0)),
            ("F", Some(90.0)),
            ("G", Some(60.0)),
            ("H", None),
            ("K", Some(k)),
        ]
    };
    let (day1, day2) = (dir.join("in1"), dir.join("in2"));
    write_pct_accounts(&day1, &accounts(40.0, 62.0));
    write_overrides(&day1, &[k, overrides_of_d(k)[0]]);
    write_pct_accounts(&day2, &accounts(70.0, 58.0));
    write_overrides(&day2, &overrides_of_d(k));
    (pipeline, [("2026-11-23", day1), (D, day2)])
}

/// SPEC §11 overrides (with band hysteresis): the bands, the override
/// columns, the summary, the changes (none under an override in force)
/// and the overrides table's row accounting (expired and superseded
/// included) agree with `run` on two dates.
#[test]
fn sql_with_overrides_matches_run_on_two_dates() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let (pipeline, [(d1, day1), (_, day2)]) = overrides_case(dir.path());
    run_and_check(dir.path(), &day1, &pipeline, &out, d1, None, no_extra());
    run_and_check(
        dir.path(),
        &day2,
        &pipeline,
        &out,
        D,
        Some(d1),
        serde_json::json!({ "expect_changes": true }),
    );
    let m = read_manifest(&out, D);
    let t = &m["tables"]["overrides"];
    assert_eq!(
        (t["expired"].clone(), t["superseded"].clone()),
        (2.into(), 3.into())
    );
    assert_eq!(t["rows_used"], 6);
    assert_eq!(m["bands_held"], 1, "K's model band held");
}

/// Sample data whose accounts hold C0000001 three times and C0000002
/// twice: `run` refuses it (exit 2) naming both, and the DuckDB script's
/// `duplicate_ids` lists exactly those ids with their copies.
pub(crate) const DUPLICATES_PY: &str = r#"import json, os, sys
import duckdb
cfg = json.load(open(sys.argv[1]))
src, dst = cfg["src"], cfg["dst"]
con = duckdb.connect()
for t in ["accounts", "usage", "support_tickets", "survey_responses", "revenue"]:
    os.makedirs(f"{dst}/{t}", exist_ok=True)
    extra = ""
    if t == "accounts":
        extra = (f" UNION ALL SELECT * FROM read_parquet('{src}/accounts/*.parquet') WHERE customer_id IN ('C0000001', 'C0000002')"
                 f" UNION ALL SELECT * FROM read_parquet('{src}/accounts/*.parquet') WHERE customer_id = 'C0000001'")
    con.execute(f"COPY (SELECT * FROM read_parquet('{src}/{t}/*.parquet'){extra}) TO '{dst}/{t}/part-00000.parquet' (FORMAT parquet)")
if cfg.get("sql"):
    con = duckdb.connect()
    for t in ["accounts", "usage", "support_tickets", "survey_responses", "revenue"]:
        con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{dst}/{t}/*.parquet')")
    con.execute("CREATE VIEW previous_scores AS SELECT NULL::VARCHAR AS customer_id, NULL::INTEGER AS score, "
                "NULL::VARCHAR AS band, NULL::VARCHAR AS model_version WHERE false")
    for s in open(cfg["sql"]).read().split(";\n"):
        if s.strip():
            con.execute(s)
    got = con.execute("SELECT customer_id, copies FROM duplicate_ids").fetchall()
    if got != [("C0000001", 3), ("C0000002", 2)]:
        print("duplicate_ids:", got)
        sys.exit(1)
"#;

#[test]
fn duplicate_account_ids_are_refused_by_run_and_listed_by_the_script() {
    let dir = tempfile::tempdir().unwrap();
    let input = prepared_input(dir.path(), DUPLICATES_PY, serde_json::json!({}));
    let default = repo().join("pipelines/default.toml");
    let out = dir.path().join("out");
    let r = run_pipeline(&default, &input, &out, D, &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("column customer_id must be unique; 2 ids appear more than once, e.g. C0000001, C0000002"),
        "{}",
        r.stderr
    );
    let sql = healthscore(&[
        "sql",
        "--pipeline",
        default.to_str().unwrap(),
        "--dialect",
        "duckdb",
        "--as-of",
        D,
    ]);
    assert_eq!(sql.code, 0, "{}", sql.stderr);
    let script = dir.path().join("script.sql");
    std::fs::write(&script, &sql.stdout).unwrap();
    prepared_input(
        dir.path(),
        DUPLICATES_PY,
        serde_json::json!({ "sql": script }),
    );
}

#[test]
fn the_spark_script_is_deterministic_and_pipeline_strings_reach_it_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = dir.path().join("handmade.toml");
    std::fs::write(&pipeline, HANDMADE).unwrap();
    let p = pipeline.to_str().unwrap();
    let args = ["sql", "--pipeline", p, "--dialect", "spark", "--as-of", D];
    let (a, b) = (healthscore(&args), healthscore(&args));
    assert_eq!(a.code, 0, "{}", a.stderr);
    assert_eq!(a.stdout, b.stdout, "two calls give the same script");
    assert!(a.stdout.starts_with("-- healthscore"));
    assert!(a.stdout.contains("SET spark.sql.session.timeZone = UTC;"));
    // The filter's text never reaches the script; its value only escaped.
    assert!(!a.stdout.contains("feature != 'it''s"), "{}", a.stdout);
    assert!(a
        .stdout
        .contains("(NOT (`feature` = 'it\\'s; DROP VIEW scores'))"));
    let duck = healthscore(&["sql", "--pipeline", p, "--dialect", "duckdb", "--as-of", D]);
    assert!(duck
        .stdout
        .contains("(NOT (\"feature\" = 'it''s; DROP VIEW scores'))"));
    assert!(!duck.stdout.contains("feature != 'it''s"));
    // Every statement ends a line with `;`, and no `;` ends a line elsewhere.
    for script in [&a.stdout, &duck.stdout] {
        let ends = script
            .lines()
            .filter(|l| l.trim_end().ends_with(';'))
            .count();
        let statements =
            script.matches("CREATE OR REPLACE TEMP").count() + script.matches("\nSET ").count();
        assert_eq!(ends, statements, "one `;` line end per statement");
    }
    for view in ["scores", "summary", "metrics", "changes", "row_accounting"] {
        assert!(
            a.stdout.contains(&format!("TEMPORARY VIEW {view} AS")),
            "view {view}"
        );
    }
    let json = healthscore(&[
        "--format",
        "json",
        "sql",
        "--pipeline",
        p,
        "--dialect",
        "spark",
        "--as-of",
        D,
    ]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["sql"].as_str().unwrap().trim_end(), a.stdout.trim_end());
}
