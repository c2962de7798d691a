//! The summary printed on stdout: a few lines per model, the comparison
//! and the notes as text, and the main figures as one JSON object.

use std::fmt::Write as _;

use super::{band_line, days, f3, fmt_diff, fmt_fig, pct};
use crate::commands::backtest::model::Comparison;
use crate::commands::backtest::model::{ModelReport, Report};
use crate::commands::Outcome;
use crate::storage::Store;

/// What `healthscore backtest` prints: the text summary and the JSON object.
pub(crate) fn outcome(r: &Report, store: &Store) -> Outcome {
    let mut text = String::new();
    for (i, m) in r.models.iter().enumerate() {
        model_text(&mut text, r, i, m);
    }
    if let Some(c) = &r.compare {
        compare_text(&mut text, c);
    }
    for n in &r.notes {
        let _ = writeln!(text, "note: {n}");
    }
    let _ = write!(
        text,
        "report: {} (also report.json, report.md)",
        store.url_of("report.html")
    );
    let json = outcome_json(r, store);
    Outcome { text, json }
}

/// The summary lines of model `i` of the report.
fn model_text(text: &mut String, r: &Report, i: usize, m: &ModelReport) {
    let e = &m.pooled;
    let _ = writeln!(
        text,
        "{}backtest {} on {}: {} dates {}..{} every {}d, horizon {}d",
        if i > 0 { "\n" } else { "" },
        m.model_version,
        r.input,
        r.dates.len(),
        r.dates.first().cloned().unwrap_or_default(),
        r.dates.last().cloned().unwrap_or_default(),
        r.every_days,
        r.horizon_days
    );
    let _ = writeln!(
        text,
        "  AUC {} over {} account-dates, {} churned within {}d ({})",
        f3(e.auc),
        e.accounts,
        e.churned,
        r.horizon_days,
        pct(e.churn_rate)
    );
    let _ = writeln!(
        text,
        "  churn by band: {}{}",
        band_line(e),
        match e.bands_fall {
            Some(true) => " (falls band by band)",
            Some(false) => " (does NOT fall band by band)",
            None => "",
        }
    );
    if let Some(d) = &e.lowest_decile {
        let _ = writeln!(
            text,
            "  lowest-scored decile: {} of churners captured, lift {:.2}",
            pct(Some(d.capture)),
            d.lift
        );
    }
    let _ = writeln!(
        text,
        "  lead time: median {} from the first {} score to churn ({} of {} churners flagged)",
        days(e.lead_time.median_days),
        m.alert_bands.join("/"),
        e.lead_time.flagged,
        e.lead_time.churners
    );
    let per_date: Vec<String> = m
        .per_date
        .iter()
        .map(|d| format!("{} {}", d.as_of, f3(d.all.auc)))
        .collect();
    let _ = writeln!(text, "  AUC per date: {}", per_date.join(", "));
    let per_sc: Vec<String> = m
        .by_scorecard
        .iter()
        .map(|s| {
            format!(
                "{} {} ({} account-dates, {} churned)",
                s.scorecard,
                f3(s.eval.auc),
                s.eval.scored,
                s.eval.churned
            )
        })
        .collect();
    let _ = writeln!(text, "  AUC per scorecard: {}", per_sc.join(", "));
    let _ = writeln!(
        text,
        "  suggested weights (not applied; paste into the pipeline):"
    );
    for l in m.toml.lines() {
        if l.is_empty() {
            text.push('\n');
        } else {
            let _ = writeln!(text, "    {l}");
        }
    }
}

/// The `--compare` lines.
fn compare_text(text: &mut String, c: &Comparison) {
    let _ = writeln!(text, "\ncompare {} → {}:", c.baseline, c.candidate);
    for f in &c.figures {
        let _ = writeln!(
            text,
            "  {}: {} → {} ({})",
            f.figure,
            fmt_fig(&f.figure, f.baseline),
            fmt_fig(&f.figure, f.candidate),
            fmt_diff(&f.figure, f.difference)
        );
    }
}

/// The main figures as one JSON object (the whole report is report.json).
fn outcome_json(r: &Report, store: &Store) -> serde_json::Value {
    let m = &r.models[0];
    let objects: Vec<String> = ["report.json", "report.md", "report.html"]
        .iter()
        .map(|o| store.url_of(o))
        .collect();
    serde_json::json!({
        "report": store.url(),
        "objects": objects,
        "dates": r.dates,
        "horizon_days": r.horizon_days,
        "models": r.models.iter().map(|m| serde_json::json!({
            "model_version": m.model_version,
            "auc": m.pooled.auc,
            "churn_rate": m.pooled.churn_rate,
            "bands": m.pooled.bands,
            "lowest_decile": m.pooled.lowest_decile,
            "lead_time": m.pooled.lead_time,
            "auc_by_scorecard": m.by_scorecard.iter().map(|s| (s.scorecard.clone(), serde_json::json!(s.eval.auc))).collect::<serde_json::Map<_, _>>(),
            "suggested_weights_toml": m.toml,
        })).collect::<Vec<_>>(),
        "auc": m.pooled.auc,
        "compare": r.compare,
        "notes": r.notes,
    })
}
