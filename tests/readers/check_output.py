#!/usr/bin/env python3
"""Independent readers' check of a healthscore output folder (SPEC §6).

Reads `<OUT_DIR>/scores` and `<OUT_DIR>/summary` the way BI tools do
(pyarrow datasets with Hive partitioning, DuckDB `read_parquet(...,
hive_partitioning = true)`) and asserts the output contract:

  * layout: `<table>/snapshot_date=YYYY-MM-DD/part-NNNNN.parquet` + `_SUCCESS`
    (a JSON manifest) for every date, nothing else in a date folder;
  * scores columns exactly as expected, in order, plus `snapshot_date` as the
    Hive partition column that the readers add (never inside the files);
  * types as pyarrow reads them from each part file (`pq.read_schema`):
    plain `string` (not large_string / string_view / dictionary), int32
    score / prev_score / score_change, double for the rest, no unsigned
    integers, no nanosecond timestamps; snappy or zstd compression; row
    groups of about 128k rows; parts of at most about 1M rows;
  * the summary table: scorecard string, band string, accounts int64,
    mean_score / mrr / share double;
  * DuckDB and pyarrow agree on row counts and on sum(score), per date;
  * customer_id strictly ascending (byte-wise) within each part and across a
    date's parts;
  * summary shares sum to 1 per date (within 1e-9) and the summary's counts
    and mean scores match the scores table;
  * the long metrics table (`metrics/`, when present): the same dates as
    scores, exactly METRICS_SCHEMA in every file, one row per account and
    scored metric, and its raw / points equal the scores table's `<metric>`
    / `<metric>_points` cell by cell (DuckDB join); loss is null where
    points are null and never negative.

Usage:
  check_output.py OUT_DIR EXPECTED_COLUMNS_JSON
  check_output.py OUT_DIR PIPELINE            (a pipelines/*.toml path or name)

EXPECTED_COLUMNS_JSON is a JSON file holding the scores table's column names
in order (without snapshot_date): either a list, or an object with a
"columns" list. Given a pipeline instead, the list is derived from it
(SPEC §6 order: the 15 fixed columns, `<group>_score` per group, every
metric and, for scored ones, `<metric>_points`, model_version, then
accounts.pass_through).

Exit status: 0 when every check passed, 1 when any failed (each failure is
printed to stderr), 2 on a usage error. The last line of stdout is
`readers: N passed, M failed`.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
from collections import defaultdict

try:
    import duckdb
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq
except ImportError as e:  # pragma: no cover - environment problem
    print(f"check_output.py: missing Python package ({e}); run `make venv` "
          f"and use .venv/bin/python", file=sys.stderr)
    sys.exit(2)

FIXED_COLUMNS = [
    "customer_id", "customer_name", "segment", "scorecard", "score",
    "score_raw", "band", "color", "completeness", "top_drivers", "playbook",
    "prev_score", "prev_band", "score_change", "trend",
]
STRING_COLUMNS = {
    "customer_id", "customer_name", "segment", "scorecard", "band", "color",
    "top_drivers", "playbook", "prev_band", "trend", "model_version",
}
INT32_COLUMNS = {"score", "prev_score", "score_change"}
SUMMARY_SCHEMA = [
    ("scorecard", pa.string()),
    ("band", pa.string()),
    ("accounts", pa.int64()),
    ("mean_score", pa.float64()),
    ("mrr", pa.float64()),
    ("share", pa.float64()),
]
METRICS_SCHEMA = [
    ("customer_id", pa.string()),
    ("scorecard", pa.string()),
    ("group", pa.string()),
    ("metric", pa.string()),
    ("raw", pa.float64()),
    ("points", pa.float64()),
    ("loss", pa.float64()),
    ("model_version", pa.string()),
]
DUCKDB_TYPES = {"score": "INTEGER", "prev_score": "INTEGER", "score_change": "INTEGER"}
PARTITION = "snapshot_date"
DATE_DIR = re.compile(r"^snapshot_date=(\d{4}-\d{2}-\d{2})$")
PART_FILE = re.compile(r"^part-(\d{5})\.parquet$")
ROW_GROUP_TARGET = 128 * 1024
MAX_ROW_GROUP_ROWS = ROW_GROUP_TARGET * 3 // 2  # "about 128k rows"
MAX_PART_ROWS = 1024 * 1024  # "at most about 1M rows"
SHARE_TOLERANCE = 1e-9
MEAN_TOLERANCE = 1e-9


class Failed(Exception):
    """A check's assertion failed; the message says what and where."""


class Report:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def check(self, name: str, fn, *args):
        """Runs one check; returns its result, or None when it failed."""
        try:
            result = fn(*args)
        except Failed as e:
            self.failed += 1
            print(f"FAIL {name}: {e}", file=sys.stderr)
            print(f"FAIL {name}")
            return None
        except Exception as e:  # a reader error is a failed check, not a crash
            self.failed += 1
            print(f"FAIL {name}: {type(e).__name__}: {e}", file=sys.stderr)
            print(f"FAIL {name}")
            return None
        self.passed += 1
        print(f"ok   {name}")
        return result if result is not None else True


def ensure(cond: bool, message: str) -> None:
    if not cond:
        raise Failed(message)


# ---------------------------------------------------------------------------
# Expected columns
# ---------------------------------------------------------------------------

def columns_from_pipeline(path: str) -> list[str]:
    import tomllib

    with open(path, "rb") as f:
        p = tomllib.load(f)
    cols = list(FIXED_COLUMNS)
    cols += [f"{g['name']}_score" for g in p.get("groups", [])]
    for m in p.get("metrics", []):
        cols.append(m["name"])
        if "group" in m:
            cols.append(f"{m['name']}_points")
    cols.append("model_version")
    cols += list(p.get("accounts", {}).get("pass_through", []))
    return cols


def expected_columns(arg: str) -> list[str]:
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if os.path.isfile(arg) and not arg.endswith(".toml"):
        with open(arg, encoding="utf-8") as f:
            data = json.load(f)
        if isinstance(data, dict):
            data = data.get("columns")
        if not (isinstance(data, list) and data and all(isinstance(c, str) for c in data)):
            raise SystemExit(f"check_output.py: {arg} must hold a non-empty JSON list of "
                             f"column names (or an object with a \"columns\" list)")
        return data
    for candidate in (arg, os.path.join(repo, "pipelines", f"{arg}.toml"),
                      os.path.join(repo, "pipelines", arg)):
        if candidate.endswith(".toml") and os.path.isfile(candidate):
            return columns_from_pipeline(candidate)
    raise SystemExit(f"check_output.py: {arg} is neither a JSON file of expected columns "
                     f"nor a pipeline (path or name under pipelines/)")


# ---------------------------------------------------------------------------
# Layout
# ---------------------------------------------------------------------------

def list_dates(out: str, table: str) -> dict[str, list[str]]:
    """date → part file paths (in part order), after checking the layout."""
    root = os.path.join(out, table)
    ensure(os.path.isdir(root), f"{root} does not exist")
    dates: dict[str, list[str]] = {}
    for name in sorted(os.listdir(root)):
        path = os.path.join(root, name)
        m = DATE_DIR.match(name)
        ensure(m is not None and os.path.isdir(path),
               f"{path}: unexpected entry; only snapshot_date=YYYY-MM-DD folders belong under {table}/")
        parts: list[tuple[int, str]] = []
        success = False
        for f in sorted(os.listdir(path)):
            fp = os.path.join(path, f)
            if f == "_SUCCESS":
                success = True
                with open(fp, encoding="utf-8") as fh:
                    try:
                        json.load(fh)
                    except json.JSONDecodeError as e:
                        raise Failed(f"{fp} is not a JSON manifest ({e})")
                continue
            pm = PART_FILE.match(f)
            ensure(pm is not None, f"{fp}: unexpected object in a committed date folder "
                                   f"(only part-NNNNN.parquet and _SUCCESS)")
            parts.append((int(pm.group(1)), fp))
        ensure(success, f"{path} has no _SUCCESS: readers would read an uncommitted snapshot")
        ensure(parts, f"{path} has no Parquet part")
        numbers = [n for n, _ in parts]
        ensure(numbers == list(range(len(parts))),
               f"{path}: parts are not numbered 00000..{len(parts) - 1:05d} (found {numbers})")
        dates[m.group(1)] = [fp for _, fp in parts]
    ensure(dates, f"{root} holds no snapshot_date=… folder")
    return dates


def check_layout(out: str):
    scores = list_dates(out, "scores")
    summary = list_dates(out, "summary")
    ensure(sorted(scores) == sorted(summary),
           f"scores dates {sorted(scores)} differ from summary dates {sorted(summary)}")
    return scores, summary


# ---------------------------------------------------------------------------
# File schemas and Parquet metadata
# ---------------------------------------------------------------------------

def bad_generic_type(t: pa.DataType) -> str | None:
    if pa.types.is_unsigned_integer(t):
        return "an unsigned integer"
    if pa.types.is_timestamp(t) and t.unit == "ns":
        return "a nanosecond timestamp"
    if pa.types.is_large_string(t) or getattr(pa.types, "is_string_view", lambda _: False)(t):
        return "not a plain string"
    if pa.types.is_dictionary(t):
        return "dictionary-encoded"
    if pa.types.is_large_binary(t) or getattr(pa.types, "is_binary_view", lambda _: False)(t):
        return "not a plain binary"
    return None


def check_scores_schema(files: list[str], expected: list[str]) -> None:
    mv = expected.index("model_version") if "model_version" in expected else len(expected)
    problems: dict[str, int] = {}  # message → number of parts
    for f in files:
        schema = pq.read_schema(f)
        ensure(schema.names == expected,
               f"{f}: columns differ from the expected list\n"
               f"  expected: {expected}\n  found:    {schema.names}\n"
               f"  {describe_diff(expected, schema.names)}")
        for i, field in enumerate(schema):
            t, name = field.type, field.name
            if name in STRING_COLUMNS:
                want = pa.string()
            elif name in INT32_COLUMNS:
                want = pa.int32()
            elif i < mv:
                want = pa.float64()
            else:
                want = None  # accounts.pass_through: any reader-friendly type
            bad = bad_generic_type(t)
            if want is not None and t != want:
                msg = f"{name} is {t}, expected {want}"
            elif bad:
                msg = f"{name} is {t} ({bad})"
            else:
                continue
            problems[msg] = problems.get(msg, 0) + 1
    ensure(not problems, "; ".join(f"{m} (in {n} of {len(files)} parts)" for m, n in problems.items()))


def describe_diff(expected: list[str], found: list[str]) -> str:
    missing = [c for c in expected if c not in found]
    extra = [c for c in found if c not in expected]
    if missing or extra:
        return f"missing: {missing}; unexpected: {extra}"
    for i, (a, b) in enumerate(zip(expected, found)):
        if a != b:
            return f"same names, different order from position {i} ({a!r} expected, {b!r} found)"
    return "lengths differ"


def check_summary_schema(files: list[str]) -> None:
    want_names = [n for n, _ in SUMMARY_SCHEMA]
    for f in files:
        schema = pq.read_schema(f)
        ensure(schema.names == want_names,
               f"{f}: summary columns are {schema.names}, expected {want_names}")
        for field, (name, want) in zip(schema, SUMMARY_SCHEMA):
            ensure(field.type == want, f"{f}: summary column {name} is {field.type}, expected {want}")


def check_parquet_metadata(files: list[str]) -> None:
    for f in files:
        pf = pq.ParquetFile(f)
        md = pf.metadata
        ensure(md.num_rows <= MAX_PART_ROWS,
               f"{f}: {md.num_rows} rows in one part (at most about 1M expected)")
        for rg in range(md.num_row_groups):
            g = md.row_group(rg)
            ensure(g.num_rows <= MAX_ROW_GROUP_ROWS,
                   f"{f}: row group {rg} has {g.num_rows} rows (about {ROW_GROUP_TARGET} expected)")
            for c in range(g.num_columns):
                comp = g.column(c).compression
                ensure(comp in ("SNAPPY", "ZSTD"),
                       f"{f}: column {g.column(c).path_in_schema} is {comp}-compressed "
                       f"(snappy or zstd expected)")
        for i in range(len(pf.schema)):
            col = pf.schema.column(i)
            lt = col.logical_type.to_json()
            ensure('"isSigned": false' not in lt and '"isSigned":false' not in lt,
                   f"{f}: column {col.name} has an unsigned Parquet logical type ({lt})")
            ensure(not ("Timestamp" in lt and "nanoseconds" in lt),
                   f"{f}: column {col.name} is a nanosecond timestamp ({lt})")


# ---------------------------------------------------------------------------
# Readers
# ---------------------------------------------------------------------------

def read_pyarrow_dataset(out: str, table: str, expected: list[str]) -> pa.Table:
    dataset = ds.dataset(os.path.join(out, table), format="parquet", partitioning="hive")
    names = dataset.schema.names
    ensure(names == expected + [PARTITION],
           f"pyarrow.dataset({table}) columns differ\n  expected: {expected + [PARTITION]}\n"
           f"  found:    {names}\n  {describe_diff(expected + [PARTITION], names)}")
    return dataset.to_table()


def read_pyarrow_read_table(out: str, table: str, expected: list[str]) -> pa.Table:
    t = pq.read_table(os.path.join(out, table))
    ensure(t.column_names == expected + [PARTITION],
           f"pq.read_table({table}) columns differ: {t.column_names}")
    return t


def duck_source(out: str, table: str) -> str:
    path = os.path.join(out, table, "*", "*.parquet").replace("'", "''")
    return f"read_parquet('{path}', hive_partitioning = true)"


def read_duckdb(con, out: str, table: str, expected: list[str]) -> dict:
    src = duck_source(out, table)
    described = con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()
    names = [r[0] for r in described]
    types = {r[0]: r[1] for r in described}
    ensure(names == expected + [PARTITION],
           f"duckdb read_parquet({table}) columns differ\n  expected: {expected + [PARTITION]}\n"
           f"  found:    {names}\n  {describe_diff(expected + [PARTITION], names)}")
    if table == "scores":
        for c, want in DUCKDB_TYPES.items():
            ensure(types.get(c) == want, f"duckdb reads scores.{c} as {types.get(c)}, expected {want}")
        for c in STRING_COLUMNS:
            ensure(types.get(c) == "VARCHAR", f"duckdb reads scores.{c} as {types.get(c)}, expected VARCHAR")
        rows = con.execute(
            f"SELECT CAST({PARTITION} AS VARCHAR), count(*), sum(score), count(score) "
            f"FROM {src} GROUP BY 1 ORDER BY 1").fetchall()
        return {d: (int(n), int(s) if s is not None else 0, int(k)) for d, n, s, k in rows}
    ensure(types.get("accounts") == "BIGINT", f"duckdb reads summary.accounts as {types.get('accounts')}, expected BIGINT")
    rows = con.execute(
        f"SELECT CAST({PARTITION} AS VARCHAR), count(*), sum(accounts), sum(share) "
        f"FROM {src} GROUP BY 1 ORDER BY 1").fetchall()
    return {d: (int(n), int(a or 0), float(s or 0.0)) for d, n, a, s in rows}


def per_date_scores(t: pa.Table) -> dict:
    out = {}
    dates = t.column(PARTITION).cast(pa.string())
    for d in sorted(set(dates.to_pylist())):
        sub = t.filter(pc.equal(dates, d))
        score = sub.column("score")
        s = pc.sum(score).as_py()
        out[d] = (sub.num_rows, int(s) if s is not None else 0, score.length() - score.null_count)
    return out


def check_agreement(pa_counts: dict, duck_counts: dict, expected_dates: list[str]) -> None:
    # A date whose parts hold no row is absent from both readers' group-bys.
    for name, counts in (("pyarrow", pa_counts), ("duckdb", duck_counts)):
        unknown = sorted(set(counts) - set(expected_dates))
        ensure(not unknown, f"{name} sees dates {unknown} that no committed folder holds")
    for d in expected_dates:
        (pn, ps, pk), (dn, dsum, dk) = pa_counts.get(d, (0, 0, 0)), duck_counts.get(d, (0, 0, 0))
        ensure(pn == dn, f"{d}: pyarrow reads {pn} rows, duckdb {dn}")
        ensure(pk == dk, f"{d}: pyarrow reads {pk} non-null scores, duckdb {dk}")
        ensure(ps == dsum, f"{d}: sum(score) is {ps} in pyarrow, {dsum} in duckdb")


# ---------------------------------------------------------------------------
# Content
# ---------------------------------------------------------------------------

def check_sorted(dates: dict[str, list[str]]) -> None:
    for d, files in dates.items():
        prev_last: bytes | None = None
        for f in files:
            ids = pq.read_table(f, columns=["customer_id"]).column("customer_id").to_pylist()
            ensure(None not in ids, f"{f}: null customer_id")
            keys = [i.encode("utf-8") for i in ids]
            for i in range(1, len(keys)):
                if not keys[i - 1] < keys[i]:
                    what = "duplicate" if keys[i - 1] == keys[i] else "out of order"
                    raise Failed(f"{f}: customer_id {what} at row {i} "
                                 f"({ids[i - 1]!r} then {ids[i]!r}); rows must be sorted byte-wise, unique")
            if keys:
                ensure(prev_last is None or prev_last < keys[0],
                       f"{f}: first customer_id {ids[0]!r} is not after the previous part's last")
                prev_last = keys[-1]


def check_values(scores: pa.Table) -> None:
    score = scores.column("score")
    if score.length() - score.null_count:
        lo, hi = pc.min(score).as_py(), pc.max(score).as_py()
        ensure(0 <= lo and hi <= 100, f"score outside 0-100 (min {lo}, max {hi})")
    comp = scores.column("completeness")
    if comp.length() - comp.null_count:
        lo, hi = pc.min(comp).as_py(), pc.max(comp).as_py()
        ensure(0 <= lo and hi <= 1, f"completeness outside 0-1 (min {lo}, max {hi})")
    dates = scores.column(PARTITION).cast(pa.string())
    for d in sorted(set(dates.to_pylist())):
        mv = pc.unique(scores.filter(pc.equal(dates, d)).column("model_version")).to_pylist()
        ensure(len(mv) == 1 and mv[0] and "@" in mv[0],
               f"{d}: model_version should be one `<name>@<version>` value, found {mv}")


def check_summary(summary: pa.Table, scores: pa.Table, duck_summary: dict) -> None:
    s_dates = summary.column(PARTITION).cast(pa.string()).to_pylist()
    c_dates = scores.column(PARTITION).cast(pa.string()).to_pylist()
    rows = summary.drop_columns([PARTITION]).to_pylist()

    expected = defaultdict(lambda: [0, 0, 0])  # (date, scorecard, band) → [n, Σscore, n scored]
    totals = defaultdict(int)
    for d, sc, band, score in zip(c_dates, scores.column("scorecard").to_pylist(),
                                  scores.column("band").to_pylist(),
                                  scores.column("score").to_pylist()):
        e = expected[(d, sc, band)]
        e[0] += 1
        totals[d] += 1
        if score is not None:
            e[1] += score
            e[2] += 1

    share_sum = defaultdict(float)
    seen = set()
    for d, r in zip(s_dates, rows):
        key = (d, r["scorecard"], r["band"])
        ensure(key not in seen, f"{d}: summary has two rows for ({r['scorecard']}, {r['band']})")
        seen.add(key)
        ensure(key in expected, f"{d}: summary row ({r['scorecard']}, {r['band']}) has no scores rows")
        n, total, scored = expected[key]
        ensure(r["accounts"] == n,
               f"{d}: summary ({r['scorecard']}, {r['band']}) counts {r['accounts']} accounts, scores has {n}")
        if scored:
            mean = total / scored
            ensure(r["mean_score"] is not None and abs(r["mean_score"] - mean) <= MEAN_TOLERANCE * max(1.0, mean),
                   f"{d}: summary ({r['scorecard']}, {r['band']}) mean_score {r['mean_score']}, "
                   f"scores give {mean}")
        else:
            ensure(r["mean_score"] is None,
                   f"{d}: summary ({r['scorecard']}, {r['band']}) mean_score {r['mean_score']} "
                   f"for accounts without a score (null expected)")
        ensure(r["share"] is not None and math.isfinite(r["share"]),
               f"{d}: summary ({r['scorecard']}, {r['band']}) share is {r['share']}")
        share_sum[d] += r["share"]
    missing = sorted(k for k in expected if k not in seen)
    ensure(not missing, f"summary lacks rows for (date, scorecard, band) {missing[:5]}")
    for d, n in totals.items():
        if n == 0:
            continue
        ensure(abs(share_sum[d] - 1.0) <= SHARE_TOLERANCE,
               f"{d}: summary shares sum to {share_sum[d]!r}, expected 1 (±{SHARE_TOLERANCE})")
        dn, da, dshare = duck_summary.get(d, (0, 0, 0.0))
        ensure(da == n, f"{d}: duckdb sums summary.accounts to {da}, scores has {n} rows")
        ensure(abs(dshare - 1.0) <= SHARE_TOLERANCE, f"{d}: duckdb sums summary.share to {dshare!r}")


# ---------------------------------------------------------------------------

def check_metrics_table(con, out: str, score_dates: dict, expected: list[str]) -> None:
    """The long metrics table against the scores table (see the module doc)."""
    dates = list_dates(out, "metrics")
    ensure(sorted(dates) == sorted(score_dates),
           f"metrics dates {sorted(dates)} differ from scores dates {sorted(score_dates)}")
    for fs in dates.values():
        for f in fs:
            schema = pq.read_schema(f)
            found = [(fld.name, fld.type) for fld in schema]
            ensure(found == METRICS_SCHEMA, f"{f}: schema {found}, expected {METRICS_SCHEMA}")
    scored = [c[: -len("_points")] for c in expected if c.endswith("_points")]
    m_src = duck_source(out, "metrics")
    s_src = duck_source(out, "scores")
    counts = dict(con.execute(
        f"SELECT CAST({PARTITION} AS VARCHAR), count(*) FROM {m_src} GROUP BY 1").fetchall())
    accounts = dict(con.execute(
        f"SELECT CAST({PARTITION} AS VARCHAR), count(*) FROM {s_src} GROUP BY 1").fetchall())
    for d, n in accounts.items():
        ensure(counts.get(d) == n * len(scored),
               f"metrics {d}: {counts.get(d)} rows, expected {n} accounts × {len(scored)} scored metrics")
    for m in scored:
        q = (f"SELECT count(*) FROM {m_src} m JOIN {s_src} s USING ({PARTITION}, customer_id) "
             f"WHERE m.metric = ? AND (m.raw IS DISTINCT FROM s.\"{m}\" "
             f"OR m.points IS DISTINCT FROM s.\"{m}_points\" OR m.scorecard IS DISTINCT FROM s.scorecard)")
        bad = con.execute(q, [m]).fetchone()[0]
        ensure(bad == 0, f"metrics.{m}: {bad} rows whose raw/points/scorecard differ from the scores table")
    bad = con.execute(
        f"SELECT count(*) FROM {m_src} WHERE (points IS NULL AND loss IS NOT NULL) OR loss < 0").fetchone()[0]
    ensure(bad == 0, f"metrics: {bad} rows with a loss but no points, or a negative loss")


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[1] in ("-h", "--help"):
        print("usage: check_output.py OUT_DIR EXPECTED_COLUMNS_JSON|PIPELINE", file=sys.stderr)
        return 2
    out = argv[1]
    if out.startswith("file://"):
        out = out[len("file://"):]
    out = os.path.abspath(out)
    if not os.path.isdir(out):
        print(f"check_output.py: {out} is not a folder", file=sys.stderr)
        return 2
    try:
        expected = expected_columns(argv[2])
    except SystemExit as e:
        print(e, file=sys.stderr)
        return 2
    except Exception as e:
        print(f"check_output.py: cannot read the expected columns from {argv[2]}: {e}", file=sys.stderr)
        return 2

    r = Report()
    layout = r.check("layout: date folders, parts and _SUCCESS", check_layout, out)
    if layout is None:
        print(f"readers: {r.passed} passed, {r.failed} failed")
        return 1
    score_dates, summary_dates = layout
    score_files = [f for fs in score_dates.values() for f in fs]
    summary_files = [f for fs in summary_dates.values() for f in fs]
    summary_names = [n for n, _ in SUMMARY_SCHEMA]

    r.check("scores: file columns and arrow types (pq.read_schema)", check_scores_schema, score_files, expected)
    r.check("summary: file columns and arrow types (pq.read_schema)", check_summary_schema, summary_files)
    r.check("parquet metadata: compression, row groups, part size, logical types",
            check_parquet_metadata, score_files + summary_files)
    scores = r.check("scores: pyarrow.dataset(partitioning='hive')", read_pyarrow_dataset, out, "scores", expected)
    summary = r.check("summary: pyarrow.dataset(partitioning='hive')", read_pyarrow_dataset, out, "summary",
                      summary_names)
    r.check("scores: pyarrow.parquet.read_table(folder)", read_pyarrow_read_table, out, "scores", expected)
    r.check("summary: pyarrow.parquet.read_table(folder)", read_pyarrow_read_table, out, "summary", summary_names)
    con = duckdb.connect()
    duck_scores = r.check("scores: duckdb read_parquet(hive_partitioning = true)", read_duckdb, con, out,
                          "scores", expected)
    duck_summary = r.check("summary: duckdb read_parquet(hive_partitioning = true)", read_duckdb, con, out,
                           "summary", summary_names)
    if scores is not None and duck_scores is not None:
        r.check("duckdb and pyarrow agree on rows and sum(score) per date", check_agreement,
                per_date_scores(scores), duck_scores, sorted(score_dates))
    r.check("scores sorted by customer_id (byte-wise, unique) within and across parts", check_sorted, score_dates)
    if scores is not None:
        r.check("scores values: score 0-100, completeness 0-1, one model_version per date", check_values, scores)
    if scores is not None and summary is not None and duck_summary is not None:
        r.check("summary: shares sum to 1 per date, counts and mean_score match scores", check_summary,
                summary, scores, duck_summary)

    if os.path.isdir(os.path.join(out, "metrics")):
        r.check("metrics: long table schema, rows and values against scores (duckdb)", check_metrics_table,
                con, out, score_dates, expected)
        metrics_files = [f for fs in list_dates(out, "metrics").values() for f in fs]
        r.check("metrics: parquet metadata: compression, row groups, part size, logical types",
                check_parquet_metadata, metrics_files)

    print(f"readers: {r.passed} passed, {r.failed} failed")
    return 0 if r.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
