//! What the backtest shows people: the text summary on stdout
//! ([`outcome`]), report.md ([`markdown`]) and the self-contained
//! report.html ([`html`]) with its inline SVG plots; and the number
//! formats they share.

mod html;
mod markdown;
mod svg;
mod text;

pub(super) use html::html;
pub(super) use markdown::markdown;
pub(super) use text::outcome;

use super::measures::Eval;
use crate::render::esc;

/// A figure with 3 decimals, or `n/a`.
pub(super) fn f3(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.3}")).unwrap_or_else(|| "n/a".into())
}

/// A share as a percentage with 1 decimal, or `n/a`.
fn pct(v: Option<f64>) -> String {
    v.map(|v| format!("{:.1}%", v * 100.0))
        .unwrap_or_else(|| "n/a".into())
}

/// A number of days, rounded, or `n/a`.
fn days(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.0} days"))
        .unwrap_or_else(|| "n/a".into())
}

/// A weight as written in a pipeline (no decimals when whole).
pub(super) fn fmt_weight(w: f64) -> String {
    if w.fract() == 0.0 && w.abs() < 1e15 {
        format!("{}", w as i64)
    } else {
        format!("{w}")
    }
}

/// The churn rate of each band with accounts, lowest band first.
fn band_line(e: &Eval) -> String {
    e.bands
        .iter()
        .filter(|b| b.accounts > 0)
        .map(|b| format!("{} {}", b.band, pct(b.churn_rate)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether a compared figure is a share (shown in %).
fn is_share(figure: &str) -> bool {
    figure.starts_with("churn rate")
        || figure.starts_with("share")
        || figure.contains("capture")
        || figure.contains("flagged")
}

/// A compared figure in its unit.
fn fmt_fig(figure: &str, v: Option<f64>) -> String {
    if is_share(figure) {
        pct(v)
    } else if figure.contains("days") {
        days(v)
    } else {
        f3(v)
    }
}

/// The difference of a compared figure in its unit (points for shares).
fn fmt_diff(figure: &str, d: Option<f64>) -> String {
    match d {
        None => "n/a".into(),
        Some(d) if is_share(figure) => format!("{:+.1} pts", d * 100.0),
        Some(d) if figure.contains("days") => format!("{d:+.0} days"),
        Some(d) => format!("{d:+.3}"),
    }
}
