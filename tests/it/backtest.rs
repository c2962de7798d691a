//! `healthscore backtest`: the measures on tiny hand-made sets whose answers
//! are worked out by hand, the weight fit on synthetic outcomes generated
//! from known weights, the label semantics end to end on a one-metric
//! pipeline, and the default pipeline on sample_data/.

use crate::common;
use common::*;
use healthscore::commands::backtest::{
    auc, fit_group_weights, lead_time, lowest_share, score_with_weights, AS_OF, BAND, CHURNED,
    CHURNED_ON, CUSTOMER_ID, SCORE,
};
use polars::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::Path;

fn scored(scores: &[f64], churned: &[bool]) -> DataFrame {
    DataFrame::new_infer_height(vec![
        Column::new(SCORE.into(), scores.to_vec()),
        Column::new(CHURNED.into(), churned.to_vec()),
    ])
    .unwrap()
}

fn auc_of(scores: &[f64], churned: &[bool]) -> Option<f64> {
    auc(&scored(scores, churned), SCORE, CHURNED).unwrap()
}

#[test]
fn auc_known_answers() {
    // Churners score lowest: perfectly foreseen.
    let y = [true, true, false, false, false];
    assert_eq!(auc_of(&[10.0, 20.0, 30.0, 40.0, 50.0], &y), Some(1.0));
    // Churners score highest: perfectly wrong.
    assert_eq!(auc_of(&[50.0, 40.0, 30.0, 20.0, 10.0], &y), Some(0.0));
    // All tied: every pair counts one half.
    assert_eq!(auc_of(&[60.0; 5], &y), Some(0.5));
    // Mixed, by hand: churners 10 and 30, retained 20, 30, 40.
    // 10 is below all three (3); 30 is above 20 (0), tied with 30 (0.5),
    // below 40 (1): 4.5 of 6 pairs.
    let a = auc_of(&[10.0, 30.0, 20.0, 30.0, 40.0], &y).unwrap();
    assert!((a - 0.75).abs() < 1e-12, "{a}");
    // Without churners (or without retained accounts) there is no AUC.
    assert_eq!(auc_of(&[1.0, 2.0], &[false, false]), None);
}

#[test]
fn lowest_decile_lift_and_capture() {
    // Ten accounts scored 10..100; churners at 10 and 50. The lowest decile
    // is the one account at 10: it holds one of the two churners.
    let s: Vec<f64> = (1..=10).map(|i| i as f64 * 10.0).collect();
    let y: Vec<bool> = (1..=10).map(|i| i == 1 || i == 5).collect();
    let d = lowest_share(&scored(&s, &y), SCORE, CHURNED, 0.1)
        .unwrap()
        .unwrap();
    assert_eq!(d.accounts, 1.0);
    assert_eq!(d.churned, 1.0);
    assert_eq!(d.churn_rate, 1.0);
    assert_eq!(d.capture, 0.5);
    // Churn rate 100% in the decile against 20% overall.
    assert!((d.lift - 5.0).abs() < 1e-12);
    assert_eq!(d.score_cutoff, 10.0);

    // Ties at the cut enter in proportion: 20 accounts, 2 taken, the four
    // lowest tied at 5 with two churners → 2 × 2/4 = 1 churner expected of 4.
    let mut s = vec![5.0; 4];
    s.extend(vec![50.0; 16]);
    let mut y = vec![true, true, false, false];
    y.extend((0..16).map(|i| i < 2));
    let d = lowest_share(&scored(&s, &y), SCORE, CHURNED, 0.1)
        .unwrap()
        .unwrap();
    assert!((d.churned - 1.0).abs() < 1e-12);
    assert!((d.capture - 0.25).abs() < 1e-12);
    assert!((d.lift - 2.5).abs() < 1e-12);
}

#[test]
fn lead_time_from_the_first_alert() {
    // (customer, as_of, band, churned within horizon, next churn date)
    let rows: Vec<(&str, i32, &str, bool, Option<i32>)> = vec![
        // A churns on day 100: Healthy at 10, At-Risk at 40 (first alert),
        // Critical at 70 → lead 60.
        ("A", 10, "Healthy", true, Some(100)),
        ("A", 40, "At-Risk", true, Some(100)),
        ("A", 70, "Critical", true, Some(100)),
        // B churns on day 80 and is Critical from day 10 → lead 70. The
        // day-10 alert counts even if its horizon had not reached day 80.
        ("B", 10, "Critical", false, Some(80)),
        ("B", 40, "Healthy", true, Some(80)),
        // C churns on day 90 and is never flagged: missed.
        ("C", 10, "Thriving", true, Some(90)),
        ("C", 40, "Healthy", true, Some(90)),
        // D churns on day 300, beyond every horizon: not a churner here.
        ("D", 40, "Critical", false, Some(300)),
        // E never churns.
        ("E", 40, "Critical", false, None),
    ];
    let df = DataFrame::new_infer_height(vec![
        Column::new(
            CUSTOMER_ID.into(),
            rows.iter().map(|r| r.0).collect::<Vec<_>>(),
        ),
        Column::new(AS_OF.into(), rows.iter().map(|r| r.1).collect::<Vec<_>>()),
        Column::new(BAND.into(), rows.iter().map(|r| r.2).collect::<Vec<_>>()),
        Column::new(CHURNED.into(), rows.iter().map(|r| r.3).collect::<Vec<_>>()),
        Column::new(
            CHURNED_ON.into(),
            rows.iter().map(|r| r.4).collect::<Vec<_>>(),
        ),
    ])
    .unwrap();
    let alert = vec!["Critical".to_string(), "At-Risk".to_string()];
    let l = lead_time(&df, &alert).unwrap();
    assert_eq!(l.churners, 3);
    assert_eq!(l.flagged, 2);
    assert_eq!(l.median_days, Some(65.0));
    assert_eq!(l.mean_days, Some(65.0));
    assert!((l.flagged_share.unwrap() - 2.0 / 3.0).abs() < 1e-12);
}

/// Group points uniform in 0-100; churn drawn from a logistic model of the
/// score those weights give.
fn synthetic(weights: &[f64], n: usize, seed: u64) -> (Vec<Vec<Option<f64>>>, Vec<bool>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let total: f64 = weights.iter().sum();
    let mut points = vec![Vec::with_capacity(n); weights.len()];
    let mut churned = Vec::with_capacity(n);
    for _ in 0..n {
        let mut score = 0.0;
        for (g, w) in weights.iter().enumerate() {
            let v: f64 = rng.gen_range(0.0..100.0);
            score += w * v / total;
            points[g].push(Some(v));
        }
        // Risk rises steeply as the true score falls.
        let eta = -6.0 + 10.0 * (1.0 - score / 100.0);
        churned.push(rng.gen::<f64>() < 1.0 / (1.0 + (-eta).exp()));
    }
    (points, churned)
}

#[test]
fn weight_fit_recovers_known_weights() {
    // Churn generated from 70 / 30 / 0: the fit gives the larger weight to
    // the first group, about 70 / 30, and next to nothing to the third.
    let (points, churned) = synthetic(&[70.0, 30.0, 0.0], 40_000, 5);
    let f = fit_group_weights(&points, &churned, 1e-4).unwrap();
    assert_eq!(f.weights.iter().sum::<i64>(), 100);
    assert!(f.weights[0] > f.weights[1], "{:?}", f.weights);
    assert!((f.weights[0] - 70).abs() <= 6, "{:?}", f.weights);
    assert!((f.weights[1] - 30).abs() <= 6, "{:?}", f.weights);
    assert!(f.weights[2] <= 4, "{:?}", f.weights);
    assert!(f.fit.coef.iter().all(|c| *c >= 0.0));
    assert!(f.fit.converged);

    // Swapped weights are recovered swapped.
    let (points, churned) = synthetic(&[20.0, 80.0], 40_000, 6);
    let f = fit_group_weights(&points, &churned, 1e-4).unwrap();
    assert!(f.weights[1] > f.weights[0], "{:?}", f.weights);
    assert!((f.weights[1] - 80).abs() <= 6, "{:?}", f.weights);

    // A group whose points are *higher* for churners gets weight 0 (the
    // weights are non-negative), and a missing group takes its mean.
    let (mut points, churned) = synthetic(&[60.0, 40.0], 20_000, 7);
    let reversed: Vec<Option<f64>> = points[0].iter().map(|v| v.map(|v| 100.0 - v)).collect();
    points.push(reversed);
    points.push(vec![None; churned.len()]);
    for (i, v) in points[1].iter_mut().enumerate() {
        if i % 10 == 0 {
            *v = None;
        }
    }
    let f = fit_group_weights(&points, &churned, 1e-4).unwrap();
    assert_eq!(f.weights[2], 0, "{:?}", f.weights);
    assert_eq!(f.weights[3], 0, "{:?}", f.weights);
    assert_eq!(f.has_data, vec![true, true, true, false]);
    assert!(f.weights[0] > f.weights[1], "{:?}", f.weights);

    // The fitted weights score better than the wrong ones on fresh data.
    let (fresh, y) = synthetic(&[70.0, 30.0, 0.0], 20_000, 8);
    let with = |w: &[f64]| -> f64 {
        let s: Vec<f64> = (0..y.len())
            .map(|i| score_with_weights(&fresh, w, i).unwrap())
            .collect();
        auc_of(&s, &y).unwrap()
    };
    assert!(with(&[70.0, 30.0, 0.0]) > with(&[0.0, 30.0, 70.0]) + 0.1);

    // Outcomes unrelated to every group: no suggestion, or a harmless one.
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let y: Vec<bool> = (0..2000).map(|_| rng.gen_bool(0.2)).collect();
    let flat: Vec<Vec<Option<f64>>> = vec![vec![Some(50.0); 2000]];
    assert!(fit_group_weights(&flat, &y, 1e-3).is_none());
}

// ---------------------------------------------------------------------------
// End to end on a one-metric pipeline: score = onboarding_completion_pct.
// ---------------------------------------------------------------------------

const PCT_PIPELINE: &str = r#"[pipeline]
name = "pct"
version = "1"

[sources.accounts]
path = "accounts"

[[groups]]
name = "onboarding"

[[metrics]]
name = "pct"
group = "onboarding"
account = "onboarding_completion_pct"
normalize = { linear = [0, 100] }

[[scorecards]]
name = "all"
weights = { onboarding = 1 }
"#;

/// Six accounts; D1 = D − 60 (2026-09-25), D2 = D − 30 (2026-10-25); a
/// horizon of 30 days. Churn dates are given in days before D.
fn labelled_fixture(dir: &Path) {
    // (id, score, churned_on days before D)
    let rows: Vec<(&str, f64, Option<i64>)> = vec![
        ("A", 10.0, Some(50)),   // D1 + 10: churner at D1, gone at D2
        ("B", 20.0, Some(15)),   // D1 + 45: beyond D1's horizon, churner at D2
        ("C", 90.0, None),       // stays
        ("D", 80.0, Some(65)),   // D1 − 5: gone at both dates
        ("E", 70.0, None),       // stays
        ("F", 30.0, Some(-140)), // churns long after every horizon
    ];
    let accounts: Vec<(&str, Option<f64>)> = rows.iter().map(|r| (r.0, Some(r.1))).collect();
    write_pct_accounts(dir, &accounts);
    let churners: Vec<&(&str, f64, Option<i64>)> = rows.iter().filter(|r| r.2.is_some()).collect();
    let labels = DataFrame::new_infer_height(vec![
        Column::new(
            "customer_id".into(),
            churners.iter().map(|r| r.0).collect::<Vec<_>>(),
        ),
        // Timestamps are accepted too (the UTC date is used).
        ts_col(
            "churned_on",
            &churners.iter().map(|r| r.2).collect::<Vec<_>>(),
        ),
    ])
    .unwrap();
    write_parquet(dir, "labels/churn.parquet", labels);
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn close_to(v: &serde_json::Value, expected: f64, what: &str) {
    let a = v
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: {v}, expected {expected}"));
    assert!(
        (a - expected).abs() < 1e-9,
        "{what}: got {a}, expected {expected}"
    );
}

#[test]
fn labels_semantics_end_to_end() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    labelled_fixture(&input);
    let pipeline = tmp.path().join("pct.toml");
    std::fs::write(&pipeline, PCT_PIPELINE).unwrap();
    let report = tmp.path().join("report");
    let o = healthscore(&[
        "backtest",
        "--pipeline",
        pipeline.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--labels",
        "labels/churn.parquet",
        "--from",
        "2026-09-25",
        "--to",
        "2026-11-23",
        "--every",
        "30d",
        "--horizon",
        "30d",
        "--report",
        report.to_str().unwrap(),
    ]);
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    let r = read_json(&report.join("report.json"));
    assert_eq!(r["dates"], serde_json::json!(["2026-09-25", "2026-10-25"]));
    assert_eq!(r["labels"]["rows"], 4);
    let m = &r["models"][0];
    let d1 = &m["per_date"][0];
    let d2 = &m["per_date"][1];
    // D1: A churns within 30 days; D was gone already; B churns later.
    assert_eq!(d1["already_churned"], 1);
    assert_eq!(d1["all"]["accounts"], 5);
    assert_eq!(d1["all"]["churned"], 1);
    close_to(&d1["all"]["auc"], 1.0, "AUC at D1");
    // D2: A and D are gone; B churns within 30 days.
    assert_eq!(d2["already_churned"], 2);
    assert_eq!(d2["all"]["accounts"], 4);
    assert_eq!(d2["all"]["churned"], 1);
    close_to(&d2["all"]["auc"], 1.0, "AUC at D2");
    // B churns 15 days after D2, flagged (Critical) at D2.
    close_to(&d2["all"]["lead_time"]["median_days"], 15.0, "lead at D2");

    // Pooled: churners A@D1 (10) and B@D2 (20) against B@D1 (20), F (30)
    // ×2, E (70) ×2, C (90) ×2: 7 + 6.5 of 14 pairs.
    let p = &m["pooled"];
    assert_eq!(p["accounts"], 9);
    assert_eq!(p["churned"], 2);
    close_to(&p["auc"], 13.5 / 14.0, "pooled AUC");
    // Critical holds A@D1, B@D1, F@D1, B@D2, F@D2: 2 of 5.
    let bands = p["bands"].as_array().unwrap();
    assert_eq!(bands[0]["band"], "Critical");
    assert_eq!(bands[0]["accounts"], 5);
    close_to(&bands[0]["churn_rate"], 0.4, "Critical churn rate");
    assert_eq!(bands[1]["accounts"], 0);
    assert_eq!(bands[2]["band"], "Healthy");
    close_to(&bands[2]["churn_rate"], 0.0, "Healthy churn rate");
    assert_eq!(p["bands_fall"], true);
    // Lowest decile of 9: 0.9 of the account at 10, a churner.
    close_to(&p["lowest_decile"]["churned"], 0.9, "decile churners");
    close_to(&p["lowest_decile"]["capture"], 0.45, "decile capture");
    close_to(&p["lowest_decile"]["lift"], 4.5, "decile lift");
    // Lead time: A flagged at D1, 10 days ahead; B flagged at D1 too (its
    // first Critical score), 45 days ahead.
    assert_eq!(p["lead_time"]["churners"], 2);
    assert_eq!(p["lead_time"]["flagged"], 2);
    close_to(&p["lead_time"]["median_days"], 27.5, "median lead");
    // The group and the metric on their own equal the score here.
    close_to(&p["groups"][0]["auc"], 13.5 / 14.0, "group AUC");
    close_to(&p["metrics"][0]["auc"], 13.5 / 14.0, "metric AUC");
    // Two churners are too few to fit weights: the current ones are kept.
    assert!(m["weights"][0]["note"]
        .as_str()
        .unwrap()
        .contains("too few"));
    assert!(m["toml"]
        .as_str()
        .unwrap()
        .contains("weights = { onboarding = 1 }"));
    for f in ["report.md", "report.html"] {
        assert!(report.join(f).exists(), "{f}");
    }
}

// ---------------------------------------------------------------------------
// The default pipeline on sample_data/.
// ---------------------------------------------------------------------------

fn sample_args(report: &str) -> Vec<&str> {
    vec![
        "backtest",
        "--pipeline",
        "pipelines/default.toml",
        "--input",
        "sample_data",
        "--from",
        "2026-09-25",
        "--to",
        "2026-11-24",
        "--every",
        "30d",
        "--horizon",
        "90d",
        "--report",
        report,
    ]
}

fn in_repo(args: &[&str]) -> Out {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_healthscore"));
    cmd.current_dir(repo()).args(args);
    let o = cmd.output().unwrap();
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

#[test]
fn default_pipeline_foresees_churn_on_sample_data() {
    let tmp = tempfile::tempdir().unwrap();
    let report = tmp.path().join("r");
    let o = in_repo(&sample_args(report.to_str().unwrap()));
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    let r = read_json(&report.join("report.json"));
    let p = &r["models"][0]["pooled"];
    // 0.863 when written (README); well above chance.
    let a = p["auc"].as_f64().unwrap();
    assert!(a > 0.75, "AUC {a}");
    for d in r["models"][0]["per_date"].as_array().unwrap() {
        assert!(d["all"]["auc"].as_f64().unwrap() > 0.7, "{d}");
    }
    // Churn falls band by band, Critical far above Thriving.
    assert_eq!(p["bands_fall"], true);
    let rate = |i: usize| p["bands"][i]["churn_rate"].as_f64().unwrap();
    assert!(rate(0) > 5.0 * rate(2), "{}", p["bands"]);
    assert!(p["lowest_decile"]["lift"].as_f64().unwrap() > 3.0);
    assert!(p["lead_time"]["median_days"].as_f64().unwrap() > 0.0);
    // Suggested weights: integers summing to 100 where there is enough data.
    let weights = r["models"][0]["weights"].as_array().unwrap();
    let standard = weights
        .iter()
        .find(|w| w["scorecard"] == "standard")
        .unwrap();
    let sum: i64 = standard["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["suggested"].as_i64().unwrap())
        .sum();
    assert_eq!(sum, 100);
    assert!(standard["out_of_time"]["suggested_auc"].as_f64().is_some());
    // A fit that does worse out of time than the current weights is shown
    // but not suggested: the fragment keeps the current weights.
    for w in weights {
        if w["fit"].is_object() && w["recommended"] == false {
            let toml_text = r["models"][0]["toml"].as_str().unwrap();
            assert!(toml_text.contains("NOT suggested"), "{toml_text}");
        }
    }
    // The TOML fragment parses and names every scorecard.
    let toml_text = r["models"][0]["toml"].as_str().unwrap();
    let parsed: toml::Value = toml::from_str(toml_text).unwrap();
    assert_eq!(parsed["scorecards"].as_array().unwrap().len(), 3);
    // The text summary carries the figures and the fragment.
    assert!(o.stdout.contains("AUC 0."), "{}", o.stdout);
    assert!(o.stdout.contains("[[scorecards]]"), "{}", o.stdout);
    // A self-contained page with inline SVG plots.
    let html = std::fs::read_to_string(report.join("report.html")).unwrap();
    assert!(html.matches("<svg").count() >= 5);
    assert!(!html.contains("<script"));
    assert!(!html.contains("src=\"http") && !html.contains("href=\"http"));
    let md = std::fs::read_to_string(report.join("report.md")).unwrap();
    assert!(md.contains("| Critical |"));
}

#[test]
fn compare_prints_the_difference() {
    let tmp = tempfile::tempdir().unwrap();
    let report = tmp.path().join("r");
    // A second pipeline: the default with everything on churn_risk.
    let text = std::fs::read_to_string(repo().join("pipelines/default.toml"))
        .unwrap()
        .replace("name = \"default\"", "name = \"churn_only\"")
        .replace(
            "weights = { adoption = 25, sentiment = 20, churn_risk = 20, support = 15, onboarding = 10, engagement = 5, revenue = 5 }",
            "weights = { churn_risk = 100 }",
        );
    let other = tmp.path().join("other.toml");
    std::fs::write(&other, text).unwrap();
    let mut args = sample_args(report.to_str().unwrap());
    args.extend(["--compare", other.to_str().unwrap(), "--format", "json"]);
    let o = in_repo(&args);
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    let out: serde_json::Value = serde_json::from_str(o.stdout.trim()).unwrap();
    assert_eq!(out["status"], "ok");
    assert_eq!(out["models"].as_array().unwrap().len(), 2);
    let c = &out["compare"];
    assert_eq!(c["baseline"], "default@1");
    assert_eq!(c["candidate"], "churn_only@1");
    let auc = c["figures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["figure"] == "AUC")
        .unwrap();
    let (a, b, d) = (
        auc["baseline"].as_f64().unwrap(),
        auc["candidate"].as_f64().unwrap(),
        auc["difference"].as_f64().unwrap(),
    );
    assert!((b - a - d).abs() < 1e-12);
    assert!((a - b).abs() > 1e-6, "the two pipelines score differently");
}

#[test]
fn bad_command_lines_and_inputs() {
    let tmp = tempfile::tempdir().unwrap();
    let report = tmp.path().join("r");
    let r = report.to_str().unwrap();
    let with = |f: &dyn Fn(&mut Vec<&str>)| {
        let mut a = sample_args(r);
        f(&mut a);
        in_repo(&a)
    };
    // --from after --to, a bad span, a bad date: exit 64.
    let o = with(&|a| a[6] = "2026-12-01");
    assert_eq!(o.code, 64, "{}", o.stderr);
    let o = with(&|a| a[10] = "monthly");
    assert_eq!(o.code, 64, "{}", o.stderr);
    assert!(o.stderr.contains("--every monthly"), "{}", o.stderr);
    let o = with(&|a| a[8] = "24/11/2026");
    assert_eq!(o.code, 64, "{}", o.stderr);
    // An unknown alert band: exit 64.
    let o = with(&|a| a.extend(["--alert-bands", "Red"]));
    assert_eq!(o.code, 64, "{}", o.stderr);
    // No labels table: exit 2, naming it.
    let o = with(&|a| a.extend(["--labels", "no_such_table"]));
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("churn_labels"), "{}", o.stderr);
    assert!(o.stderr.contains("no_such_table"), "{}", o.stderr);
    // A date before the usage export starts trips the lag guard: exit 2,
    // naming the date; nothing is written.
    let o = with(&|a| a[6] = "2026-06-01");
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(
        o.stderr.contains("backtest date 2026-06-01"),
        "{}",
        o.stderr
    );
    assert!(!report.join("report.json").exists());
}

#[test]
fn flags_from_the_environment() {
    let tmp = tempfile::tempdir().unwrap();
    let report = tmp.path().join("r");
    let o = healthscore_env(
        &["backtest"],
        &[
            (
                "HEALTHSCORE_PIPELINE",
                repo().join("pipelines/default.toml").to_str().unwrap(),
            ),
            (
                "HEALTHSCORE_INPUT",
                repo().join("sample_data").to_str().unwrap(),
            ),
            ("HEALTHSCORE_FROM", "2026-10-25"),
            ("HEALTHSCORE_TO", "2026-11-24"),
            ("HEALTHSCORE_EVERY", "30d"),
            ("HEALTHSCORE_HORIZON", "60d"),
            ("HEALTHSCORE_REPORT", report.to_str().unwrap()),
        ],
    );
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    let r = read_json(&report.join("report.json"));
    assert_eq!(r["horizon_days"], 60);
    assert_eq!(r["dates"].as_array().unwrap().len(), 2);
}
