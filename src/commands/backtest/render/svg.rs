//! The report's inline SVG plots: the ROC curves, churn per band, the score
//! histogram, AUC per date, each signal's AUC and a scorecard's weights,
//! drawn with the shared primitives of [`crate::render::svg`].

use std::fmt::Write as _;

use super::{esc, f3, pct};
use crate::commands::backtest::measures::{BandRate, Eval, SignalAuc};
use crate::commands::backtest::model::ModelReport;
use crate::commands::backtest::weights::WeightSuggestion;
pub(super) use crate::render::svg::PALETTE;
use crate::render::svg::{css_color, legend, nice_max, pct_tick, ticks, Plot};

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
