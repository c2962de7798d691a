//! report.md: the report as Markdown, section by section.

use std::fmt::Write as _;

use super::{band_line, days, f3, fmt_diff, fmt_fig, fmt_weight, pct};
use crate::commands::backtest::measures::Eval;
use crate::commands::backtest::model::Comparison;
use crate::commands::backtest::model::{ModelReport, Report};

/// The whole report as Markdown (report.md).
pub(crate) fn markdown(r: &Report) -> String {
    let mut s = String::new();
    intro(&mut s, r);
    for m in &r.models {
        figures(&mut s, r, m);
        bands(&mut s, &m.pooled);
        per_date(&mut s, m);
        per_scorecard(&mut s, m);
        signals(&mut s, m);
        weights(&mut s, m);
        let _ = writeln!(s, "```toml\n{}```\n", m.toml);
    }
    if let Some(c) = &r.compare {
        compare(&mut s, c);
    }
    s
}

/// Title, what was measured on which data, and the notes.
fn intro(s: &mut String, r: &Report) {
    let _ = writeln!(s, "# Backtest: does the health score foresee churn?\n");
    let _ = writeln!(
        s,
        "Input `{}`, labels `{}` ({} churn dates of {} customers, {}..{}). {} as-of dates {}..{} every {} days; churn counts when it happens within {} days after the date. Accounts that had churned by a date are left out of it. {}.\n",
        r.input,
        r.labels.location,
        r.labels.rows - r.labels.rows_with_nulls,
        r.labels.customers,
        r.labels.earliest_churned_on.as_deref().unwrap_or("?"),
        r.labels.latest_churned_on.as_deref().unwrap_or("?"),
        r.dates.len(),
        r.dates.first().cloned().unwrap_or_default(),
        r.dates.last().cloned().unwrap_or_default(),
        r.every_days,
        r.horizon_days,
        r.tool
    );
    for n in &r.notes {
        let _ = writeln!(s, "> Note: {n}\n");
    }
}

/// The model's heading and its main figures, all dates pooled.
fn figures(s: &mut String, r: &Report, m: &ModelReport) {
    let e = &m.pooled;
    let _ = writeln!(s, "## {}\n", m.model_version);
    let _ = writeln!(
        s,
        "Pipeline `{}` (sha256 `{}`).\n",
        m.pipeline_file, m.pipeline_sha256
    );
    let _ = writeln!(s, "| figure | all dates |\n|---|---|");
    let _ = writeln!(s, "| account-dates | {} |", e.accounts);
    let _ = writeln!(
        s,
        "| churned within {}d | {} ({}) |",
        r.horizon_days,
        e.churned,
        pct(e.churn_rate)
    );
    let _ = writeln!(s, "| ROC AUC (lower score = riskier) | **{}** |", f3(e.auc));
    if let Some(d) = &e.lowest_decile {
        let _ = writeln!(
            s,
            "| lowest-scored decile: churn rate | {} |",
            pct(Some(d.churn_rate))
        );
        let _ = writeln!(
            s,
            "| lowest-scored decile: capture | {} |",
            pct(Some(d.capture))
        );
        let _ = writeln!(s, "| lowest-scored decile: lift | {:.2} |", d.lift);
    }
    let _ = writeln!(
        s,
        "| median lead time ({}) | {} |",
        m.alert_bands.join("/"),
        days(e.lead_time.median_days)
    );
    let _ = writeln!(
        s,
        "| churners flagged before churning | {} of {} ({}) |\n",
        e.lead_time.flagged,
        e.lead_time.churners,
        pct(e.lead_time.flagged_share)
    );
}

/// Churn rate per band, and whether it falls band by band.
fn bands(s: &mut String, e: &Eval) {
    let _ = writeln!(s, "### Churn rate per band\n");
    let _ = writeln!(
        s,
        "| band | account-dates | churned | churn rate |\n|---|---:|---:|---:|"
    );
    for b in &e.bands {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} |",
            b.band,
            b.accounts,
            b.churned,
            pct(b.churn_rate)
        );
    }
    let _ = writeln!(
        s,
        "\nChurn {} from the lowest band to the highest.\n",
        match e.bands_fall {
            Some(true) => "falls",
            Some(false) => "does **not** fall steadily",
            None => "cannot be compared",
        }
    );
}

/// One row per as-of date.
fn per_date(s: &mut String, m: &ModelReport) {
    let _ = writeln!(s, "### Per date\n");
    let _ = writeln!(s, "| as of | account-dates | already churned (left out) | churned | AUC | decile capture | decile lift | median days to churn (flagged) |\n|---|---:|---:|---:|---:|---:|---:|---:|");
    for d in &m.per_date {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} ({}) | {} | {} | {} | {} |",
            d.as_of,
            d.all.accounts,
            d.already_churned,
            d.all.churned,
            pct(d.all.churn_rate),
            f3(d.all.auc),
            pct(d.all.lowest_decile.as_ref().map(|x| x.capture)),
            d.all
                .lowest_decile
                .as_ref()
                .map(|x| format!("{:.2}", x.lift))
                .unwrap_or_else(|| "n/a".into()),
            days(d.all.lead_time.median_days)
        );
    }
}

/// One row per scorecard, all dates.
fn per_scorecard(s: &mut String, m: &ModelReport) {
    let _ = writeln!(s, "\n### Per scorecard (all dates)\n");
    let _ = writeln!(s, "| scorecard | account-dates | churned | AUC | decile capture | decile lift | median lead time | churn per band |\n|---|---:|---:|---:|---:|---:|---:|---|");
    for sc in &m.by_scorecard {
        let e = &sc.eval;
        let _ = writeln!(
            s,
            "| {} | {} | {} ({}) | {} | {} | {} | {} | {} |",
            sc.scorecard,
            e.accounts,
            e.churned,
            pct(e.churn_rate),
            f3(e.auc),
            pct(e.lowest_decile.as_ref().map(|x| x.capture)),
            e.lowest_decile
                .as_ref()
                .map(|x| format!("{:.2}", x.lift))
                .unwrap_or_else(|| "n/a".into()),
            days(e.lead_time.median_days),
            band_line(e)
        );
    }
}

/// Each group's and metric's AUC on its own, overall and per scorecard.
fn signals(s: &mut String, m: &ModelReport) {
    let e = &m.pooled;
    let _ = writeln!(s, "\n### Each signal on its own (AUC, all dates)\n");
    let mut header = String::from("| signal | kind | all");
    let mut rule = String::from("|---|---|---:");
    for sc in &m.by_scorecard {
        let _ = write!(header, " | {}", sc.scorecard);
        rule.push_str("|---:");
    }
    let _ = writeln!(s, "{header} |\n{rule}|");
    for (kind, list, per) in [("group", &e.groups, 0usize), ("metric", &e.metrics, 1usize)] {
        for (i, g) in list.iter().enumerate() {
            let mut line = format!("| {} | {} | {}", g.name, kind, f3(g.auc));
            for sc in &m.by_scorecard {
                let v = if per == 0 {
                    &sc.eval.groups
                } else {
                    &sc.eval.metrics
                };
                let _ = write!(line, " | {}", f3(v.get(i).and_then(|x| x.auc)));
            }
            let _ = writeln!(s, "{line} |");
        }
    }
}

/// The suggested weights of each scorecard (the TOML follows).
fn weights(s: &mut String, m: &ModelReport) {
    let _ = writeln!(s, "\n### Suggested group weights (not applied)\n");
    for w in &m.weights {
        let _ = writeln!(
            s,
            "**{}** — {} account-dates, {} churned.",
            w.scorecard, w.accounts, w.churned
        );
        if w.fit.is_none() {
            let _ = writeln!(s, "{}.\n", w.note.as_deref().unwrap_or("no suggestion"));
            continue;
        }
        let _ = writeln!(
            s,
            "AUC on all dates: suggested {} vs current {}.{}{}\n",
            f3(w.suggested_auc),
            f3(w.current_auc),
            match &w.out_of_time {
                Some(v) => format!(
                    " Out of time (fitted on {}, evaluated on {}): suggested {} vs current {}.",
                    v.fit_dates.join(", "),
                    v.eval_dates.join(", "),
                    f3(v.suggested_auc),
                    f3(v.current_auc)
                ),
                None => String::new(),
            },
            w.note
                .as_ref()
                .map(|n| format!(" **Not suggested**: {n}."))
                .unwrap_or_default()
        );
        let _ = writeln!(
            s,
            "| group | current | current share | suggested |\n|---|---:|---:|---:|"
        );
        for g in &w.groups {
            let _ = writeln!(
                s,
                "| {} | {} | {:.0}% | {} |",
                g.group,
                fmt_weight(g.current),
                g.current_share,
                g.suggested
                    .map(|v| v.to_string())
                    .unwrap_or_else(|| "n/a".into())
            );
        }
        s.push('\n');
    }
}

/// `--compare`: the figures of both pipelines side by side.
fn compare(s: &mut String, c: &Comparison) {
    let _ = writeln!(s, "## Compare {} → {}\n", c.baseline, c.candidate);
    let _ = writeln!(
        s,
        "| figure | {} | {} | difference |\n|---|---:|---:|---:|",
        c.baseline, c.candidate
    );
    for f in &c.figures {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} |",
            f.figure,
            fmt_fig(&f.figure, f.baseline),
            fmt_fig(&f.figure, f.candidate),
            fmt_diff(&f.figure, f.difference)
        );
    }
    s.push('\n');
}
