//! Shared helpers of the integration tests: write small Parquet fixtures,
//! drive the real binary, read its output back.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use polars::prelude::*;

/// The as-of date most fixtures use.
pub const D: &str = "2026-11-24";

/// A date `days` before 2026-11-24 (negative = after).
pub fn day(days_before_d: i64) -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 11, 24).unwrap() - chrono::Duration::days(days_before_d)
}

/// Dates as a polars Date column.
pub fn date_col(name: &str, days_before_d: &[Option<i64>]) -> Column {
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
    let v: Vec<Option<i32>> = days_before_d
        .iter()
        .map(|d| d.map(|d| (day(d) - epoch).num_days() as i32))
        .collect();
    Series::new(name.into(), v)
        .cast(&DataType::Date)
        .unwrap()
        .into_column()
}

/// Timestamps (µs, UTC) at noon of dates before D.
pub fn ts_col(name: &str, days_before_d: &[Option<i64>]) -> Column {
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
    let v: Vec<Option<i64>> = days_before_d
        .iter()
        .map(|d| d.map(|d| (day(d) - epoch).num_days() * 86_400_000_000 + 12 * 3_600_000_000))
        .collect();
    Series::new(name.into(), v)
        .cast(&DataType::Datetime(
            TimeUnit::Microseconds,
            Some(TimeZone::UTC),
        ))
        .unwrap()
        .into_column()
}

/// Writes `df` to `dir/rel` as Parquet, creating folders.
pub fn write_parquet(dir: &Path, rel: &str, mut df: DataFrame) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let f = std::fs::File::create(&path).unwrap();
    ParquetWriter::new(f).finish(&mut df).unwrap();
}

/// Reads every part of a Parquet folder (or one file).
pub fn read_parquet(path: &Path) -> DataFrame {
    let mut files: Vec<PathBuf> = if path.is_dir() {
        std::fs::read_dir(path)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
            .collect()
    } else {
        vec![path.to_path_buf()]
    };
    files.sort();
    let frames: Vec<LazyFrame> = files
        .iter()
        .map(|f| {
            ParquetReader::new(std::fs::File::open(f).unwrap())
                .finish()
                .unwrap()
                .lazy()
        })
        .collect();
    concat(frames, UnionArgs::default())
        .unwrap()
        .collect()
        .unwrap()
}

/// Result of one run of the binary.
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the healthscore binary with `args`.
pub fn healthscore(args: &[&str]) -> Out {
    healthscore_env(args, &[])
}

/// Runs the healthscore binary with `args` and extra environment variables.
pub fn healthscore_env(args: &[&str], env: &[(&str, &str)]) -> Out {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_healthscore"));
    cmd.args(args);
    // The caller's environment never sets the date; `env` may.
    cmd.env_remove("HEALTHSCORE_AS_OF");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let o = cmd.output().expect("run healthscore");
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Value of one cell as f64 (None for null).
pub fn f(df: &DataFrame, column: &str, row: usize) -> Option<f64> {
    df.column(column)
        .unwrap()
        .get(row)
        .unwrap()
        .extract::<f64>()
}

/// Value of one cell as a string (None for null).
pub fn s(df: &DataFrame, column: &str, row: usize) -> Option<String> {
    df.column(column)
        .unwrap()
        .get(row)
        .unwrap()
        .get_str()
        .map(str::to_string)
}

/// Index of the row whose customer_id is `id`.
pub fn row_of(df: &DataFrame, id: &str) -> usize {
    let ids = df.column("customer_id").unwrap().str().unwrap().clone();
    let pos = ids.iter().position(|v| v == Some(id));
    pos.unwrap_or_else(|| panic!("customer {id} not in output"))
}

/// Asserts two floats agree to 1e-9.
pub fn close(actual: Option<f64>, expected: f64, what: &str) {
    let a = actual.unwrap_or_else(|| panic!("{what}: null, expected {expected}"));
    assert!(
        (a - expected).abs() < 1e-9,
        "{what}: got {a}, expected {expected}"
    );
}

/// The Python with pyarrow and DuckDB: $HEALTHSCORE_TEST_PYTHON, else the
/// repository's .venv. Never skipped: without one the test fails.
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("HEALTHSCORE_TEST_PYTHON").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        if p.exists() {
            return p;
        }
    }
    let venv = repo().join(".venv/bin/python");
    if venv.exists() {
        return venv;
    }
    panic!(
        "no Python for tests/readers/check_output.py: HEALTHSCORE_TEST_PYTHON is unset or \
         missing and {} does not exist. Run `make test` (it creates the .venv with pyarrow \
         and DuckDB and sets HEALTHSCORE_TEST_PYTHON)",
        venv.display()
    );
}

/// Runs a Python `script` (pyarrow, DuckDB) with `arg` as `sys.argv[1]`
/// in the test venv's Python; fails the test with its output unless it
/// exits 0.
pub fn run_python(script: &str, arg: &Path) {
    let py = python();
    let o = Command::new(&py)
        .args(["-c", script, arg.to_str().unwrap()])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}; run `make test`", py.display()));
    assert!(
        o.status.success(),
        "python script failed:\n{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The `_SUCCESS` manifest of the scores snapshot of `date` under `out`.
pub fn read_manifest(out: &Path, date: &str) -> serde_json::Value {
    let path = out.join(format!("scores/snapshot_date={date}/_SUCCESS"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap()
}

/// A one-metric pipeline: `pct` = accounts.onboarding_completion_pct,
/// linear 0-100, in group `onboarding` (playbook `onboard`), one scorecard
/// `all`; its model_version is `pct@<version>`.
pub fn pct_pipeline(version: &str) -> String {
    format!(
        r#"[pipeline]
name = "pct"
version = "{version}"

[sources.accounts]
path = "accounts"

[[groups]]
name = "onboarding"
playbook = "onboard"

[[metrics]]
name = "pct"
group = "onboarding"
account = "onboarding_completion_pct"
normalize = {{ linear = [0, 100] }}

[[scorecards]]
name = "all"
weights = {{ onboarding = 1 }}
"#
    )
}

/// The accounts table of [`pct_pipeline`] under `dir`, replacing an
/// earlier one: per row its customer_id (also the name) and
/// onboarding_completion_pct, segment `smb`, signed up D − 400.
pub fn write_pct_accounts(dir: &Path, rows: &[(&str, Option<f64>)]) {
    let df = DataFrame::new_infer_height(vec![
        Column::new(
            "customer_id".into(),
            rows.iter().map(|r| r.0).collect::<Vec<_>>(),
        ),
        Column::new("name".into(), rows.iter().map(|r| r.0).collect::<Vec<_>>()),
        Column::new("segment".into(), vec!["smb"; rows.len()]),
        date_col("signup_date", &vec![Some(400); rows.len()]),
        Column::new(
            "onboarding_completion_pct".into(),
            rows.iter().map(|r| r.1).collect::<Vec<_>>(),
        ),
    ])
    .unwrap();
    let _ = std::fs::remove_dir_all(dir.join("accounts"));
    write_parquet(dir, "accounts/part-0.parquet", df);
}

/// Copies the committed sample data (2,000 accounts, exported on D) into
/// `dir`.
pub fn copy_sample_data(dir: &Path) {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                copy(&e.path(), &to.join(e.file_name()));
            } else {
                std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
            }
        }
    }
    copy(&repo().join("sample_data"), dir);
}

/// `healthscore run --pipeline P --input I --output O --as-of D [extra…]`.
pub fn run_pipeline(
    pipeline: &Path,
    input: &Path,
    output: &Path,
    as_of: &str,
    extra: &[&str],
) -> Out {
    let mut args = vec![
        "run",
        "--pipeline",
        pipeline.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
        "--as-of",
        as_of,
    ];
    args.extend(extra);
    healthscore(&args)
}
