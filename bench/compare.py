"""Cell-by-cell comparison of two scores tables (healthscore vs bench/default.sql).

Usable as a module (``compare(a, b)``) and as a script:
    python bench/compare.py HEALTHSCORE_PARQUET_GLOB DUCKDB_PARQUET [--show N]
Same columns in the same order with the same types, same rows in the same
order (customer_id byte order), every cell equal: strings and integers
exactly, floats to 1e-9 (relative for |x| > 1), nulls in the same places.
"""
import sys

import duckdb
import pyarrow.parquet as pq
import glob as _glob

FLOAT_TOL = 1e-9


def _schema(pattern):
    files = sorted(_glob.glob(pattern))
    if not files:
        raise SystemExit(f"no parquet files match {pattern}")
    s = pq.read_schema(files[0])
    return [(f.name, str(f.type)) for f in s]


def compare(a_glob, b_glob, show=5):
    """Returns a list of human-readable problems; empty when identical."""
    problems = []
    sa, sb = _schema(a_glob), _schema(b_glob)
    if [n for n, _ in sa] != [n for n, _ in sb]:
        problems.append(f"column names/order differ:\n  A {[n for n, _ in sa]}\n  B {[n for n, _ in sb]}")
        return problems
    for (n, ta), (_, tb) in zip(sa, sb):
        if ta != tb and not ({ta, tb} <= {"string", "large_string", "string_view"}):
            problems.append(f"column {n}: type {ta} vs {tb}")
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    # rn: position in the table (parts in name order, rows in file order)
    q = lambda g: (f"(SELECT * EXCLUDE (filename, file_row_number), "
                   f"row_number() OVER (ORDER BY filename, file_row_number) AS rn "
                   f"FROM read_parquet('{g}', filename = true, file_row_number = true))")
    con.execute(f"CREATE TEMP TABLE a AS SELECT * FROM {q(a_glob)}")
    con.execute(f"CREATE TEMP TABLE b AS SELECT * FROM {q(b_glob)}")
    na = con.execute("SELECT count(*) FROM a").fetchone()[0]
    nb = con.execute("SELECT count(*) FROM b").fetchone()[0]
    if na != nb:
        problems.append(f"row count {na} vs {nb}")
    conds = []
    for n, t in sa:
        qn = f'"{n}"'
        if t in ("double", "float"):
            c = (f"(a.{qn} IS NULL AND b.{qn} IS NULL) OR (a.{qn} IS NOT NULL AND b.{qn} IS NOT NULL AND "
                 f"(a.{qn} = b.{qn} OR abs(a.{qn} - b.{qn}) <= {FLOAT_TOL} * greatest(1.0, abs(a.{qn}))))")
        else:
            c = f"a.{qn} IS NOT DISTINCT FROM b.{qn}"
        conds.append((n, c))
    sel = ", ".join(f"count(*) FILTER (WHERE NOT ({c})) AS \"{n}\"" for n, c in conds)
    counts = con.execute(f"SELECT {sel} FROM a FULL JOIN b USING (rn)").fetchone()
    for (n, c), k in zip(conds, counts):
        if k:
            ex = con.execute(
                f"SELECT a.rn, a.customer_id, b.customer_id, a.\"{n}\", b.\"{n}\" FROM a FULL JOIN b USING (rn) "
                f"WHERE NOT ({c}) ORDER BY rn LIMIT {show}").fetchall()
            lines = "\n".join(f"    row {r[0]} {r[1]}/{r[2]}: A={r[3]!r} B={r[4]!r}" for r in ex)
            problems.append(f"column {n}: {k} cells differ, e.g.\n{lines}")
    return problems


if __name__ == "__main__":
    show = 5
    args = sys.argv[1:]
    if "--show" in args:
        i = args.index("--show")
        show = int(args[i + 1])
        del args[i:i + 2]
    probs = compare(args[0], args[1], show)
    if probs:
        print("\n".join(probs))
        sys.exit(1)
    print("identical: every cell of every column (floats to 1e-9)")
