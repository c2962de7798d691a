//! `run --metrics-file`: the Prometheus text file, checked with a small
//! parser of the text exposition format (HELP/TYPE lines, metric and label
//! names, label value escapes, float values), on success and on failure,
//! and written atomically.

use crate::bad_fixture as fixture;
use crate::common;
use std::collections::BTreeMap;

use common::*;
use fixture::*;

/// One parsed sample.
#[derive(Debug, Clone, PartialEq)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

fn is_metric_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn is_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !s.starts_with("__")
}

fn parse_value(s: &str) -> f64 {
    match s {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        _ => s
            .parse::<f64>()
            .unwrap_or_else(|_| panic!("bad sample value {s:?}")),
    }
}

/// Parses `{a="x",b="y"}` from the start of `s`; returns the labels and
/// the rest of the line.
fn parse_labels(s: &str) -> (BTreeMap<String, String>, &str) {
    let mut labels = BTreeMap::new();
    let mut rest = s.strip_prefix('{').unwrap();
    loop {
        if let Some(r) = rest.strip_prefix('}') {
            return (labels, r);
        }
        let eq = rest.find('=').expect("label without =");
        let name = &rest[..eq];
        assert!(is_label_name(name), "bad label name {name:?}");
        rest = rest[eq + 1..]
            .strip_prefix('"')
            .expect("label value must be quoted");
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            let (i, c) = chars.next().expect("unterminated label value");
            match c {
                '"' => break i,
                '\\' => match chars.next().expect("dangling escape").1 {
                    '\\' => value.push('\\'),
                    '"' => value.push('"'),
                    'n' => value.push('\n'),
                    other => panic!("bad escape \\{other}"),
                },
                '\n' => panic!("raw newline in label value"),
                c => value.push(c),
            }
        };
        assert!(
            labels.insert(name.to_string(), value).is_none(),
            "duplicate label {name}"
        );
        rest = &rest[end + 1..];
        if let Some(r) = rest.strip_prefix(',') {
            rest = r;
        } else {
            assert!(
                rest.starts_with('}'),
                "expected , or }} in labels: {rest:?}"
            );
        }
    }
}

/// Parses a whole file in the text exposition format; checks that every
/// family has one HELP and one TYPE before its samples, that a family's
/// samples are contiguous, and that no series appears twice.
fn parse(text: &str) -> (Vec<Sample>, BTreeMap<String, String>) {
    assert!(text.ends_with('\n'), "the file ends with a newline");
    let mut samples: Vec<Sample> = Vec::new();
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut helps: BTreeMap<String, String> = BTreeMap::new();
    let mut finished: Vec<String> = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        assert!(!line.trim().is_empty(), "no blank lines");
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let kind = parts.next().unwrap();
            let name = parts.next().expect("comment names a metric").to_string();
            let body = parts.next().unwrap_or("").to_string();
            assert!(is_metric_name(&name), "bad metric name {name:?}");
            match kind {
                "HELP" => {
                    assert!(!body.is_empty(), "empty HELP for {name}");
                    assert!(
                        helps.insert(name.clone(), body).is_none(),
                        "two HELP {name}"
                    );
                }
                "TYPE" => {
                    assert!(
                        ["counter", "gauge", "histogram", "summary", "untyped"]
                            .contains(&body.as_str()),
                        "bad TYPE {body}"
                    );
                    assert!(
                        !samples.iter().any(|s| s.name == name),
                        "TYPE {name} after its samples"
                    );
                    assert!(
                        types.insert(name.clone(), body).is_none(),
                        "two TYPE {name}"
                    );
                }
                other => panic!("unknown comment {other}"),
            }
            continue;
        }
        let name_end = line.find(['{', ' ']).expect("sample without value");
        let name = &line[..name_end];
        assert!(is_metric_name(name), "bad metric name {name:?}");
        let (labels, rest) = if line[name_end..].starts_with('{') {
            parse_labels(&line[name_end..])
        } else {
            (BTreeMap::new(), &line[name_end..])
        };
        let mut fields = rest.trim_start_matches(' ').split(' ');
        let value = parse_value(fields.next().expect("value"));
        if let Some(ts) = fields.next() {
            ts.parse::<i64>().expect("timestamp is an integer");
        }
        assert!(fields.next().is_none(), "trailing fields: {line}");
        assert!(types.contains_key(name), "sample of {name} before its TYPE");
        assert!(helps.contains_key(name), "sample of {name} without HELP");
        if current.as_deref() != Some(name) {
            assert!(
                !finished.contains(&name.to_string()),
                "samples of {name} are not contiguous"
            );
            if let Some(c) = current.take() {
                finished.push(c);
            }
            current = Some(name.to_string());
        }
        let s = Sample {
            name: name.to_string(),
            labels,
            value,
        };
        assert!(
            !samples
                .iter()
                .any(|o| o.name == s.name && o.labels == s.labels),
            "duplicate series {line}"
        );
        samples.push(s);
    }
    (samples, types)
}

fn get(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| {
            s.name == name
                && s.labels.len() == labels.len()
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Files in a folder, by name.
fn names(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn a_successful_run_writes_every_figure() {
    let mut fx = Fixture::valid(6);
    fx.usage[0].id = None;
    fx.usage[1].id = o("ZZZ");
    fx.usage[5].events = Some(-1);
    fx.tickets[0].id = o("A999");
    let case = Case::lenient();
    fx.write(&case.input());
    let prom_dir = case.tmp.path().join("textfile");
    std::fs::create_dir_all(&prom_dir).unwrap();
    let path = prom_dir.join("healthscore.prom");
    std::fs::write(&path, "stale content\n").unwrap();
    let started = now();
    let r = case.run(&["--format", "json", "--metrics-file", path.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let j: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(
        names(&prom_dir),
        ["healthscore.prom"],
        "no temporary file left"
    );
    let text = std::fs::read_to_string(&path).unwrap();
    let (samples, types) = parse(&text);
    assert!(types.values().all(|t| t == "gauge"), "{types:?}");

    assert_eq!(get(&samples, "healthscore_exit_code", &[]), Some(0.0));
    let success = get(&samples, "healthscore_last_success_timestamp_seconds", &[]).unwrap();
    assert!(
        success >= started - 1.0 && success <= now() + 1.0,
        "{success}"
    );
    assert_eq!(
        get(&samples, "healthscore_as_of_timestamp_seconds", &[]),
        Some(1_795_478_400.0),
        "2026-11-24T00:00:00Z"
    );

    // Stages: one sample per stage of the result, in seconds.
    let stages = j["stages_ms"].as_object().unwrap();
    assert!(!stages.is_empty());
    for (stage, ms) in stages {
        let v = get(
            &samples,
            "healthscore_stage_duration_seconds",
            &[("stage", stage)],
        )
        .unwrap_or_else(|| panic!("no duration for stage {stage}:\n{text}"));
        assert!((v - ms.as_f64().unwrap() / 1000.0).abs() < 1e-9);
    }

    // Rows per table and kind, rejects per rule, orphans per reason: the
    // figures of the JSON result.
    for (table, c) in j["tables"].as_object().unwrap() {
        for (kind, key) in [
            ("read", "rows_read"),
            ("used", "rows_used"),
            ("after_as_of", "after_as_of"),
        ] {
            assert_eq!(
                get(
                    &samples,
                    "healthscore_rows",
                    &[("table", table), ("kind", kind)]
                ),
                c[key].as_f64(),
                "{table} {kind}"
            );
        }
        for (rule, n) in c["rejected"].as_object().unwrap() {
            assert_eq!(
                get(
                    &samples,
                    "healthscore_rows_rejected",
                    &[("table", table), ("rule", rule)]
                ),
                n.as_f64(),
                "{table} {rule}"
            );
        }
        if let Some(orphaned) = c["orphaned"].as_object() {
            for (reason, n) in orphaned {
                assert_eq!(
                    get(
                        &samples,
                        "healthscore_rows_orphaned",
                        &[("table", table), ("reason", reason)]
                    ),
                    n.as_f64(),
                    "{table} {reason}"
                );
            }
        }
    }
    assert_eq!(
        get(
            &samples,
            "healthscore_rows",
            &[("table", "usage"), ("kind", "read")]
        ),
        Some(120.0)
    );
    let rejected_usage: f64 = samples
        .iter()
        .filter(|s| s.name == "healthscore_rows_rejected" && s.labels["table"] == "usage")
        .map(|s| s.value)
        .sum();
    assert_eq!(rejected_usage, 1.0, "{text}");
    assert_eq!(
        get(
            &samples,
            "healthscore_rows_orphaned",
            &[("table", "usage"), ("reason", "null_customer_id")]
        ),
        Some(1.0)
    );
    assert_eq!(
        get(
            &samples,
            "healthscore_rows_orphaned",
            &[
                ("table", "support_tickets"),
                ("reason", "unknown_customer_id")
            ]
        ),
        Some(1.0)
    );

    // Accounts per band add up to the accounts scored.
    let bands: f64 = samples
        .iter()
        .filter(|s| s.name == "healthscore_accounts")
        .map(|s| s.value)
        .sum();
    assert_eq!(bands, 6.0);
    for (band, n) in j["accounts"]["by_band"].as_object().unwrap() {
        assert_eq!(
            get(&samples, "healthscore_accounts", &[("band", band)]),
            n.as_f64()
        );
    }
}

#[test]
fn a_failed_run_writes_its_exit_code_without_a_success_timestamp() {
    let case = Case::strict();
    // A valid run first, then one whose input is gone.
    Fixture::valid(3).write(&case.input());
    let path = case.tmp.path().join("hs.prom");
    let ok = case.run(&["--metrics-file", path.to_str().unwrap()]);
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    let (samples, _) = parse(&std::fs::read_to_string(&path).unwrap());
    assert!(get(&samples, "healthscore_last_success_timestamp_seconds", &[]).is_some());

    std::fs::remove_dir_all(case.input().join("usage")).unwrap();
    let bad = case.run(&["--metrics-file", path.to_str().unwrap()]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    let text = std::fs::read_to_string(&path).unwrap();
    let (samples, _) = parse(&text);
    assert_eq!(
        get(&samples, "healthscore_exit_code", &[]),
        Some(2.0),
        "{text}"
    );
    assert!(get(&samples, "healthscore_last_run_timestamp_seconds", &[]).is_some());
    assert!(
        get(&samples, "healthscore_last_success_timestamp_seconds", &[]).is_none(),
        "{text}"
    );
    assert!(
        !samples.iter().any(|s| s.name == "healthscore_accounts"),
        "{text}"
    );

    // Through the environment too, for a usage error after parsing.
    let env_path = case.tmp.path().join("env.prom");
    let o = healthscore_env(
        &[
            "run",
            "--pipeline",
            case.pipeline().to_str().unwrap(),
            "--input",
            case.input().to_str().unwrap(),
            "--output",
            case.out().to_str().unwrap(),
            "--as-of",
            "2026-13-01",
        ],
        &[("HEALTHSCORE_METRICS_FILE", env_path.to_str().unwrap())],
    );
    assert_eq!(o.code, 64, "{}", o.stderr);
    let (samples, _) = parse(&std::fs::read_to_string(&env_path).unwrap());
    assert_eq!(get(&samples, "healthscore_exit_code", &[]), Some(64.0));
}

#[test]
fn an_unwritable_metrics_file_is_a_warning_not_a_failed_run() {
    let case = Case::strict();
    Fixture::valid(3).write(&case.input());
    let path = case.tmp.path().join("no/such/folder/hs.prom");
    let r = case.run(&["--metrics-file", path.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("cannot write the metrics file"),
        "{}",
        r.stderr
    );
    assert!(case
        .out()
        .join(format!("scores/snapshot_date={D}/_SUCCESS"))
        .exists());
}

#[test]
fn label_values_are_escaped() {
    let result = serde_json::json!({
        "as_of": "2026-11-24",
        "stages_ms": {"open": 1500},
        "tables": {"we\"ird\\ta\nble": {"rows_read": 3, "rows_used": 2, "after_as_of": 1,
            "rejected": {"negative": 1}, "orphaned": {}}},
        "accounts": {"by_band": {"At-Risk": 2}},
    });
    let text = healthscore::cli::monitoring::render(Some(&result), 0, 1_700_000_000.5);
    let (samples, _) = parse(&text);
    assert_eq!(
        get(
            &samples,
            "healthscore_rows",
            &[("table", "we\"ird\\ta\nble"), ("kind", "read")]
        ),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        get(
            &samples,
            "healthscore_stage_duration_seconds",
            &[("stage", "open")]
        ),
        Some(1.5)
    );
    assert_eq!(
        get(&samples, "healthscore_last_success_timestamp_seconds", &[]),
        Some(1_700_000_000.5)
    );
    let failed = healthscore::cli::monitoring::render(None, 1, 1_700_000_000.0);
    let (samples, _) = parse(&failed);
    assert_eq!(
        samples.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        [
            "healthscore_exit_code",
            "healthscore_last_run_timestamp_seconds"
        ]
    );
}
