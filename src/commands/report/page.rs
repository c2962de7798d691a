//! The report page: the shared page shell of [`crate::render`] with a
//! Content-Security-Policy that forbids every fetch, section by section.
//! Every string from the data is escaped.

use std::fmt::Write as _;

use super::{
    BandFigures, BandStyle, ChangeRow, Changes, OverrideRow, Overrides, ReportData, OVERRIDE_ROWS,
    ROWS_PER_KIND,
};
use crate::render::svg::{compact, hbars, stacked_shares, Bar, Series};
use crate::render::{esc, page_open, CSP_NO_FETCH, PAGE_CLOSE};

/// What the page adds to the shared style.
const CSS: &str = "td.l,th.l{text-align:left} .sw{display:inline-block;width:10px;height:10px;margin-right:5px;border-radius:2px;vertical-align:baseline}
.muted{color:#777;font-size:12px} .kpi.alert b{color:#c62828}
";

/// The whole page.
pub(super) fn render(d: &ReportData) -> String {
    let mut s = page_open(
        &format!("healthscore report — {}", d.date),
        CSP_NO_FETCH,
        CSS,
    );
    head(&mut s, d);
    band_mix(&mut s, d);
    mrr(&mut s, d);
    changes(&mut s, d);
    causes(&mut s, d);
    overrides(&mut s, d);
    let _ = write!(
        s,
        r#"<p class="sub">Read from the committed snapshots under <code>{}</code> (a date counts when <code>scores/snapshot_date=D/_SUCCESS</code> exists): the summary, changes and scores tables of each date. Nothing on this page is fetched from the network.</p>"#,
        esc(&d.output)
    );
    s.push_str(PAGE_CLOSE);
    s
}

/// The style of a band (grey when unknown).
fn style<'a>(d: &'a ReportData, band: &str) -> Option<&'a BandStyle> {
    d.bands.iter().find(|b| b.name == band)
}

/// A band name with its colour swatch.
fn band_cell(d: &ReportData, band: Option<&str>) -> String {
    let Some(band) = band else {
        return "—".into();
    };
    match style(d, band) {
        Some(b) => format!(
            r#"<span class="sw" style="background:{};opacity:{}"></span>{}"#,
            b.color,
            b.opacity,
            esc(band)
        ),
        None => esc(band),
    }
}

/// A whole amount with thousands separators (`13,448,774`).
fn thousands(v: f64) -> String {
    let digits = format!("{:.0}", v.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if v < 0.0 && digits != "0" {
        out.insert(0, '-');
    }
    out
}

fn opt_int(v: Option<i64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_else(|| "—".into())
}

/// Title, what the page was read from, and the main figures as tiles.
fn head(s: &mut String, d: &ReportData) {
    let _ = write!(
        s,
        r#"<h1>Customer health on {}</h1>
<div class="sub">{} · {} committed date{} shown ({}) · {} · written by healthscore {}</div>
"#,
        d.date,
        esc(&d.model_version),
        d.history.len(),
        if d.history.len() == 1 { "" } else { "s" },
        match (d.history.first(), d.history.last()) {
            (Some(a), Some(b)) if a.date != b.date => format!("{} to {}", a.date, b.date),
            _ => d.date.to_string(),
        },
        match &d.previous {
            Some(p) => format!("changes against {}", esc(p)),
            None => "no previous snapshot to compare with".into(),
        },
        esc(&d.tool_version)
    );
    s.push_str(r#"<div class="kpis">"#);
    let total_mrr: f64 = d.mix.iter().map(|b| b.mrr).sum();
    let _ = write!(
        s,
        r#"<div class="kpi"><b>{}</b><span>accounts scored</span></div><div class="kpi"><b>{}</b><span>MRR of those accounts</span></div>"#,
        d.accounts,
        compact(total_mrr)
    );
    if let Some(low) = d.mix.first() {
        let _ = write!(
            s,
            r#"<div class="kpi alert"><b>{:.1}%</b><span>{} accounts in {} ({} MRR)</span></div>"#,
            low.share * 100.0,
            low.accounts,
            esc(&low.band),
            compact(low.mrr)
        );
    }
    if let Some(c) = &d.changes {
        for (kind, label) in [
            ("band_down", "moved to a lower band"),
            ("band_up", "moved to a higher band"),
        ] {
            let n = c.counts.iter().find(|(k, _)| k == kind).map_or(0, |x| x.1);
            let _ = write!(
                s,
                r#"<div class="kpi{}"><b>{n}</b><span>{label}</span></div>"#,
                if kind == "band_down" { " alert" } else { "" }
            );
        }
    }
    s.push_str("</div>\n");
}

/// The date's band mix (table) and its history (stacked columns + table).
fn band_mix(s: &mut String, d: &ReportData) {
    let _ = write!(
        s,
        r#"<h2>Band mix on {}</h2><table><tr><th class="l">band</th><th>accounts</th><th>share</th><th>mean score</th><th>MRR</th><th>share of MRR</th></tr>"#,
        d.date
    );
    let total_mrr: f64 = d.mix.iter().map(|b| b.mrr).sum();
    for b in &d.mix {
        mix_row(s, d, b, total_mrr);
    }
    let _ = write!(
        s,
        "<tr><th class=\"l\">all</th><th>{}</th><th>100.0%</th><th></th><th>{}</th><th>{}</th></tr></table>",
        d.accounts,
        thousands(total_mrr),
        if total_mrr > 0.0 { "100.0%" } else { "" }
    );
    if let Some(h) = d.bands_held.filter(|h| *h > 0) {
        let _ = write!(
            s,
            r#"<p class="sub">{h} accounts kept their previous band through the band hysteresis.</p>"#
        );
    }
    let shown: Vec<&BandStyle> = d
        .bands
        .iter()
        .filter(|b| {
            d.history
                .iter()
                .any(|h| h.by_band.get(&b.name).is_some_and(|n| *n > 0))
        })
        .collect();
    let series: Vec<Series> = shown
        .iter()
        .map(|b| Series {
            label: b.name.clone(),
            color: b.color.clone(),
            opacity: b.opacity,
        })
        .collect();
    let dates: Vec<String> = d.history.iter().map(|h| h.date.to_string()).collect();
    let values: Vec<Vec<f64>> = d
        .history
        .iter()
        .map(|h| {
            shown
                .iter()
                .map(|b| h.by_band.get(&b.name).copied().unwrap_or(0) as f64)
                .collect()
        })
        .collect();
    let _ = write!(
        s,
        r#"<h3>How the mix moved</h3><figure>{}<figcaption>Share of accounts per band on each of the last {} committed dates (lowest band at the bottom; the count of accounts in each segment, the total above each column).</figcaption></figure>"#,
        stacked_shares(
            "Band mix per committed date",
            &dates,
            &series,
            &values,
            "snapshot date"
        ),
        d.history.len()
    );
    s.push_str(r#"<table><tr><th class="l">date</th>"#);
    for b in &shown {
        let _ = write!(s, "<th>{}</th>", band_cell(d, Some(&b.name)));
    }
    s.push_str("<th>all</th></tr>");
    for h in &d.history {
        let _ = write!(s, "<tr><td>{}</td>", h.date);
        for b in &shown {
            let _ = write!(
                s,
                "<td>{}</td>",
                h.by_band.get(&b.name).copied().unwrap_or(0)
            );
        }
        let _ = write!(s, "<td>{}</td></tr>", h.by_band.values().sum::<i64>());
    }
    s.push_str("</table>\n");
}

fn mix_row(s: &mut String, d: &ReportData, b: &BandFigures, total_mrr: f64) {
    let _ = write!(
        s,
        "<tr><td>{}</td><td>{}</td><td>{:.1}%</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        band_cell(d, Some(&b.band)),
        b.accounts,
        b.share * 100.0,
        b.mean_score
            .map(|m| format!("{m:.1}"))
            .unwrap_or_else(|| "—".into()),
        thousands(b.mrr),
        if total_mrr > 0.0 {
            format!("{:.1}%", b.mrr / total_mrr * 100.0)
        } else {
            "—".into()
        }
    );
}

/// MRR per band as bars.
fn mrr(s: &mut String, d: &ReportData) {
    let total: f64 = d.mix.iter().map(|b| b.mrr).sum();
    let bars: Vec<Bar> = d
        .mix
        .iter()
        .map(|b| Bar {
            label: b.band.clone(),
            value: b.mrr,
            series: style(d, &b.band)
                .map(|st| Series {
                    label: st.name.clone(),
                    color: st.color.clone(),
                    opacity: st.opacity,
                })
                .unwrap_or_else(|| Series {
                    label: b.band.clone(),
                    color: "#888".into(),
                    opacity: 1.0,
                }),
            text: if total > 0.0 {
                format!("{} ({:.1}%)", compact(b.mrr), b.mrr / total * 100.0)
            } else {
                compact(b.mrr)
            },
        })
        .collect();
    let _ = writeln!(
        s,
        r#"<h2>MRR by band</h2><figure>{}<figcaption>Latest monthly recurring revenue (mrr_latest) of the accounts in each band on {}: the revenue behind each colour.</figcaption></figure>"#,
        hbars("MRR by band", &bars, "MRR (latest month)", compact),
        d.date
    );
}

/// What a kind means, for its heading.
fn kind_label(kind: &str) -> &'static str {
    match kind {
        "band_down" => "moved to a lower band: call these first",
        "drop" => "score fell by the alert threshold or more, same band",
        "band_up" => "moved to a higher band",
        "rise" => "score rose by the alert threshold or more, same band",
        _ => "",
    }
}

/// The changes of the date, grouped by kind, each with its cause and
/// playbook (at most [`ROWS_PER_KIND`] rows a kind).
fn changes(s: &mut String, d: &ReportData) {
    let since = d
        .previous
        .as_deref()
        .map(|p| format!(" since {}", esc(p)))
        .unwrap_or_default();
    let _ = write!(s, "<h2>Changes{since}: the accounts to call first</h2>");
    let Some(c) = &d.changes else {
        s.push_str(r#"<p class="note">This snapshot has no changes table (it was written before healthscore wrote one).</p>"#);
        return;
    };
    s.push_str(
        r#"<table><tr><th class="l">kind</th><th>accounts</th><th class="l">meaning</th></tr>"#,
    );
    for (k, n) in &c.counts {
        let _ = write!(
            s,
            r#"<tr><td>{}</td><td>{n}</td><td class="l">{}</td></tr>"#,
            esc(k),
            kind_label(k)
        );
    }
    s.push_str("</table>");
    if c.rows.is_empty() {
        let _ = write!(
            s,
            r#"<p class="sub">No change on {}{}.</p>"#,
            d.date,
            if d.previous.is_none() {
                ": there is no previous snapshot of the same model to compare with"
            } else {
                ""
            }
        );
    }
    for (kind, n) in &c.counts {
        if *n == 0 {
            continue;
        }
        kind_table(s, d, c, kind, *n);
    }
}

fn kind_table(s: &mut String, d: &ReportData, c: &Changes, kind: &str, n: i64) {
    let _ = write!(
        s,
        r#"<h3 id="{}">{} · {n} account{} — {}</h3><table><tr><th class="l">customer</th><th class="l">band move</th><th>score change</th><th class="l">cause</th><th>cause_delta</th><th class="l">playbook</th></tr>"#,
        esc(kind),
        esc(kind),
        if n == 1 { "" } else { "s" },
        kind_label(kind)
    );
    let rows: Vec<&ChangeRow> = c.rows.iter().filter(|r| r.kind == kind).collect();
    for r in rows.iter().take(ROWS_PER_KIND) {
        let _ = write!(
            s,
            r#"<tr><td>{} <span class="muted">{}</span></td><td class="l">{} → {}</td><td>{} → {} ({})</td><td class="l">{}</td><td>{}</td><td class="l">{}</td></tr>"#,
            esc(r.customer_name.as_deref().unwrap_or("")),
            esc(&r.customer_id),
            band_cell(d, r.prev_band.as_deref()),
            band_cell(d, r.band.as_deref()),
            opt_int(r.prev_score),
            opt_int(r.score),
            r.score_change
                .map(|v| format!("{v:+}"))
                .unwrap_or_else(|| "—".into()),
            esc(r.cause.as_deref().unwrap_or("—")),
            r.cause_delta
                .map(|v| format!("{v:+.2}"))
                .unwrap_or_else(|| "—".into()),
            esc(r.playbook.as_deref().unwrap_or("—"))
        );
    }
    s.push_str("</table>");
    if rows.len() > ROWS_PER_KIND {
        let _ = write!(
            s,
            r#"<p class="sub">… and {} more {} rows in <code>changes/snapshot_date={}/</code>.</p>"#,
            rows.len() - ROWS_PER_KIND,
            esc(kind),
            d.date
        );
    }
    s.push('\n');
}

/// The causes that moved most accounts.
fn causes(s: &mut String, d: &ReportData) {
    let Some(c) = &d.changes else {
        return;
    };
    s.push_str("<h2>What moved them: causes</h2>");
    if c.causes.is_empty() {
        s.push_str(r#"<p class="sub">No change, so no cause.</p>"#);
        return;
    }
    let top: Vec<Bar> = c
        .causes
        .iter()
        .take(12)
        .map(|k| Bar {
            label: k.cause.clone().unwrap_or_else(|| "(no cause)".into()),
            value: k.total() as f64,
            series: Series {
                label: String::new(),
                color: "#1f4e79".into(),
                opacity: 1.0,
            },
            text: format!("{} ({} down, {} up)", k.total(), k.down, k.up),
        })
        .collect();
    let _ = write!(
        s,
        r#"<figure>{}<figcaption>Change rows per cause: the metric whose contribution to the score moved most in the direction of the change.</figcaption></figure><table><tr><th class="l">cause</th><th class="l">group</th><th>accounts</th><th>down (band_down, drop)</th><th>up (band_up, rise)</th></tr>"#,
        hbars("Causes of the changes", &top, "accounts", |v| format!(
            "{v:.0}"
        ))
    );
    for k in &c.causes {
        let _ = write!(
            s,
            r#"<tr><td>{}</td><td class="l">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            esc(k.cause.as_deref().unwrap_or("(no cause)")),
            esc(k.group.as_deref().unwrap_or("—")),
            k.total(),
            k.down,
            k.up
        );
    }
    s.push_str("</table>\n");
}

/// The overrides in force on the date, soonest expiry first.
fn overrides(s: &mut String, d: &ReportData) {
    s.push_str("<h2>Overrides in force</h2>");
    match &d.overrides {
        Overrides::NotDeclared => {
            s.push_str(r#"<p class="sub">No overrides declared: the pipeline of this snapshot reads no overrides table, so every band is the model's.</p>"#);
        }
        Overrides::InForce { total: 0, .. } => {
            let _ = write!(
                s,
                r#"<p class="sub">No override in force on {}: every band is the model's.</p>"#,
                d.date
            );
        }
        Overrides::InForce { total, rows } => {
            let _ = write!(
                s,
                r#"<p class="sub">{total} account{} with an override in force on {} (the band shown is the override's; score and playbook stay the model's). Soonest expiry first.</p><table><tr><th class="l">customer</th><th class="l">band</th><th class="l">model band</th><th class="l">reason</th><th class="l">set by</th><th>expires on</th></tr>"#,
                if *total == 1 { "" } else { "s" },
                d.date
            );
            for r in rows {
                override_row(s, d, r);
            }
            s.push_str("</table>");
            if *total > rows.len() {
                let _ = write!(
                    s,
                    r#"<p class="sub">… and {} more (at most {OVERRIDE_ROWS} listed).</p>"#,
                    total - rows.len()
                );
            }
        }
    }
    s.push('\n');
}

fn override_row(s: &mut String, d: &ReportData, r: &OverrideRow) {
    let _ = write!(
        s,
        r#"<tr><td>{} <span class="muted">{}</span></td><td class="l">{}</td><td class="l">{}</td><td class="l">{}</td><td class="l">{}</td><td>{}</td></tr>"#,
        esc(r.customer_name.as_deref().unwrap_or("")),
        esc(&r.customer_id),
        band_cell(d, r.band.as_deref()),
        band_cell(d, r.band_model.as_deref()),
        esc(r.reason.as_deref().unwrap_or("—")),
        esc(r.set_by.as_deref().unwrap_or("—")),
        esc(r.expires_on.as_deref().unwrap_or("—"))
    );
}

#[cfg(test)]
mod tests {
    #[test]
    fn thousands_separators() {
        assert_eq!(super::thousands(13_448_774.4), "13,448,774");
        assert_eq!(super::thousands(960.0), "960");
        assert_eq!(super::thousands(-1234.0), "-1,234");
        assert_eq!(super::thousands(0.0), "0");
    }
}
