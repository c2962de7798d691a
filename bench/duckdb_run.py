"""Runs bench/default.sql with DuckDB (the Python package).

    python bench/duckdb_run.py --input DIR --as-of YYYY-MM-DD --out FILE.parquet [--threads 2]

Substitutes {input}, {as_of} and {out} in the script and executes it in one
in-memory DuckDB connection. Prints the elapsed seconds on stderr.
"""
import argparse
import datetime
import os
import sys
import time

import duckdb

HERE = os.path.dirname(os.path.abspath(__file__))


def render(sql_path, input_dir, as_of, out):
    datetime.date.fromisoformat(as_of)  # refuse anything but a date
    for v in (input_dir, out):
        if "'" in v:
            raise SystemExit(f"path with a quote not supported: {v}")
    sql = open(sql_path).read()
    return sql.replace("{input}", input_dir.rstrip("/")).replace("{as_of}", as_of).replace("{out}", out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--input", required=True)
    ap.add_argument("--as-of", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--sql", default=os.path.join(HERE, "default.sql"))
    a = ap.parse_args()
    sql = render(a.sql, a.input, a.as_of, a.out)
    t0 = time.perf_counter()
    con = duckdb.connect()
    con.execute(f"SET threads = {a.threads}")
    con.execute("SET enable_progress_bar = false")
    con.execute(sql)
    con.close()
    print(f"duckdb: {time.perf_counter() - t0:.3f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
