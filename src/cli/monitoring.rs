//! `run --metrics-file PATH`: the run's figures in the Prometheus text
//! exposition format (version 0.0.4), for a node-exporter textfile
//! collector or a pushgateway. The file is written on failure too (with
//! the exit code and without a success timestamp), and atomically: a
//! temporary file in the same folder, then a rename, so a collector never
//! reads half a file.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use serde_json::Value;

/// One metric family: name, help text and samples (labels, value).
struct Family {
    name: &'static str,
    help: &'static str,
    samples: Vec<(Vec<(&'static str, String)>, f64)>,
}

impl Family {
    fn new(name: &'static str, help: &'static str) -> Family {
        Family {
            name,
            help,
            samples: Vec::new(),
        }
    }
    fn add(&mut self, labels: Vec<(&'static str, String)>, value: f64) {
        self.samples.push((labels, value));
    }
}

/// Escapes a label value: backslash, double quote and newline.
fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Formats a sample value as Prometheus reads it.
fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{v}")
    }
}

fn as_f64(v: &Value) -> Option<f64> {
    v.as_f64()
}

/// Renders the metrics of one `run`: `result` is the run's JSON result
/// (with `tables`, `stages_ms`, `accounts.by_band`, `as_of`) when it
/// succeeded, None when it failed; `now` is the Unix time in seconds.
pub fn render(result: Option<&Value>, exit_code: i32, now: f64) -> String {
    let mut families = Vec::new();

    let mut exit = Family::new(
        "healthscore_exit_code",
        "Exit code of the last run (0 ok, 1 retry, 2 fix the input, 64 usage).",
    );
    exit.add(Vec::new(), f64::from(exit_code));
    families.push(exit);

    let mut last_run = Family::new(
        "healthscore_last_run_timestamp_seconds",
        "Unix time the last run ended, whatever its outcome.",
    );
    last_run.add(Vec::new(), now);
    families.push(last_run);

    if let Some(r) = result {
        families.extend(success_families(r, now));
    }

    exposition(&families)
}

/// The families of a successful run: its time, as-of date, stage times,
/// row counts per table and rule, and accounts per band.
fn success_families(r: &Value, now: f64) -> Vec<Family> {
    let mut families = Vec::new();
    let mut success = Family::new(
        "healthscore_last_success_timestamp_seconds",
        "Unix time the last successful run committed its snapshot.",
    );
    success.add(Vec::new(), now);
    families.push(success);

    if let Some(as_of) = r["as_of"]
        .as_str()
        .and_then(|s| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        .and_then(|d| d.and_hms_opt(0, 0, 0))
    {
        let mut f = Family::new(
            "healthscore_as_of_timestamp_seconds",
            "The as-of date of the last committed snapshot (midnight UTC).",
        );
        f.add(Vec::new(), as_of.and_utc().timestamp() as f64);
        families.push(f);
    }

    let mut stages = Family::new(
        "healthscore_stage_duration_seconds",
        "Wall time of each stage of the last successful run.",
    );
    if let Some(map) = r["stages_ms"].as_object() {
        for (stage, ms) in map {
            if let Some(ms) = as_f64(ms) {
                stages.add(vec![("stage", stage.clone())], ms / 1000.0);
            }
        }
    }
    families.push(stages);
    families.extend(row_families(&r["tables"]));

    let mut bands = Family::new(
        "healthscore_accounts",
        "Accounts scored by the last successful run, per band.",
    );
    if let Some(map) = r["accounts"]["by_band"].as_object() {
        for (band, n) in map {
            if let Some(n) = as_f64(n) {
                bands.add(vec![("band", band.clone())], n);
            }
        }
    }
    families.push(bands);
    families
}

/// The row counts of each input table: read, used, after as-of, rejected
/// per rule and orphaned per reason.
fn row_families(tables: &Value) -> [Family; 3] {
    let mut rows = Family::new(
        "healthscore_rows",
        "Rows per input table: read, used, and dated after the as-of date.",
    );
    let mut rejected = Family::new(
        "healthscore_rows_rejected",
        "Rows rejected per input table and rule.",
    );
    let mut orphaned = Family::new(
        "healthscore_rows_orphaned",
        "Rows per input table whose customer_id is null or unknown.",
    );
    for (table, c) in tables.as_object().into_iter().flatten() {
        for (kind, key) in [
            ("read", "rows_read"),
            ("used", "rows_used"),
            ("after_as_of", "after_as_of"),
        ] {
            if let Some(n) = as_f64(&c[key]) {
                rows.add(vec![("table", table.clone()), ("kind", kind.into())], n);
            }
        }
        for (rule, n) in c["rejected"].as_object().into_iter().flatten() {
            if let Some(n) = as_f64(n) {
                rejected.add(vec![("table", table.clone()), ("rule", rule.clone())], n);
            }
        }
        for (reason, n) in c["orphaned"].as_object().into_iter().flatten() {
            if let Some(n) = as_f64(n) {
                orphaned.add(
                    vec![("table", table.clone()), ("reason", reason.clone())],
                    n,
                );
            }
        }
    }
    [rows, rejected, orphaned]
}

/// The Prometheus text exposition of the families that have samples.
fn exposition(families: &[Family]) -> String {
    let mut out = String::new();
    for f in families.iter().filter(|f| !f.samples.is_empty()) {
        let _ = writeln!(out, "# HELP {} {}", f.name, f.help);
        let _ = writeln!(out, "# TYPE {} gauge", f.name);
        for (labels, v) in &f.samples {
            out.push_str(f.name);
            if !labels.is_empty() {
                let parts: Vec<String> = labels
                    .iter()
                    .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v)))
                    .collect();
                let _ = write!(out, "{{{}}}", parts.join(","));
            }
            let _ = writeln!(out, " {}", number(*v));
        }
    }
    out
}

/// Writes `text` to `path` atomically: a temporary file in the same
/// folder (not ending in `.prom`, so a textfile collector ignores it),
/// flushed to disk, then renamed over `path`.
pub fn write_atomic(path: &Path, text: &str) -> std::io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "metrics".into());
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
