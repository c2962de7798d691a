"""The performance benchmark of SPEC §9 / issue 7 (`make bench`, `make bench-10m`).

1M workload (`--workload 1m`, the default):
  1. generates the workload once into bench/cache/1m (skipped when
     bench/cache/1m.generated exists; waits for a `healthscore generate`
     already writing there);
  2. warms the page cache with one untimed bare scan;
  3. alternates, --runs times (at least 3): `healthscore run` with
     pipelines/default.toml, bench/default.sql on DuckDB (threads = 2,
     bench/duckdb_run.py), and the bare scan of the columns the pipeline
     needs (DuckDB, threads = 2, sum(hash()) of every needed column over all rows:
     the floor);
  4. checks that healthscore and DuckDB wrote the same scores, every cell
     (bench/compare.py: strings and integers equal, floats to 1e-9);
  5. prints wall time min/median, input rows per second, peak RSS (each
     contender is its own process: ru_maxrss from wait4), the ratios
     healthscore/DuckDB and healthscore/scan, and healthscore's time per
     stage (its `stage done` log lines and the manifest's stages_ms).
     Results also go to bench/cache/results-<workload>.json.

10M workload (`--workload 10m`): generates bench/cache/10m once, then runs
healthscore once, recording wall time and peak RSS (no DuckDB, no compare).
"""
import argparse
import datetime
import glob
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

TABLES = ["accounts", "usage", "support_tickets", "survey_responses", "revenue"]
# The columns the default pipeline reads (SPEC §2 contract columns it uses or validates).
NEEDED = {
    "accounts": ["customer_id", "name", "segment", "signup_date", "seats", "onboarding_completion_pct"],
    "usage": ["customer_id", "date", "feature", "events", "users"],
    "support_tickets": ["ticket_id", "customer_id", "opened_at", "priority"],
    "survey_responses": ["customer_id", "responded_at", "kind", "score"],
    "revenue": ["customer_id", "month", "mrr", "days_past_due"],
}
WORKLOADS = {"20k": 20_000, "1m": 1_000_000, "10m": 10_000_000}  # 20k: a quick smoke test of the harness


def log(msg):
    print(f"[bench {datetime.datetime.now():%H:%M:%S}] {msg}", file=sys.stderr, flush=True)


def timed(cmd, stdout=None, stderr=None, env=None):
    """Runs cmd; returns (exit code, wall seconds, peak RSS in MiB of that process)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=stdout, stderr=stderr, env=env, cwd=ROOT)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    return p.returncode, wall, ru.ru_maxrss / 1024.0


def generate_running(out):
    """pid of a `healthscore generate` writing into out, if any."""
    target = os.path.realpath(out)
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            args = open(f"/proc/{d}/cmdline", "rb").read().split(b"\0")
            cwd = os.readlink(f"/proc/{d}/cwd")
        except OSError:
            continue
        args = [a.decode(errors="replace") for a in args if a]
        if len(args) > 2 and args[0].endswith("healthscore") and "generate" in args and "--out" in args:
            i = args.index("--out")
            if i + 1 < len(args) and os.path.realpath(os.path.join(cwd, args[i + 1])) == target:
                return int(d)
    return None


def ensure_workload(a, out, accounts):
    marker = out.rstrip("/") + ".generated"
    if os.path.exists(marker):
        log(f"workload {out} present ({marker}); not regenerating")
        return json.load(open(marker))
    pid = generate_running(out)
    if pid:
        log(f"a healthscore generate (pid {pid}) is writing {out}; waiting for it")
        while os.path.exists(f"/proc/{pid}"):
            time.sleep(5)
        # it may have failed: check that every table is there, else regenerate
        if all(glob.glob(os.path.join(out, t, "*.parquet")) for t in TABLES):
            info = {"generated_by": "an earlier healthscore generate", "accounts": accounts, "seed": a.seed,
                    "as_of": a.as_of, "seconds": None}
            json.dump(info, open(marker, "w"), indent=1)
            return info
    cmd = [a.binary, "generate", "--accounts", str(accounts), "--seed", str(a.seed), "--as-of", a.as_of, "--out", out]
    log("generating: " + " ".join(cmd))
    code, wall, rss = timed(cmd)
    if code != 0:
        raise SystemExit(f"generate failed with exit {code}")
    info = {"command": " ".join(cmd), "accounts": accounts, "seed": a.seed, "as_of": a.as_of,
            "seconds": round(wall, 1), "peak_rss_mib": round(rss)}
    json.dump(info, open(marker, "w"), indent=1)
    log(f"generated in {wall:.0f} s (peak RSS {rss:.0f} MiB)")
    return info


def input_rows(inp):
    import pyarrow.parquet as pq
    rows = {}
    for t in TABLES:
        rows[t] = sum(pq.read_metadata(f).num_rows for f in sorted(glob.glob(os.path.join(inp, t, "*.parquet"))))
    return rows


def run_healthscore(a, inp, out_dir, log_path):
    shutil.rmtree(out_dir, ignore_errors=True)
    cmd = [a.binary, "run", "--pipeline", a.pipeline, "--input", inp, "--output", out_dir, "--as-of", a.as_of]
    with open(log_path, "w") as err:
        code, wall, rss = timed(cmd, stdout=subprocess.DEVNULL, stderr=err)
    if code != 0:
        raise SystemExit(f"healthscore run failed (exit {code}); see {log_path}")
    stages = {}
    for line in open(log_path):
        m = re.search(r'stage done stage="([^"]+)" duration_ms=(\d+)', line)
        if m:
            stages[m.group(1)] = stages.get(m.group(1), 0) + int(m.group(2))
    manifest = json.load(open(os.path.join(out_dir, "scores", f"snapshot_date={a.as_of}", "_SUCCESS")))
    return {"wall": wall, "rss": rss, "stages_log": stages, "stages_ms": manifest.get("stages_ms", {})}


def run_duckdb(a, inp, out_file, log_path):
    if os.path.exists(out_file):
        os.remove(out_file)
    cmd = [sys.executable, os.path.join(HERE, "duckdb_run.py"), "--input", inp, "--as-of", a.as_of,
           "--out", out_file, "--threads", str(a.threads)]
    with open(log_path, "w") as err:
        code, wall, rss = timed(cmd, stdout=subprocess.DEVNULL, stderr=err)
    if code != 0:
        raise SystemExit(f"DuckDB script failed (exit {code}); see {log_path}")
    return {"wall": wall, "rss": rss}


SCAN_CHILD = r"""
import sys, json, duckdb
inp, needed, threads = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])
con = duckdb.connect()
con.execute(f"SET threads = {threads}")
con.execute("SET enable_progress_bar = false")
for t, cols in needed.items():
    aggs = ", ".join(f'sum(hash("{c}"))' for c in cols)
    con.execute(f"SELECT {aggs} FROM read_parquet('{inp}/{t}/*.parquet')").fetchall()
"""


def run_scan(a, inp):
    """The floor (SPEC §9's strictest bare scan): DuckDB decoding every
    needed column of every row of every table (sum(hash(col)) per column, so
    each value is decoded and no statistic can stand in for it; no filter,
    no join)."""
    cmd = [sys.executable, "-c", SCAN_CHILD, inp, json.dumps(NEEDED), str(a.threads)]
    code, wall, rss = timed(cmd, stdout=subprocess.DEVNULL)
    if code != 0:
        raise SystemExit(f"bare scan failed (exit {code})")
    return {"wall": wall, "rss": rss}


def load1():
    return float(open("/proc/loadavg").read().split()[0])


def summarise(name, runs, total_rows):
    walls = [r["wall"] for r in runs]
    return {
        "runs": len(runs),
        "wall_s": [round(w, 3) for w in walls],
        "wall_min_s": round(min(walls), 3),
        "wall_median_s": round(statistics.median(walls), 3),
        "rows_per_s_median": round(total_rows / statistics.median(walls)),
        "peak_rss_mib": round(max(r["rss"] for r in runs)),
        "load1_before_runs": [r.get("load1") for r in runs],
    }


def machine():
    cpu = "?"
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = "?"
    for line in open("/proc/meminfo"):
        if line.startswith("MemTotal"):
            mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    fam = {}
    for line in open("/proc/cpuinfo"):
        k = line.split(":", 1)[0].strip()
        if k in ("cpu family", "model", "cpu MHz", "cache size") and k not in fam:
            fam[k] = line.split(":", 1)[1].strip()
    if fam:
        cpu += " (" + ", ".join(f"{k} {v}" for k, v in fam.items()) + ")"
    if " hypervisor" in open("/proc/cpuinfo").read():
        cpu += ", virtual machine"
    return {"nproc": os.cpu_count(), "memory": mem, "cpu": cpu, "loadavg_at_end": open("/proc/loadavg").read().split()[:3]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workload", choices=sorted(WORKLOADS), default="1m")
    ap.add_argument("--runs", type=int, default=3, help="timed runs of each contender (alternating)")
    ap.add_argument("--threads", type=int, default=2, help="DuckDB and scan threads")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--as-of", default="2026-11-24")
    ap.add_argument("--binary", default="target/debug/healthscore")
    ap.add_argument("--pipeline", default="pipelines/default.toml")
    ap.add_argument("--cache", default="bench/cache")
    a = ap.parse_args()
    os.chdir(ROOT)
    if not os.path.exists(a.binary):
        raise SystemExit(f"{a.binary} is missing: run `cargo build` (or `make build`) first")

    accounts = WORKLOADS[a.workload]
    inp = os.path.join(a.cache, a.workload)
    gen = ensure_workload(a, inp, accounts)
    rows = input_rows(inp)
    total = sum(rows.values())
    log(f"input rows: {rows} = {total}")
    work = os.path.join(a.cache, "runs", a.workload)
    os.makedirs(work, exist_ok=True)
    try:
        version = subprocess.run([a.binary, "--version"], capture_output=True, text=True).stdout.strip()
    except OSError:
        version = "?"
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "src", "Cargo.toml", "Cargo.lock"],
                           capture_output=True, text=True, cwd=ROOT).stdout.strip() != ""
    import duckdb
    result = {"workload": a.workload, "as_of": a.as_of, "input": inp, "input_rows": rows,
              "healthscore_version": version, "git_commit": commit + ("+uncommitted src changes" if dirty else ""),
              "binary_mtime": datetime.datetime.fromtimestamp(os.path.getmtime(a.binary)).isoformat(timespec="seconds"),
              "duckdb_version": duckdb.__version__,
              "input_rows_total": total, "generate": gen, "binary": a.binary, "pipeline": a.pipeline,
              "started": datetime.datetime.now().isoformat(timespec="seconds")}

    if a.workload == "10m":
        log("healthscore run (once)")
        hs = run_healthscore(a, inp, os.path.join(work, "healthscore"), os.path.join(work, "healthscore.log"))
        log(f"healthscore: {hs['wall']:.1f} s, peak RSS {hs['rss']:.0f} MiB")
        result["healthscore"] = summarise("healthscore", [hs], total)
        result["healthscore"]["stages_log_ms"] = hs["stages_log"]
        result["healthscore"]["stages_ms"] = hs["stages_ms"]
    else:
        if a.runs < 3:
            log("note: fewer than 3 runs requested")
        log("warming the page cache (untimed scan)")
        run_scan(a, inp)
        hs_runs, dd_runs, sc_runs = [], [], []
        for i in range(a.runs):
            l1 = load1()
            hs = run_healthscore(a, inp, os.path.join(work, f"healthscore-{i}"), os.path.join(work, f"healthscore-{i}.log"))
            hs["load1"] = l1
            log(f"run {i + 1}/{a.runs} healthscore {hs['wall']:.2f} s, {hs['rss']:.0f} MiB (load before {l1})")
            l1 = load1()
            dd = run_duckdb(a, inp, os.path.join(work, f"duckdb-{i}.parquet"), os.path.join(work, f"duckdb-{i}.log"))
            dd["load1"] = l1
            log(f"run {i + 1}/{a.runs} duckdb      {dd['wall']:.2f} s, {dd['rss']:.0f} MiB (load before {l1})")
            l1 = load1()
            sc = run_scan(a, inp)
            sc["load1"] = l1
            log(f"run {i + 1}/{a.runs} scan        {sc['wall']:.2f} s, {sc['rss']:.0f} MiB (load before {l1})")
            hs_runs.append(hs), dd_runs.append(dd), sc_runs.append(sc)
            if i + 1 < a.runs:  # keep one pair of outputs for the comparison
                shutil.rmtree(os.path.join(work, f"healthscore-{i}"), ignore_errors=True)
                os.remove(os.path.join(work, f"duckdb-{i}.parquet"))
        from compare import compare
        last = a.runs - 1
        log("comparing healthscore and DuckDB scores cell by cell")
        problems = compare(os.path.join(work, f"healthscore-{last}", "scores", f"snapshot_date={a.as_of}", "*.parquet"),
                           os.path.join(work, f"duckdb-{last}.parquet"))
        result["scores_identical"] = not problems
        result["differences"] = problems
        for name, runs in (("healthscore", hs_runs), ("duckdb", dd_runs), ("scan", sc_runs)):
            result[name] = summarise(name, runs, total)
        stages = sorted({k for r in hs_runs for k in r["stages_log"]}, key=lambda k: list(hs_runs[0]["stages_log"]).index(k) if k in hs_runs[0]["stages_log"] else 99)
        result["healthscore"]["stages_log_ms_median"] = {k: statistics.median(r["stages_log"].get(k, 0) for r in hs_runs) for k in stages}
        result["healthscore"]["stages_ms_per_run"] = [r["stages_ms"] for r in hs_runs]
        h, d, s = result["healthscore"], result["duckdb"], result["scan"]
        result["ratios"] = {
            "healthscore/duckdb (median)": round(h["wall_median_s"] / d["wall_median_s"], 3),
            "healthscore/duckdb (min)": round(h["wall_min_s"] / d["wall_min_s"], 3),
            "healthscore/scan (median)": round(h["wall_median_s"] / s["wall_median_s"], 3),
            "healthscore/scan (min)": round(h["wall_min_s"] / s["wall_min_s"], 3),
            "duckdb/scan (median)": round(d["wall_median_s"] / s["wall_median_s"], 3),
        }
    result["machine"] = machine()
    result["finished"] = datetime.datetime.now().isoformat(timespec="seconds")
    out_json = os.path.join(a.cache, f"results-{a.workload}.json")
    json.dump(result, open(out_json, "w"), indent=1)
    report(result)
    log(f"results written to {out_json}")
    if a.workload != "10m" and not result["scores_identical"]:
        print("\nSCORES DIFFER:\n" + "\n".join(result["differences"]))
        sys.exit(1)


def report(r):
    m = r["machine"]
    print(f"\n## {r['workload']} workload, as of {r['as_of']} — {r['finished']}")
    print(f"machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory']}; load average at end {' '.join(m['loadavg_at_end'])}")
    print(f"input rows: {r['input_rows_total']:,} ({', '.join(f'{k} {v:,}' for k, v in r['input_rows'].items())})")
    print(f"{r['healthscore_version']} ({r['binary']}, built {r['binary_mtime']}, tree {r['git_commit']}); DuckDB {r['duckdb_version']}\n")
    print("| contender | runs | wall min (s) | wall median (s) | input rows/s (median) | peak RSS (MiB) |")
    print("|---|---|---|---|---|---|")
    for name in ("healthscore", "duckdb", "scan"):
        if name in r:
            x = r[name]
            print(f"| {name} | {x['runs']} | {x['wall_min_s']:.2f} | {x['wall_median_s']:.2f} | "
                  f"{x['rows_per_s_median'] / 1e6:.1f} M | {x['peak_rss_mib']} |")
    if "ratios" in r:
        print()
        for k, v in r["ratios"].items():
            print(f"- {k}: {v}")
        print(f"- scores identical cell by cell: {r['scores_identical']}")
    h = r["healthscore"]
    per_run = h.get("stages_ms_per_run") or ([h["stages_ms"]] if h.get("stages_ms") else [])
    st = h.get("stages_log_ms_median") or h.get("stages_log_ms")
    if st:
        names = list(st)
        print("\nhealthscore time per stage (ms; manifest stages_ms per run, median of the log lines):\n")
        print("| run | " + " | ".join(names) + " |")
        print("|---|" + "---|" * len(names))
        for i, run in enumerate(per_run):
            print(f"| {i + 1} | " + " | ".join(f"{run.get(k, 0):,}" for k in names) + " |")
        print("| median (log) | " + " | ".join(f"{st[k]:,g}" for k in names) + " |")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--report":  # re-print a saved results JSON
        report(json.load(open(sys.argv[2])))
    else:
        main()
