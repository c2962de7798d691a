//! The report's files: report.json (every figure), report.md and
//! report.html through the storage seam, and the suggested weights as a
//! TOML fragment to paste into the pipeline.

use std::fmt::Write as _;

use super::model::Report;
use super::render::{f3, fmt_weight, html, markdown};
use super::weights::WeightSuggestion;
use super::Options;
use crate::error::{Error, Result};
use crate::pipeline::Pipeline;
use crate::storage::Store;

/// Writes report.json, report.md and report.html to `store`.
pub(super) fn write_report(store: &Store, r: &Report) -> Result<()> {
    let json = serde_json::to_vec_pretty(r)
        .map_err(|e| Error::Internal(format!("serialising the report: {e}")))?;
    store.put("report.json", bytes::Bytes::from(json))?;
    store.put("report.md", bytes::Bytes::from(markdown(r)))?;
    store.put("report.html", bytes::Bytes::from(html(r)))?;
    Ok(())
}

/// The suggested weights of every scorecard as a TOML fragment (a
/// `[[scorecards]]` entry each; the current weights where none is suggested).
pub(super) fn toml_fragment(p: &Pipeline, weights: &[WeightSuggestion], opts: &Options) -> String {
    let mut t = String::new();
    let first = opts
        .dates
        .first()
        .map(|d| d.to_string())
        .unwrap_or_default();
    let last = opts.dates.last().map(|d| d.to_string()).unwrap_or_default();
    let _ = writeln!(
        t,
        "# Group weights suggested by `healthscore backtest` for {} ({} dates {first}..{last}, horizon {}d).",
        p.model_version(),
        opts.dates.len(),
        opts.horizon_days
    );
    let _ = writeln!(
        t,
        "# Suggestions only, never applied: replace the `weights` of each [[scorecards]] entry, keep its playbooks, and bump [pipeline] version."
    );
    for s in weights {
        t.push('\n');
        let _ = writeln!(t, "[[scorecards]]");
        let _ = writeln!(t, "name = {}", toml_str(&s.scorecard));
        if let Some(w) = &s.when {
            let _ = writeln!(t, "when = {}", toml_str(w));
        }
        let suggested: Option<Vec<(String, i64)>> = s
            .groups
            .iter()
            .map(|g| g.suggested.map(|w| (g.group.clone(), w)))
            .collect();
        match suggested {
            Some(ws) => {
                let _ = writeln!(
                    t,
                    "# AUC on all dates: suggested {} vs current {}{}",
                    f3(s.suggested_auc),
                    f3(s.current_auc),
                    match &s.out_of_time {
                        Some(v) => format!(
                            "; out of time (fit on {}, evaluated on {}): suggested {} vs current {}",
                            v.fit_dates.join(","),
                            v.eval_dates.join(","),
                            f3(v.suggested_auc),
                            f3(v.current_auc)
                        ),
                        None => String::new(),
                    }
                );
                let body: Vec<String> = ws
                    .iter()
                    .map(|(g, w)| format!("{} = {w}", toml_key(g)))
                    .collect();
                if s.recommended {
                    let _ = writeln!(t, "weights = {{ {} }}", body.join(", "));
                } else {
                    let _ = writeln!(
                        t,
                        "# fitted, NOT suggested: {{ {} }}\n# {}",
                        body.join(", "),
                        s.note.as_deref().unwrap_or("")
                    );
                    let _ = writeln!(t, "weights = {{ {} }}", current_weights(s));
                }
            }
            None => {
                let _ = writeln!(t, "# {}", s.note.as_deref().unwrap_or("no suggestion"));
                let _ = writeln!(t, "weights = {{ {} }}", current_weights(s));
            }
        }
    }
    t
}

/// The current weights of a scorecard as the body of a TOML inline table.
fn current_weights(s: &WeightSuggestion) -> String {
    s.groups
        .iter()
        .map(|g| format!("{} = {}", toml_key(&g.group), fmt_weight(g.current)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A TOML key: bare when it can be, else quoted.
fn toml_key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_string()
    } else {
        toml_str(k)
    }
}

/// A TOML basic string.
fn toml_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
