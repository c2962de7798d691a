//! Inline SVG chart primitives shared by the HTML pages: a plot area with
//! its axes, ticks and legends, the colours of bands, and two generic
//! charts (stacked columns, horizontal bars). Every label is escaped.

use std::fmt::Write as _;

use super::esc;

/// A CSS colour for a band colour name (only safe characters pass through).
pub fn css_color(c: &str) -> String {
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
pub const PALETTE: [&str; 8] = [
    "#1f4e79", "#c0504d", "#4f9a3a", "#8064a2", "#f39c12", "#2aa198", "#7f6000", "#d33682",
];

/// A plot area: the SVG size and the margins around the axes.
pub struct Plot {
    /// Width.
    pub w: f64,
    /// Height.
    pub h: f64,
    /// Margin left of the y axis.
    pub left: f64,
    /// Margin right of the plot.
    pub right: f64,
    /// Margin above the plot.
    pub top: f64,
    /// Margin below the x axis.
    pub bottom: f64,
}

impl Plot {
    /// The x pixel of `v` in 0..1.
    pub fn x(&self, v: f64) -> f64 {
        self.left + v * (self.w - self.left - self.right)
    }
    /// The y pixel of `v` in 0..1.
    pub fn y(&self, v: f64) -> f64 {
        self.h - self.bottom - v * (self.h - self.top - self.bottom)
    }
    /// The opening `<svg>` tag with its escaped title and a white background.
    pub fn open(&self, title: &str) -> String {
        format!(
            r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="{t}"><title>{t}</title><rect x="0" y="0" width="{w}" height="{h}" fill="#fff"/>"##,
            w = self.w,
            h = self.h,
            t = esc(title)
        )
    }
    /// Axes with ticks 0..1 on both (labels formatted by `fx`/`fy`).
    pub fn axes(&self, xt: &[(f64, String)], yt: &[(f64, String)], xl: &str, yl: &str) -> String {
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
pub fn ticks(n: usize, max: f64, fmt: impl Fn(f64) -> String) -> Vec<(f64, String)> {
    (0..=n)
        .map(|i| {
            let f = i as f64 / n as f64;
            (f, fmt(f * max))
        })
        .collect()
}

/// A legend of line samples (label, colour, dashed) from (`x`, `y`) down.
pub fn legend(items: &[(String, String, bool)], x: f64, y: f64) -> String {
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

/// A round axis maximum ≥ `v` (a share, at most 1) and its tick count.
pub fn nice_max(v: f64) -> (f64, usize) {
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
pub fn pct_tick(v: f64) -> String {
    let p = v * 100.0;
    if (p - p.round()).abs() > 1e-6 {
        format!("{:.1}%", v * 100.0)
    } else {
        format!("{:.0}%", v * 100.0)
    }
}

/// A round axis maximum ≥ `v` for any positive quantity (1, 2, 2.5 or 5
/// times a power of ten) and its tick count.
pub fn nice_ceiling(v: f64) -> (f64, usize) {
    if !v.is_finite() || v <= 0.0 {
        return (1.0, 5);
    }
    let e = 10f64.powf(v.log10().floor());
    [(1.0, 5), (2.0, 4), (2.5, 5), (5.0, 5), (10.0, 5)]
        .into_iter()
        .map(|(m, n)| (m * e, n))
        .find(|(m, _)| v <= *m * (1.0 + 1e-12))
        .unwrap_or((10.0 * e, 5))
}

/// A number in few characters: `950`, `12.5k`, `3.4M`, `1.2B`.
pub fn compact(v: f64) -> String {
    let a = v.abs();
    let (d, unit) = if a >= 1e9 {
        (1e9, "B")
    } else if a >= 1e6 {
        (1e6, "M")
    } else if a >= 1e3 {
        (1e3, "k")
    } else {
        (1.0, "")
    };
    let x = v / d;
    let s = if unit.is_empty() || (x - x.round()).abs() < 0.05 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    };
    format!("{s}{unit}")
}

/// One series of a chart: its label, fill colour and opacity (a lighter
/// shade tells apart series that share a colour).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Shown in the legend and the tooltips.
    pub label: String,
    /// A CSS colour (pass names through [`css_color`]).
    pub color: String,
    /// Fill opacity, 0-1.
    pub opacity: f64,
}

/// A row of square colour swatches with their labels, from (`x`, `y`).
pub fn swatch_legend(items: &[Series], x: f64, y: f64) -> String {
    let mut s = String::new();
    let mut xx = x;
    for it in items {
        let _ = write!(
            s,
            r##"<rect x="{xx:.1}" y="{:.1}" width="12" height="12" fill="{}" fill-opacity="{}" stroke="#fff"/><text x="{:.1}" y="{y:.1}" font-size="11" fill="#333">{}</text>"##,
            y - 10.0,
            it.color,
            it.opacity,
            xx + 16.0,
            esc(&it.label)
        );
        xx += 16.0 + 6.5 * it.label.chars().count() as f64 + 18.0;
    }
    s
}

/// Columns stacked to 100%: one column per category (left to right), one
/// segment per series (bottom to top), `values[category][series]` counts.
/// Each segment shows its count when tall enough and its share in a
/// tooltip; the total is written above the column.
pub fn stacked_shares(
    title: &str,
    categories: &[String],
    series: &[Series],
    values: &[Vec<f64>],
    x_label: &str,
) -> String {
    let pl = Plot {
        w: 900.0,
        h: 340.0,
        left: 52.0,
        right: 16.0,
        top: 44.0,
        bottom: 44.0,
    };
    let mut s = pl.open(title);
    let n = categories.len().max(1) as f64;
    let slot = 1.0 / n;
    let xt: Vec<(f64, String)> = categories
        .iter()
        .enumerate()
        .map(|(i, c)| (i as f64 * slot + slot / 2.0, c.clone()))
        .collect();
    s.push_str(&pl.axes(&xt, &ticks(5, 1.0, pct_tick), x_label, "share of accounts"));
    s.push_str(&swatch_legend(series, pl.left, 18.0));
    for (i, (cat, row)) in categories.iter().zip(values).enumerate() {
        let total: f64 = row.iter().sum();
        let x0 = i as f64 * slot + slot * 0.2;
        let x = pl.x(x0);
        let w = pl.x(x0 + slot * 0.6) - x;
        let mut acc = 0.0;
        for (se, v) in series.iter().zip(row) {
            if *v <= 0.0 || total <= 0.0 {
                continue;
            }
            let (lo, hi) = (acc / total, (acc + v) / total);
            acc += v;
            let (y, h) = (pl.y(hi), pl.y(lo) - pl.y(hi));
            let _ = write!(
                s,
                r##"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="{}" fill-opacity="{}" stroke="#fff" stroke-width="0.5"><title>{}: {} {:.0} of {:.0} ({:.1}%)</title></rect>"##,
                se.color,
                se.opacity,
                esc(cat),
                esc(&se.label),
                v,
                total,
                v / total * 100.0
            );
            if h >= 14.0 {
                let _ = write!(
                    s,
                    r##"<text x="{:.1}" y="{:.1}" font-size="10" text-anchor="middle" fill="#111">{v:.0}</text>"##,
                    x + w / 2.0,
                    y + h / 2.0 + 3.5
                );
            }
        }
        let _ = write!(
            s,
            r##"<text x="{:.1}" y="{:.1}" font-size="10" text-anchor="middle" fill="#555">{total:.0}</text>"##,
            x + w / 2.0,
            pl.y(1.0) - 4.0
        );
    }
    s.push_str("</svg>");
    s
}

/// One horizontal bar: its label on the left, length, colour and the
/// text written after it.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// Left of the axis.
    pub label: String,
    /// Length (≥ 0), on an axis from 0 to a round maximum.
    pub value: f64,
    /// Fill.
    pub series: Series,
    /// Written after the bar.
    pub text: String,
}

/// Horizontal bars, one per row, on an axis from 0 labelled with `tick`.
pub fn hbars(title: &str, bars: &[Bar], x_label: &str, tick: impl Fn(f64) -> String) -> String {
    let row_h = 22.0;
    let pl = Plot {
        w: 900.0,
        h: 60.0 + row_h * bars.len() as f64,
        left: 220.0,
        right: 120.0,
        top: 12.0,
        bottom: 44.0,
    };
    let mut s = pl.open(title);
    let max = bars.iter().map(|b| b.value).fold(0.0, f64::max);
    let (top, nt) = nice_ceiling(max);
    s.push_str(&pl.axes(&ticks(nt, top, tick), &[], x_label, ""));
    for (i, b) in bars.iter().enumerate() {
        let y = pl.top + i as f64 * row_h + 3.0;
        let w = pl.x((b.value.max(0.0) / top).min(1.0)) - pl.left;
        let _ = write!(
            s,
            r##"<text x="{}" y="{:.1}" font-size="11" text-anchor="end" fill="#222">{}</text><rect x="{}" y="{y:.1}" width="{w:.1}" height="{:.1}" fill="{}" fill-opacity="{}"><title>{}: {}</title></rect><text x="{:.1}" y="{:.1}" font-size="11" fill="#222">{}</text>"##,
            pl.left - 6.0,
            y + row_h * 0.6,
            esc(&b.label),
            pl.left,
            row_h - 6.0,
            b.series.color,
            b.series.opacity,
            esc(&b.label),
            esc(&b.text),
            pl.left + w + 4.0,
            y + row_h * 0.6,
            esc(&b.text)
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_axis_maxima() {
        assert_eq!(nice_ceiling(0.0), (1.0, 5));
        assert_eq!(nice_ceiling(7.0), (10.0, 5));
        assert_eq!(nice_ceiling(180.0), (200.0, 4));
        assert_eq!(nice_ceiling(200.0), (200.0, 4));
        assert_eq!(nice_ceiling(23_000_000.0), (25_000_000.0, 5));
        assert_eq!(nice_ceiling(0.3), (0.5, 5));
    }

    #[test]
    fn compact_numbers() {
        assert_eq!(compact(950.0), "950");
        assert_eq!(compact(12_500.0), "12.5k");
        assert_eq!(compact(3_000_000.0), "3M");
        assert_eq!(compact(1_240_000_000.0), "1.2B");
    }

    #[test]
    fn labels_are_escaped_in_charts() {
        let se = Series {
            label: "<b>".into(),
            color: "#000".into(),
            opacity: 1.0,
        };
        let svg = stacked_shares(
            "t<",
            &["<i>".into()],
            std::slice::from_ref(&se),
            &[vec![3.0]],
            "x",
        );
        assert!(!svg.contains("<b>") && !svg.contains("<i>") && svg.contains("&lt;i&gt;"));
        let bars = [Bar {
            label: "<script>".into(),
            value: 2.0,
            series: se,
            text: "2".into(),
        }];
        assert!(!hbars("t", &bars, "x", compact).contains("<script>"));
    }
}
