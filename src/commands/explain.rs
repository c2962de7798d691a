//! `healthscore explain`: one account's breakdown from a committed
//! snapshot, for a person — score, band, scorecard, each group and metric
//! with raw value, points and loss, drivers, playbook and trend. The weights
//! come from the pipeline text stored in the snapshot's manifest, so the
//! explanation matches the model that produced the score.

use chrono::NaiveDate;
use polars::prelude::*;

use crate::commands::Outcome;
use crate::error::{Error, Result};
use crate::output::{self as snapshot, SCORES};
use crate::pipeline::Pipeline;
use crate::score::{group_column, points_column};
use crate::storage::Store;

fn f64_of(df: &DataFrame, c: &str) -> Option<f64> {
    df.column(c).ok()?.get(0).ok()?.extract::<f64>()
}

fn str_of(df: &DataFrame, c: &str) -> Option<String> {
    df.column(c)
        .ok()?
        .get(0)
        .ok()?
        .get_str()
        .map(str::to_string)
}

/// A Date cell as YYYY-MM-DD.
fn date_str_of(df: &DataFrame, c: &str) -> Option<String> {
    let v = df.column(c).ok()?.cast(&DataType::String).ok()?;
    v.get(0).ok()?.get_str().map(str::to_string)
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.2}")).unwrap_or_else(|| "—".into())
}

/// Explains one customer's score at `date` (default: latest committed).
pub fn explain(out: &Store, customer: &str, date: Option<NaiveDate>) -> Result<Outcome> {
    let date = committed_date(out, date)?;
    let manifest = snapshot::read_manifest(out, SCORES, date)?
        .ok_or_else(|| Error::NotFound(format!("snapshot {date} is not committed")))?;
    let p = Pipeline::parse("<pipeline stored in the manifest>", &manifest.pipeline.text)?;
    let row = account_row(out, date, customer)?;
    let scorecard = str_of(&row, "scorecard");
    let mut t = header(&row, customer, date, scorecard.as_deref());
    if let Some(reason) = str_of(&row, "override_reason") {
        t.push_str(&format!(
            "override: band {} set by {} until {} — {reason} (the model gives {})\n",
            str_of(&row, "band").unwrap_or_default(),
            str_of(&row, "override_set_by").unwrap_or_default(),
            date_str_of(&row, "override_expires_on").unwrap_or_default(),
            str_of(&row, "band_model").unwrap_or_default(),
        ));
    }
    let change = change_of(out, date, customer)?;
    if let Some(c) = &change {
        t.push_str(&change_lines(c));
    }
    let groups_json = breakdown(&p, &row, scorecard.as_deref(), &mut t);
    Ok(Outcome {
        text: t.trim_end().to_string(),
        json: serde_json::json!({
            "customer_id": customer,
            "snapshot_date": date.to_string(),
            "score": f64_of(&row, "score"),
            "band": str_of(&row, "band"),
            "scorecard": scorecard,
            "top_drivers": str_of(&row, "top_drivers"),
            "playbook": str_of(&row, "playbook"),
            "trend": str_of(&row, "trend"),
            "override": str_of(&row, "override_reason").map(|reason| serde_json::json!({
                "band": str_of(&row, "band"),
                "band_model": str_of(&row, "band_model"),
                "reason": reason,
                "set_by": str_of(&row, "override_set_by"),
                "expires_on": date_str_of(&row, "override_expires_on"),
            })),
            "groups": groups_json,
            "change": change.as_ref().map(change_json),
        }),
    })
}

/// The customer's row of the date's changes table (SPEC §11), if any.
fn change_of(out: &Store, date: NaiveDate, customer: &str) -> Result<Option<DataFrame>> {
    let Some(changes) = snapshot::read_committed(out, snapshot::CHANGES, date)? else {
        return Ok(None);
    };
    let row = changes
        .lazy()
        .filter(col("customer_id").eq(lit(customer)))
        .collect()
        .map_err(|e| Error::polars("explain", e))?;
    Ok((row.height() > 0).then_some(row))
}

/// The change line of `explain`: kind, bands and scores, and the cause.
fn change_lines(c: &DataFrame) -> String {
    let cause = match str_of(c, "cause") {
        Some(m) => format!(
            "cause {m}: points {} → {}, {} score points",
            fmt_opt(f64_of(c, "cause_prev_points")),
            fmt_opt(f64_of(c, "cause_points")),
            f64_of(c, "cause_delta")
                .map(|d| format!("{d:+.2}"))
                .unwrap_or_else(|| "—".into()),
        ),
        None => "no metric moved that way".into(),
    };
    format!(
        "change: {} {} → {} ({} → {}, {}); {cause}\n\n",
        str_of(c, "kind").unwrap_or_default(),
        str_of(c, "prev_band").unwrap_or_default(),
        str_of(c, "band").unwrap_or_default(),
        int_or_dash(c, "prev_score", false),
        int_or_dash(c, "score", false),
        int_or_dash(c, "score_change", true),
    )
}

/// The change as JSON.
fn change_json(c: &DataFrame) -> serde_json::Value {
    serde_json::json!({
        "kind": str_of(c, "kind"),
        "prev_band": str_of(c, "prev_band"),
        "band": str_of(c, "band"),
        "score_change": f64_of(c, "score_change"),
        "cause": str_of(c, "cause"),
        "cause_prev_points": f64_of(c, "cause_prev_points"),
        "cause_points": f64_of(c, "cause_points"),
        "cause_delta": f64_of(c, "cause_delta"),
    })
}

/// `date` when it is committed, or the latest committed date.
fn committed_date(out: &Store, date: Option<NaiveDate>) -> Result<NaiveDate> {
    match date {
        Some(d) => {
            if snapshot::read_manifest(out, SCORES, d)?.is_none() {
                return Err(Error::NotFound(format!(
                    "no committed snapshot for {d} under {}",
                    out.url()
                )));
            }
            Ok(d)
        }
        None => snapshot::latest_committed(out, None)?
            .ok_or_else(|| Error::NotFound(format!("no committed snapshot under {}", out.url()))),
    }
}

/// The customer's row of the scores table of `date`.
fn account_row(out: &Store, date: NaiveDate, customer: &str) -> Result<DataFrame> {
    let scores = snapshot::read_scores(out, date)?;
    let row = scores
        .lazy()
        .filter(col("customer_id").eq(lit(customer)))
        .collect()
        .map_err(|e| Error::polars("explain", e))?;
    if row.height() == 0 {
        return Err(Error::NotFound(format!(
            "customer {customer} is not in the snapshot of {date}"
        )));
    }
    Ok(row)
}

/// A number of the row as an integer, or `—` when null.
fn int_or_dash(row: &DataFrame, c: &str, signed: bool) -> String {
    match f64_of(row, c) {
        Some(s) if signed => format!("{s:+.0}"),
        Some(s) => format!("{s:.0}"),
        None => "—".into(),
    }
}

/// The lines above the breakdown: who, score and band, trend, drivers.
fn header(row: &DataFrame, customer: &str, date: NaiveDate, scorecard: Option<&str>) -> String {
    let mut t = String::new();
    t.push_str(&format!(
        "{customer} {} ({}) — snapshot {date}, model {}\n",
        str_of(row, "customer_name").unwrap_or_default(),
        str_of(row, "segment").unwrap_or_else(|| "no segment".into()),
        str_of(row, "model_version").unwrap_or_default()
    ));
    t.push_str(&format!(
        "score {} ({}, {}), score_raw {}, completeness {}, scorecard {}\n",
        int_or_dash(row, "score", false),
        str_of(row, "band").unwrap_or_default(),
        str_of(row, "color").unwrap_or_default(),
        f64_of(row, "score_raw")
            .map(|s| format!("{s:.4}"))
            .unwrap_or_else(|| "—".into()),
        fmt_opt(f64_of(row, "completeness")),
        scorecard.unwrap_or("none"),
    ));
    t.push_str(&format!(
        "trend {} (previous {} {}, change {})\n",
        str_of(row, "trend").unwrap_or_default(),
        int_or_dash(row, "prev_score", false),
        str_of(row, "prev_band").unwrap_or_default(),
        int_or_dash(row, "score_change", true),
    ));
    t.push_str(&format!(
        "top drivers: {}; playbook: {}\n\n",
        str_of(row, "top_drivers").unwrap_or_else(|| "none".into()),
        str_of(row, "playbook").unwrap_or_else(|| "none".into())
    ));
    t
}

/// The table of groups and metrics (weight, raw value, points, loss)
/// appended to `t`, and the same as JSON.
fn breakdown(
    p: &Pipeline,
    row: &DataFrame,
    scorecard: Option<&str>,
    t: &mut String,
) -> Vec<serde_json::Value> {
    let sc = p
        .scorecards
        .iter()
        .find(|s| Some(s.name.as_str()) == scorecard);
    let weight_of = |gi: usize| sc.map(|s| s.weights[gi]).unwrap_or(0.0);
    let present_w: f64 = p
        .groups
        .iter()
        .enumerate()
        .filter(|(gi, g)| weight_of(*gi) > 0.0 && f64_of(row, &group_column(&g.name)).is_some())
        .map(|(gi, _)| weight_of(gi))
        .sum();
    t.push_str(&format!(
        "{:<28} {:>8} {:>10} {:>8} {:>8}\n",
        "group / metric", "weight", "raw", "points", "loss"
    ));
    let mut groups_json = Vec::new();
    for (gi, g) in p.groups.iter().enumerate() {
        let gw = weight_of(gi);
        let gp = f64_of(row, &group_column(&g.name));
        t.push_str(&format!(
            "{:<28} {:>8} {:>10} {:>8} {:>8}\n",
            g.name,
            gw,
            "",
            fmt_opt(gp),
            ""
        ));
        let present_in_group: f64 = p
            .group_metrics(gi)
            .filter(|(m, _)| f64_of(row, &points_column(&m.name)).is_some())
            .map(|(_, s)| s.weight)
            .sum();
        let mut metrics_json = Vec::new();
        for (m, s) in p.group_metrics(gi) {
            let raw = f64_of(row, &m.name);
            let pts = f64_of(row, &points_column(&m.name));
            let loss = match (pts, gp) {
                (Some(pt), Some(_)) if gw > 0.0 && present_w > 0.0 => {
                    Some((100.0 - pt) * gw / present_w * s.weight / present_in_group)
                }
                _ => None,
            };
            t.push_str(&format!(
                "  {:<26} {:>8} {:>10} {:>8} {:>8}\n",
                m.name,
                s.weight,
                fmt_opt(raw),
                fmt_opt(pts),
                fmt_opt(loss)
            ));
            metrics_json.push(serde_json::json!({"metric": m.name, "weight": s.weight, "raw": raw, "points": pts, "loss": loss}));
        }
        groups_json.push(serde_json::json!({"group": g.name, "weight": gw, "points": gp, "metrics": metrics_json}));
    }
    groups_json
}
