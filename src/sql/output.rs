//! The output views: `scores` (SPEC §6 columns, order and types, with the
//! trend against `previous_scores`), `summary`, `metrics` (the long
//! metrics table, when the pipeline writes it) and `changes` (SPEC §11's
//! columns; no rows yet: `run` does not compute changes either).

use super::expr;
use super::score::{scored, SCORED_VIEW};
use super::{Ctx, Script};
use crate::error::Result;

/// Writes the output views.
pub(super) fn write(ctx: &Ctx, script: &mut Script) -> Result<()> {
    previous(ctx, script);
    scores(ctx, script);
    summary(ctx, script);
    if ctx.p.settings.metrics_table {
        metrics(ctx, script);
    }
    changes(ctx, script);
    Ok(())
}

/// hs_previous: the previous snapshot's score, band and model version.
fn previous(ctx: &Ctx, script: &mut Script) {
    let st = ctx.d.string_type();
    script.view(
        "hs_previous",
        &["The previous snapshot (view previous_scores, no rows on a first snapshot).".into()],
        &format!(
            "SELECT CAST(customer_id AS {st}) AS customer_id,\n       CAST(score AS {}) AS prev_score,\n       CAST(band AS {st}) AS prev_band,\n       CAST(model_version AS {st}) AS hs_prev_model\nFROM previous_scores",
            ctx.d.int_type()
        ),
    );
}

/// `scores`: SPEC §6's columns in order, sorted by customer_id.
fn scores(ctx: &Ctx, script: &mut Script) {
    let p = ctx.p;
    let (st, it) = (ctx.d.string_type(), ctx.d.int_type());
    let mv = ctx.s(&p.model_version());
    let thr = p.settings.trend_threshold;
    let rebased = format!("coalesce(p.hs_prev_model <> {mv}, FALSE)");
    let change = "s.score - p.prev_score";
    let mut list = vec![
        "s.customer_id".to_string(),
        format!("CAST(s.{} AS {st}) AS customer_name", ctx.q("name")),
        format!("CAST(s.{} AS {st}) AS segment", ctx.q("segment")),
        "s.hs_scorecard_name AS scorecard".into(),
        "s.score".into(),
        "s.score_raw".into(),
        "s.hs_band_name AS band".into(),
        "s.hs_color AS color".into(),
        "s.completeness".into(),
        "s.hs_top_drivers AS top_drivers".into(),
        "s.hs_playbook AS playbook".into(),
        "p.prev_score".into(),
        "p.prev_band".into(),
        format!("CASE WHEN p.customer_id IS NULL OR {rebased} THEN CAST(NULL AS {it})\n         ELSE CAST({change} AS {it}) END AS score_change"),
        format!("CASE WHEN p.customer_id IS NULL THEN 'new'\n         WHEN {rebased} THEN 'rebased'\n         WHEN {change} >= {thr} THEN 'up'\n         WHEN {change} <= {} THEN 'down'\n         ELSE 'flat' END AS trend", -thr),
    ];
    for g in &p.groups {
        list.push(format!("s.{}", ctx.q(&format!("{}_score", g.name))));
    }
    for m in &p.metrics {
        list.push(format!("s.{}", ctx.q(&m.name)));
        if m.scoring.is_some() {
            list.push(format!("s.{}", ctx.q(&format!("{}_points", m.name))));
        }
    }
    list.push(format!("{mv} AS model_version"));
    for c in &p.accounts.pass_through {
        list.push(format!("s.{}", ctx.q(c)));
    }
    script.view(
        "scores",
        &[
            "OUTPUT scores (SPEC §6): fixed columns, group scores, each metric (and its points), model_version,".into(),
            format!("pass-through columns. Trend against previous_scores (threshold {thr}, another model_version: rebased)."),
        ],
        &format!(
            "SELECT\n    {}\nFROM {SCORED_VIEW} AS s\nLEFT JOIN hs_previous AS p ON p.customer_id = s.customer_id\nORDER BY s.customer_id",
            list.join(",\n    ")
        ),
    );
}

/// `summary`: one row per (scorecard, band) present, in declared order.
fn summary(ctx: &Ctx, script: &mut Script) {
    let p = ctx.p;
    let mrr = match &p.settings.summary_mrr_metric {
        Some(m) => format!("coalesce(sum({}), 0.0e0)", ctx.q(m)),
        None => "CAST(NULL AS DOUBLE)".into(),
    };
    script.view(
        "summary",
        &["OUTPUT summary (SPEC §6): accounts, mean score, mrr and share per scorecard and band.".into()],
        &format!(
            "SELECT scorecard, band, accounts, mean_score, mrr, share\nFROM (\n    SELECT hs_sc, hs_band,\n           min(hs_scorecard_name) AS scorecard,\n           min(hs_band_name) AS band,\n           count(*) AS accounts,\n           avg(CAST(score AS DOUBLE)) AS mean_score,\n           {mrr} AS mrr,\n           CAST(count(*) AS DOUBLE) / CAST(sum(count(*)) OVER () AS DOUBLE) AS share\n    FROM {SCORED_VIEW}\n    GROUP BY hs_sc, hs_band\n) AS g\nORDER BY coalesce(hs_sc, {}), hs_band",
            p.scorecards.len()
        ),
    );
}

/// `metrics`: the long metrics table, one row per account and scored metric.
fn metrics(ctx: &Ctx, script: &mut Script) {
    let p = ctx.p;
    let st = ctx.d.string_type();
    let mv = ctx.s(&p.model_version());
    let names = |group: &str, metric: &str| {
        format!(
            "{} AS {}, {} AS {}",
            group,
            ctx.q("group"),
            metric,
            ctx.q("metric")
        )
    };
    let mut parts = Vec::new();
    for (j, (m, s)) in scored(ctx).into_iter().enumerate() {
        parts.push(format!(
            "SELECT {j} AS hs_j, customer_id, hs_scorecard_name AS scorecard, {},\n           {} AS raw, {} AS points, hs_loss_{j} AS loss\n    FROM {SCORED_VIEW}",
            names(&ctx.s(&p.groups[s.group].name), &ctx.s(&m.name)),
            ctx.q(&m.name),
            ctx.q(&format!("{}_points", m.name)),
        ));
    }
    if parts.is_empty() {
        let null = format!("CAST(NULL AS {st})");
        parts.push(format!(
            "SELECT 0 AS hs_j, customer_id, {null} AS scorecard, {},\n           CAST(NULL AS DOUBLE) AS raw, CAST(NULL AS DOUBLE) AS points, CAST(NULL AS DOUBLE) AS loss\n    FROM {SCORED_VIEW} WHERE FALSE",
            names(&null, &null)
        ));
    }
    script.view(
        "metrics",
        &["OUTPUT metrics: the long metrics table (customer_id, scorecard, group, metric, raw, points, loss, model_version).".into()],
        &format!(
            "SELECT customer_id, scorecard, {g}, {m}, raw, points, loss, {mv} AS model_version\nFROM (\n    {}\n) AS long\nORDER BY hs_j, customer_id",
            parts.join("\n    UNION ALL\n    "),
            g = ctx.q("group"),
            m = ctx.q("metric"),
        ),
    );
}

/// `changes`: SPEC §11's columns, no rows (not computed yet).
fn changes(ctx: &Ctx, script: &mut Script) {
    let (st, it) = (ctx.d.string_type(), ctx.d.int_type());
    let text = |n: &str| format!("CAST(NULL AS {st}) AS {n}");
    let int = |n: &str| format!("CAST(NULL AS {it}) AS {n}");
    let float = |n: &str| format!("CAST(NULL AS DOUBLE) AS {n}");
    let mut list = vec![
        text("customer_id"),
        text("customer_name"),
        text("scorecard"),
        text("prev_scorecard"),
        text("kind"),
        text("prev_band"),
        text("band"),
        int("prev_score"),
        int("score"),
        int("score_change"),
        text("cause"),
        float("cause_prev_points"),
        float("cause_points"),
        float("cause_delta"),
        text("playbook"),
    ];
    for c in &ctx.p.accounts.pass_through {
        list.push(ctx.q(c));
    }
    script.view(
        "changes",
        &[
            "OUTPUT changes (SPEC §11): its columns, then the pass-through columns. No rows: changes are not".into(),
            format!("computed by this version ({}).", expr::comment_text("run does not write them either")),
        ],
        &format!("SELECT\n    {}\nFROM scores\nWHERE FALSE", list.join(",\n    ")),
    );
}
