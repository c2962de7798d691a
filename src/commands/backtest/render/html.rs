//! report.html: the report as one self-contained page (inline CSS and SVG
//! plots), section by section, in the shared page shell of
//! [`crate::render`].

use std::fmt::Write as _;

use super::svg::{
    svg_auc_by_date, svg_bands, svg_histogram, svg_roc, svg_signals, svg_weights, RocCurve, PALETTE,
};
use super::{band_line, days, esc, f3, fmt_diff, fmt_fig, fmt_weight, pct};
use crate::commands::backtest::measures::Eval;
use crate::commands::backtest::model::Comparison;
use crate::commands::backtest::model::{ModelReport, Report};
use crate::render::{page_open, PAGE_CLOSE};

/// The whole report as HTML (report.html).
pub(crate) fn html(r: &Report) -> String {
    let mut s = String::new();
    head(&mut s, r);
    kpis(&mut s, r);
    for n in &r.notes {
        let _ = writeln!(s, r#"<div class="note">{}</div>"#, esc(n));
    }
    plots(&mut s, r);
    signals(&mut s, &r.models[0].pooled);
    for m in &r.models {
        let _ = write!(s, "<h2>{}: figures</h2>", esc(&m.model_version));
        per_scorecard(&mut s, m);
        per_date(&mut s, m);
        weights(&mut s, m);
        let _ = write!(s, "<pre>{}</pre>", esc(&m.toml));
    }
    if let Some(c) = &r.compare {
        compare(&mut s, c);
    }
    s.push_str("<p class=\"sub\">Every figure is in report.json next to this page.</p>");
    s.push_str(PAGE_CLOSE);
    s
}

/// The page's head and style, the title and what was measured on which data.
fn head(s: &mut String, r: &Report) {
    let m0 = &r.models[0];
    s.push_str(&page_open(
        &format!("healthscore backtest — {}", m0.model_version),
        "",
        "",
    ));
    let _ = write!(
        s,
        r#"<h1>Does the health score foresee churn?</h1>
<div class="sub">{} · {} · {} as-of dates {}..{} every {} days · churn within {} days after each date · labels <code>{}</code> · {}</div>
"#,
        esc(&m0.model_version),
        esc(&r.input),
        r.dates.len(),
        esc(r.dates.first().map(String::as_str).unwrap_or("")),
        esc(r.dates.last().map(String::as_str).unwrap_or("")),
        r.every_days,
        r.horizon_days,
        esc(&r.labels.location),
        esc(&r.tool)
    );
}

/// The first model's main figures as tiles.
fn kpis(s: &mut String, r: &Report) {
    let m0 = &r.models[0];
    let e = &m0.pooled;
    let _ = writeln!(
        s,
        r#"<div class="kpis"><div class="kpi"><b>{}</b><span>ROC AUC (0.5 = chance, 1 = perfect)</span></div><div class="kpi"><b>{}</b><span>churned within {} days ({} of {} account-dates)</span></div><div class="kpi"><b>{}</b><span>of churners in the lowest-scored 10% (lift {})</span></div><div class="kpi"><b>{}</b><span>median warning before churn ({} of churners flagged {})</span></div></div>"#,
        f3(e.auc),
        pct(e.churn_rate),
        r.horizon_days,
        e.churned,
        e.accounts,
        pct(e.lowest_decile.as_ref().map(|d| d.capture)),
        e.lowest_decile
            .as_ref()
            .map(|d| format!("{:.2}", d.lift))
            .unwrap_or_else(|| "n/a".into()),
        days(e.lead_time.median_days),
        pct(e.lead_time.flagged_share),
        esc(&m0.alert_bands.join("/"))
    );
}

/// ROC curves: overall per model, then per scorecard of the first.
fn roc_curves(r: &Report) -> Vec<RocCurve> {
    let m0 = &r.models[0];
    let mut curves = Vec::new();
    for (mi, m) in r.models.iter().enumerate() {
        curves.push((
            format!("{} all (AUC {})", m.model_version, f3(m.pooled.auc)),
            if mi == 0 {
                "#111".to_string()
            } else {
                "#c0504d".to_string()
            },
            mi > 0,
            2.6,
            m.pooled.roc.clone(),
        ));
    }
    for (i, sc) in m0.by_scorecard.iter().enumerate() {
        curves.push((
            format!(
                "{} (AUC {}, {} churned)",
                sc.scorecard,
                f3(sc.eval.auc),
                sc.eval.churned
            ),
            PALETTE[(i + 2) % PALETTE.len()].to_string(),
            false,
            1.4,
            sc.eval.roc.clone(),
        ));
    }
    curves
}

/// How well the score ranks churners: ROC, churn per band, the score
/// histogram and AUC per date.
fn plots(s: &mut String, r: &Report) {
    let all: Vec<&ModelReport> = r.models.iter().collect();
    let e = &r.models[0].pooled;
    let curves = roc_curves(r);
    let _ = write!(
        s,
        r#"<h2>How well the score ranks churners</h2><div class="row"><figure>{}<figcaption>ROC curve, all dates pooled: flagging every account at or below a score catches this share of churners (up) for this share of false alarms (right).</figcaption></figure><figure>{}<figcaption>Churn rate per band: it should fall from the lowest band to the highest{}.</figcaption></figure></div>
<figure>{}<figcaption>Score distribution by outcome: churners (red) should sit to the left of retained accounts (blue).</figcaption></figure>
<div class="row"><figure>{}<figcaption>AUC per as-of date: a stable line means the score works on any day.</figcaption></figure></div>
"#,
        svg_roc(&curves),
        svg_bands(&all),
        match e.bands_fall {
            Some(true) => " — it does",
            Some(false) => " — it does <b class=\"bad\">not</b>",
            None => "",
        },
        svg_histogram(e),
        svg_auc_by_date(&all)
    );
}

/// Which signals carry the prediction: each signal's AUC on its own.
fn signals(s: &mut String, e: &Eval) {
    let _ = writeln!(
        s,
        r#"<h2>Which signals carry the prediction</h2><figure>{}<figcaption>Each group's and metric's points on their own, all accounts and dates (groups in dark blue; a group's points are recomputed from its metrics even where a scorecard gives it no weight).</figcaption></figure>"#,
        svg_signals(e)
    );
}

/// One row per scorecard and one for all, all dates.
fn per_scorecard(s: &mut String, m: &ModelReport) {
    s.push_str("<h3>Per scorecard, all dates</h3><table><tr><th>scorecard</th><th>account-dates</th><th>churned</th><th>AUC</th><th>decile capture</th><th>decile lift</th><th>median lead time</th><th>churn per band (lowest band first)</th></tr>");
    for sc in m
        .by_scorecard
        .iter()
        .map(|x| (x.scorecard.as_str(), &x.eval))
        .chain(std::iter::once(("all", &m.pooled)))
    {
        let (name, e) = sc;
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{} ({})</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td style=\"text-align:left\">{}</td></tr>",
            esc(name),
            e.accounts,
            e.churned,
            pct(e.churn_rate),
            f3(e.auc),
            pct(e.lowest_decile.as_ref().map(|x| x.capture)),
            e.lowest_decile.as_ref().map(|x| format!("{:.2}", x.lift)).unwrap_or_else(|| "n/a".into()),
            days(e.lead_time.median_days),
            esc(&band_line(e))
        );
    }
    s.push_str("</table>");
}

/// One row per as-of date.
fn per_date(s: &mut String, m: &ModelReport) {
    s.push_str("<h3>Per date</h3><table><tr><th>as of</th><th>account-dates</th><th>already churned (left out)</th><th>churned</th><th>AUC</th><th>decile capture</th><th>decile lift</th><th>median days to churn (flagged)</th></tr>");
    for d in &m.per_date {
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{} ({})</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&d.as_of),
            d.all.accounts,
            d.already_churned,
            d.all.churned,
            pct(d.all.churn_rate),
            f3(d.all.auc),
            pct(d.all.lowest_decile.as_ref().map(|x| x.capture)),
            d.all.lowest_decile.as_ref().map(|x| format!("{:.2}", x.lift)).unwrap_or_else(|| "n/a".into()),
            days(d.all.lead_time.median_days)
        );
    }
    s.push_str("</table>");
}

/// The suggested weights of each scorecard, with a plot each.
fn weights(s: &mut String, m: &ModelReport) {
    s.push_str("<h3>Suggested group weights (suggestions only, never applied)</h3>");
    for w in &m.weights {
        let _ = write!(
            s,
            "<p><b>{}</b> — {} account-dates, {} churned. ",
            esc(&w.scorecard),
            w.accounts,
            w.churned
        );
        if w.fit.is_none() {
            let _ = write!(
                s,
                "{}.</p>",
                esc(w.note.as_deref().unwrap_or("no suggestion"))
            );
            continue;
        }
        let _ = write!(
            s,
            "AUC on all dates: suggested {} vs current {}.{}{}</p>",
            f3(w.suggested_auc),
            f3(w.current_auc),
            match &w.out_of_time {
                Some(v) => format!(
                    " Out of time (fitted on {}, evaluated on {}): <b>suggested {}</b> vs current {}.",
                    esc(&v.fit_dates.join(", ")),
                    esc(&v.eval_dates.join(", ")),
                    f3(v.suggested_auc),
                    f3(v.current_auc)
                ),
                None => String::new(),
            },
            w.note
                .as_ref()
                .map(|n| format!(" <b class=\"bad\">Not suggested</b>: {}.", esc(n)))
                .unwrap_or_default()
        );
        s.push_str("<div class=\"row\"><table><tr><th>group</th><th>current</th><th>current share</th><th>suggested</th></tr>");
        for g in &w.groups {
            let _ = write!(
                s,
                "<tr><td>{}</td><td>{}</td><td>{:.0}%</td><td>{}</td></tr>",
                esc(&g.group),
                esc(&fmt_weight(g.current)),
                g.current_share,
                g.suggested
                    .map(|v| v.to_string())
                    .unwrap_or_else(|| "n/a".into())
            );
        }
        let _ = write!(s, "</table><figure>{}</figure></div>", svg_weights(w));
    }
}

/// `--compare`: the figures of both pipelines side by side.
fn compare(s: &mut String, c: &Comparison) {
    let _ = write!(
        s,
        "<h2>Compare {} → {}</h2><table><tr><th>figure</th><th>{}</th><th>{}</th><th>difference</th></tr>",
        esc(&c.baseline),
        esc(&c.candidate),
        esc(&c.baseline),
        esc(&c.candidate)
    );
    for f in &c.figures {
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&f.figure),
            fmt_fig(&f.figure, f.baseline),
            fmt_fig(&f.figure, f.candidate),
            fmt_diff(&f.figure, f.difference)
        );
    }
    s.push_str("</table>");
}
