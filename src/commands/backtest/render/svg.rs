//! The report's inline SVG plots: the ROC curves, churn per band, the score
//! histogram, AUC per date, each signal's AUC and a scorecard's weights.

use std::fmt::Write as _;

use super::{esc, f3, pct};
use crate::commands::backtest::measures::{BandRate, Eval, SignalAuc};
use crate::commands::backtest::model::ModelReport;
use crate::commands::backtest::weights::WeightSuggestion;

/// A CSS colour for a band colour name (only safe characters pass through).
fn css_color(c: &str) -> String {
    match c.to_ascii_lowercase().as_str() {
        "red" => "#d64541".into(),
        "yellow" | "amber" | "orange" => "#e6a23c".into(),
        "green" => "#3c9d5d".into(),
        "grey" | "gray" => "#9aa0a6".into(),
        other
            if !other.is_empty()
                && other
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '#') =>
        {
            other.to_string()
        }
        _ => "#888".into(),
    }
}

/// Line colours of the models and scorecards, in turn.
pub(super) const PALETTE: [&str; 8] = [
    "#1f4e79", "#c0504d", "#4f9a3a", "#8064a2", "#f39c12", "#2aa198", "#7f6000", "#d33682",
];

/// A plot area: the SVG size and the margins around the axes.
struct Plot {
    w: f64,
    h: f64,
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
}

impl Plot {
    fn x(&self, v: f64) -> f64 {
        self.left + v * (self.w - self.left - self.right)
    }
    fn y(&self, v: f64) -> f64 {
        self.h - self.bottom - v * (self.h - self.top - self.bottom)
    }
    fn open(&self, title: &str) -> String {
        format!(
            r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="{t}"><title>{t}</title><rect x="0" y="0" width="{w}" height="{h}" fill="#fff"/>"##,
            w = self.w,
            h = self.h,
            t = esc(title)
        )
    }
    /// Axes with ticks 0..1 on both (labels formatted by `fx`/`fy`).
    fn axes(&self, xt: &[(f64, String)], yt: &[(f64, String)], xl: &str, yl: &str) -> String {
        let mut s = String::new();
        for (v, l) in yt {
            let y = self.y(*v);
            let _ = write!(
                s,
                r##"<line x1="{}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="#e5e5e5"/><text x="{}" y="{:.1}" font-size="11" text-anchor="end" fill="#555">{}</text>"##,
                self.left,
                self.w - self.right,
                self.left - 6.0,
                y + 4.0,
                esc(l)
            );
        }
        for (v, l) in xt {
            let x = self.x(*v);
            let _ = write!(
                s,
                r##"<line x1="{x:.1}" y1="{}" x2="{x:.1}" y2="{}" stroke="#ccc"/><text x="{x:.1}" y="{}" font-size="11" text-anchor="middle" fill="#555">{}</text>"##,
                self.h - self.bottom,
                self.h - self.bottom + 4.0,
                self.h - self.bottom + 17.0,
                esc(l)
            );
        }
        let _ = write!(
            s,
            r##"<line x1="{l}" y1="{b}" x2="{r}" y2="{b}" stroke="#333"/><line x1="{l}" y1="{t}" x2="{l}" y2="{b}" stroke="#333"/>"##,
            l = self.left,
            r = self.w - self.right,
            t = self.top,
            b = self.h - self.bottom
        );
        let _ = write!(
            s,
            r##"<text x="{:.1}" y="{:.1}" font-size="12" text-anchor="middle" fill="#333">{}</text>"##,
            (self.left + self.w - self.right) / 2.0,
            self.h - 6.0,
            esc(xl)
        );
        let _ = write!(
            s,
            r##"<text transform="translate(14,{:.1}) rotate(-90)" font-size="12" text-anchor="middle" fill="#333">{}</text>"##,
            (self.top + self.h - self.bottom) / 2.0,
            esc(yl)
        );
        s
    }
}

/// `n + 1` evenly spaced ticks over 0..1 labelled from 0..`max`.
fn ticks(n: usize, max: f64, fmt: impl Fn(f64) -> String) -> Vec<(f64, String)> {
    (0..=n)
        .map(|i| {
            let f = i as f64 / n as f64;
            (f, fmt(f * max))
        })
        .collect()
}

/// A legend of line samples (label, colour, dashed) from (`x`, `y`) down.
fn legend(items: &[(String, String, bool)], x: f64, y: f64) -> String {
    let mut s = String::new();
    for (i, (label, color, dashed)) in items.iter().enumerate() {
        let yy = y + i as f64 * 16.0;
        let _ = write!(
            s,
            r##"<line x1="{x}" y1="{yy}" x2="{}" y2="{yy}" stroke="{color}" stroke-width="2.5"{}/><text x="{}" y="{}" font-size="11" fill="#333">{}</text>"##,
            x + 22.0,
            if *dashed {
                r#" stroke-dasharray="5,3""#
            } else {
                ""
            },
            x + 28.0,
            yy + 4.0,
            esc(label)
        );
    }
    s
}

/// One ROC curve to draw: label, colour, dashed, AUC, points.
pub(super) type RocCurve = (String, String, bool, f64, Vec<[f64; 2]>);

/// ROC curves with the chance diagonal.
pub(super) fn svg_roc(curves: &[RocCurve]) -> String {
    let pl = Plot {
        w: 440.0,
        h: 420.0,
        left: 52.0,
        right: 16.0,
        top: 16.0,
        bottom: 44.0,
    };
    let mut s = pl.open("ROC curve");
    let t = ticks(5, 1.0, |v| format!("{v:.1}"));
    s.push_str(&pl.axes(
        &t,
        &t,
        "false positive rate (retained accounts flagged)",
        "true positive rate (churners flagged)",
    ));
    let _ = write!(
        s,
        r##"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#999" stroke-dasharray="4,4"/>"##,
        pl.x(0.0),
        pl.y(0.0),
        pl.x(1.0),
        pl.y(1.0)
    );
    let mut items = Vec::new();
    for (label, color, dashed, width, pts) in curves {
        if pts.is_empty() {
            continue;
        }
        let path: Vec<String> = pts
            .iter()
            .map(|p| format!("{:.1},{:.1}", pl.x(p[0]), pl.y(p[1])))
            .collect();
        let _ = write!(
            s,
            r##"<polyline points="{}" fill="none" stroke="{color}" stroke-width="{width}"{}/>"##,
            path.join(" "),
            if *dashed {
                r#" stroke-dasharray="6,3""#
            } else {
                ""
            }
        );
        items.push((label.clone(), color.clone(), *dashed));
    }
    s.push_str(&legend(
        &items,
        pl.x(0.42),
        pl.y(0.05) - 16.0 * items.len() as f64 + 8.0,
    ));
    s.push_str("</svg>");
    s
}

/// A round axis maximum ≥ `v` (a share, at most 1) and its tick count.
fn nice_max(v: f64) -> (f64, usize) {
    let steps = [
        (0.01, 5),
        (0.02, 4),
        (0.05, 5),
        (0.1, 5),
        (0.2, 4),
        (0.25, 5),
        (0.3, 6),
        (0.4, 4),
        (0.5, 5),
        (0.6, 6),
        (0.8, 4),
    ];
    steps.into_iter().find(|(s, _)| v <= *s).unwrap_or((1.0, 5))
}

/// A percentage tick label (1 decimal only when needed).
fn pct_tick(v: f64) -> String {
    let p = v * 100.0;
    if (p - p.round()).abs() > 1e-6 {
        format!("{:.1}%", v * 100.0)
    } else {
        format!("{:.0}%", v * 100.0)
    }
}

/// Churn rate per band, one bar per model.
pub(super) fn svg_bands(models: &[&ModelReport]) -> String {
    let pl = Plot {
        w: 440.0,
        h: 420.0,
        left: 52.0,
        right: 16.0,
        top: 24.0,
        bottom: 58.0,
    };
    let mut s = pl.open("Churn rate by band");
    let max = models
        .iter()
        .flat_map(|m| m.pooled.bands.iter().filter_map(|b| b.churn_rate))
        .fold(0.0, f64::max);
    let (top, nt) = nice_max(max * 1.1);
    s.push_str(&pl.axes(
        &[],
        &ticks(nt, top, pct_tick),
        "",
        "churn rate within the horizon",
    ));
    let bands: Vec<&BandRate> = models[0]
        .pooled
        .bands
        .iter()
        .filter(|b| b.accounts > 0)
        .collect();
    let n = bands.len().max(1) as f64;
    let slot = 1.0 / n;
    let k = models.len() as f64;
    for (i, b) in bands.iter().enumerate() {
        for (mi, m) in models.iter().enumerate() {
            let Some(mb) = m.pooled.bands.iter().find(|x| x.band == b.band) else {
                continue;
            };
            let rate = mb.churn_rate.unwrap_or(0.0);
            let bw = slot * 0.7 / k;
            let x0 = i as f64 * slot + slot * 0.15 + mi as f64 * bw;
            let (x, y) = (pl.x(x0), pl.y(rate / top));
            let w = pl.x(x0 + bw) - x;
            let h = pl.y(0.0) - y;
            let _ = write!(
                s,
                r##"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="{}" opacity="{}"><title>{}: {} of {} churned ({})</title></rect><text x="{:.1}" y="{:.1}" font-size="11" text-anchor="middle" fill="#222">{}</text>"##,
                css_color(&mb.color),
                if mi == 0 { "1" } else { "0.55" },
                esc(&format!("{} {}", m.model_version, mb.band)),
                mb.churned,
                mb.accounts,
                pct(mb.churn_rate),
                x + w / 2.0,
                y - 4.0,
                pct(mb.churn_rate)
            );
        }
        let cx = pl.x(i as f64 * slot + slot / 2.0);
        let _ = write!(
            s,
            r##"<text x="{cx:.1}" y="{:.1}" font-size="12" text-anchor="middle" fill="#222">{}</text><text x="{cx:.1}" y="{:.1}" font-size="10" text-anchor="middle" fill="#777">n={}</text>"##,
            pl.y(0.0) + 16.0,
            esc(&b.band),
            pl.y(0.0) + 30.0,
            b.accounts
        );
    }
    if models.len() > 1 {
        let _ = write!(
            s,
            r##"<text x="{}" y="14" font-size="11" fill="#555">left: {}, right (lighter): {}</text>"##,
            pl.left,
            esc(&models[0].model_version),
            esc(&models[1].model_version)
        );
    }
    s.push_str("</svg>");
    s
}

/// Score distribution of churners and retained accounts.
pub(super) fn svg_histogram(e: &Eval) -> String {
    let pl = Plot {
        w: 900.0,
        h: 300.0,
        left: 52.0,
        right: 16.0,
        top: 28.0,
        bottom: 44.0,
    };
    let mut s = pl.open("Score distribution by outcome");
    let max = e
        .score_histogram
        .iter()
        .map(|b| b.churned_share.max(b.retained_share))
        .fold(0.0, f64::max);
    let (top, nt) = nice_max(max * 1.1);
    let xt: Vec<(f64, String)> = (0..=10)
        .map(|i| (i as f64 / 10.0, format!("{}", i * 10)))
        .collect();
    s.push_str(&pl.axes(
        &xt,
        &ticks(nt, top, pct_tick),
        "score (bins of 5 points)",
        "share of the outcome group",
    ));
    let nb = e.score_histogram.len().max(1) as f64;
    for (i, b) in e.score_histogram.iter().enumerate() {
        let x0 = i as f64 / nb;
        let bw = 1.0 / nb * 0.42;
        for (k, (v, color, label, n)) in [
            (b.retained_share, "#5b8fd4", "retained", b.retained),
            (b.churned_share, "#d64541", "churned", b.churned),
        ]
        .into_iter()
        .enumerate()
        {
            let xs = x0 + 0.08 / nb + k as f64 * bw;
            let (x, y) = (pl.x(xs), pl.y(v / top));
            let w = pl.x(xs + bw) - x;
            let _ = write!(
                s,
                r##"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{:.1}" fill="{color}"><title>score {}-{}: {label} {:.0} ({:.1}%)</title></rect>"##,
                pl.y(0.0) - y,
                b.from,
                b.to,
                n,
                v * 100.0
            );
        }
    }
    s.push_str(&legend(
        &[
            ("retained".into(), "#5b8fd4".into(), false),
            ("churned within the horizon".into(), "#d64541".into(), false),
        ],
        pl.x(0.75),
        pl.top + 6.0,
    ));
    s.push_str("</svg>");
    s
}

/// AUC per as-of date, one line per model.
pub(super) fn svg_auc_by_date(models: &[&ModelReport]) -> String {
    let pl = Plot {
        w: 440.0,
        h: 300.0,
        left: 52.0,
        right: 24.0,
        top: 20.0,
        bottom: 44.0,
    };
    let mut s = pl.open("AUC per as-of date");
    let dates: Vec<String> = models[0].per_date.iter().map(|d| d.as_of.clone()).collect();
    let n = dates.len();
    let xpos = |i: usize| {
        if n <= 1 {
            0.5
        } else {
            0.05 + 0.9 * i as f64 / (n - 1) as f64
        }
    };
    let step = (n / 6).max(1);
    let xt: Vec<(f64, String)> = dates
        .iter()
        .enumerate()
        .filter(|(i, _)| i % step == 0 || *i == n - 1)
        .map(|(i, d)| (xpos(i), d.clone()))
        .collect();
    let yt: Vec<(f64, String)> = (0..=5)
        .map(|i| (i as f64 / 5.0, format!("{:.1}", 0.5 + i as f64 * 0.1)))
        .collect();
    s.push_str(&pl.axes(&xt, &yt, "as-of date", "ROC AUC"));
    let yv = |a: f64| ((a - 0.5) / 0.5).clamp(0.0, 1.0);
    let mut items = Vec::new();
    for (mi, m) in models.iter().enumerate() {
        let color = PALETTE[mi % PALETTE.len()];
        let pts: Vec<(f64, f64, f64)> = m
            .per_date
            .iter()
            .enumerate()
            .filter_map(|(i, d)| d.all.auc.map(|a| (pl.x(xpos(i)), pl.y(yv(a)), a)))
            .collect();
        let path: Vec<String> = pts
            .iter()
            .map(|(x, y, _)| format!("{x:.1},{y:.1}"))
            .collect();
        let _ = write!(
            s,
            r##"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2"{}/>"##,
            path.join(" "),
            if mi > 0 {
                r#" stroke-dasharray="6,3""#
            } else {
                ""
            }
        );
        for (x, y, a) in &pts {
            let _ = write!(
                s,
                r##"<circle cx="{x:.1}" cy="{y:.1}" r="3.5" fill="{color}"><title>{a:.3}</title></circle>"##
            );
        }
        items.push((m.model_version.clone(), color.to_string(), mi > 0));
    }
    s.push_str(&legend(
        &items,
        pl.x(0.05),
        pl.y(0.12) - 16.0 * (items.len() as f64 - 1.0),
    ));
    s.push_str("</svg>");
    s
}

/// Each group's and metric's AUC on its own, as bars.
pub(super) fn svg_signals(e: &Eval) -> String {
    let rows: Vec<(&SignalAuc, &str)> = e
        .groups
        .iter()
        .map(|g| (g, "group"))
        .chain(e.metrics.iter().map(|m| (m, "metric")))
        .collect();
    let row_h = 20.0;
    let pl = Plot {
        w: 900.0,
        h: 60.0 + row_h * rows.len() as f64,
        left: 230.0,
        right: 60.0,
        top: 12.0,
        bottom: 44.0,
    };
    let mut s = pl.open("AUC of each signal on its own");
    let xt: Vec<(f64, String)> = (0..=5)
        .map(|i| (i as f64 / 5.0, format!("{:.1}", 0.5 + i as f64 * 0.1)))
        .collect();
    s.push_str(&pl.axes(
        &xt,
        &[],
        "ROC AUC on its own (0.5 = no better than chance)",
        "",
    ));
    for (i, (sig, kind)) in rows.iter().enumerate() {
        let y = pl.top + i as f64 * row_h + 3.0;
        let a = sig.auc.unwrap_or(0.5);
        let w = pl.x(((a - 0.5) / 0.5).clamp(0.0, 1.0)) - pl.left;
        let color = if *kind == "group" {
            "#1f4e79"
        } else {
            "#7aa6d6"
        };
        let _ = write!(
            s,
            r##"<text x="{}" y="{:.1}" font-size="11" text-anchor="end" fill="#222">{}{}</text><rect x="{}" y="{y:.1}" width="{w:.1}" height="{:.1}" fill="{color}"><title>{} (n={})</title></rect><text x="{:.1}" y="{:.1}" font-size="11" fill="#222">{}</text>"##,
            pl.left - 6.0,
            y + row_h * 0.6,
            if *kind == "group" { "group " } else { "" },
            esc(&sig.name),
            pl.left,
            row_h - 6.0,
            f3(sig.auc),
            sig.accounts,
            pl.left + w + 4.0,
            y + row_h * 0.6,
            f3(sig.auc)
        );
    }
    s.push_str("</svg>");
    s
}

/// A scorecard's current and suggested weights, as bars.
pub(super) fn svg_weights(w: &WeightSuggestion) -> String {
    let row_h = 26.0;
    let pl = Plot {
        w: 440.0,
        h: 88.0 + row_h * w.groups.len() as f64,
        left: 100.0,
        right: 40.0,
        top: 44.0,
        bottom: 44.0,
    };
    let mut s = pl.open(&format!("Weights of scorecard {}", w.scorecard));
    let max = w
        .groups
        .iter()
        .map(|g| g.current_share.max(g.suggested.unwrap_or(0) as f64))
        .fold(0.0, f64::max)
        / 100.0;
    let (top, nt) = nice_max(max * 1.05);
    s.push_str(&pl.axes(&ticks(nt, top, pct_tick), &[], "share of the score", ""));
    for (i, g) in w.groups.iter().enumerate() {
        let y = pl.top + i as f64 * row_h + 2.0;
        let _ = write!(
            s,
            r##"<text x="{}" y="{:.1}" font-size="11" text-anchor="end" fill="#222">{}</text>"##,
            pl.left - 6.0,
            y + row_h * 0.5,
            esc(&g.group)
        );
        for (k, (v, color)) in [
            (g.current_share, "#b0b0b0"),
            (g.suggested.unwrap_or(0) as f64, "#1f4e79"),
        ]
        .into_iter()
        .enumerate()
        {
            let yy = y + k as f64 * (row_h - 6.0) / 2.0;
            let wd = pl.x((v / 100.0 / top).min(1.0)) - pl.left;
            let _ = write!(
                s,
                r##"<rect x="{}" y="{yy:.1}" width="{wd:.1}" height="{:.1}" fill="{color}"/><text x="{:.1}" y="{:.1}" font-size="9" fill="#444">{v:.0}</text>"##,
                pl.left,
                (row_h - 6.0) / 2.0 - 1.0,
                pl.left + wd + 3.0,
                yy + (row_h - 6.0) / 2.0 - 3.0
            );
        }
    }
    s.push_str(&legend(
        &[
            ("current".into(), "#b0b0b0".into(), false),
            ("suggested".into(), "#1f4e79".into(), false),
        ],
        pl.x(0.6),
        12.0,
    ));
    s.push_str("</svg>");
    s
}
