//! The output views: `scores` (SPEC §6 columns, order and types, with the
//! trend against `previous_scores`), `summary`, `metrics` (the long
//! metrics table, when the pipeline writes it) and `changes` (SPEC §11:
//! the accounts whose band moved or whose score moved by at least
//! `alert_change_points` since the previous snapshot of the same model,
//! with the metric whose contribution moved the most), mirroring
//! `score::changes`. Also `hs_previous`, written before the scoring views
//! (band hysteresis reads it).
use super::expr::{self, float_lit, round9};
use super::score::{greatest, scored, SCORED_VIEW};
use super::{Ctx, Script};
use crate::error::Result;
use crate::pipeline::FIXED_OUTPUT_COLUMNS;
use crate::score::changes::{CHANGES_COLUMNS, KINDS};
use crate::score::{group_column, points_column, METRICS_COLUMNS, OVERRIDE_COLUMNS};

/// `exprs` each named after the column of `names` at its position.
fn named(exprs: Vec<String>, names: &[&str]) -> Vec<String> {
    debug_assert_eq!(exprs.len(), names.len());
    exprs
        .into_iter()
        .zip(names)
        .map(|(e, n)| format!("{e} AS {n}"))
        .collect()
}

/// Writes the output views.
pub(super) fn write(ctx: &Ctx, script: &mut Script) -> Result<()> {
    scores(ctx, script);
    summary(ctx, script);
    if ctx.p.settings.metrics_table {
        metrics(ctx, script);
    }
    changes(ctx, script)
}

/// hs_previous: the previous snapshot's score, band, model version and
/// model band (the band before an override, for hysteresis: see the
/// module documentation of [`super`]). Written before the scoring views,
/// which read it for band hysteresis.
pub(super) fn previous(ctx: &Ctx, script: &mut Script) {
    let st = ctx.d.string_type();
    let model_band = if ctx.p.settings.band_hysteresis_points > 0 && ctx.p.has_overrides() {
        format!(
            "coalesce({}.band_model, CAST(ps.band AS {st}))",
            ctx.d
                .optional_fields("ps", &[("band_model".to_string(), st)])
        )
    } else {
        format!("CAST(ps.band AS {st})")
    };
    script.view(
        "hs_previous",
        &["The previous snapshot (view previous_scores, no rows on a first snapshot).".into()],
        &format!(
            "SELECT CAST(ps.customer_id AS {st}) AS customer_id,\n       CAST(ps.score AS {}) AS prev_score,\n       CAST(ps.band AS {st}) AS prev_band,\n       CAST(ps.model_version AS {st}) AS hs_prev_model,\n       {model_band} AS hs_prev_model_band\nFROM previous_scores AS ps",
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
    let mut list = named(
        vec![
            "s.customer_id".to_string(),
            format!("CAST(s.{} AS {st})", ctx.q("name")),
            format!("CAST(s.{} AS {st})", ctx.q("segment")),
            "s.hs_scorecard_name".into(),
            "s.score".into(),
            "s.score_raw".into(),
            "s.hs_band_name".into(),
            "s.hs_color".into(),
            "s.completeness".into(),
            "s.hs_top_drivers".into(),
            "s.hs_playbook".into(),
            "p.prev_score".into(),
            "p.prev_band".into(),
            format!("CASE WHEN p.customer_id IS NULL OR {rebased} THEN CAST(NULL AS {it})\n         ELSE CAST({change} AS {it}) END"),
            format!("CASE WHEN p.customer_id IS NULL THEN 'new'\n         WHEN {rebased} THEN 'rebased'\n         WHEN {change} >= {thr} THEN 'up'\n         WHEN {change} <= {} THEN 'down'\n         ELSE 'flat' END", -thr),
        ],
        FIXED_OUTPUT_COLUMNS,
    );
    for g in &p.groups {
        list.push(format!("s.{}", ctx.q(&group_column(&g.name))));
    }
    for m in &p.metrics {
        list.push(format!("s.{}", ctx.q(&m.name)));
        if m.scoring.is_some() {
            list.push(format!("s.{}", ctx.q(&points_column(&m.name))));
        }
    }
    list.push(format!("{mv} AS model_version"));
    if p.has_overrides() {
        list.extend(named(
            vec![
                "s.hs_band_model_name".to_string(),
                "s.hs_ovr_reason".into(),
                "s.hs_ovr_set_by".into(),
                ctx.d.date_of_day("s.hs_ovr_expires"),
            ],
            &OVERRIDE_COLUMNS,
        ));
    }
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
            ctx.q(&points_column(&m.name)),
        ));
    }
    if parts.is_empty() {
        let null = format!("CAST(NULL AS {st})");
        parts.push(format!(
            "SELECT 0 AS hs_j, customer_id, {null} AS scorecard, {},\n           CAST(NULL AS DOUBLE) AS raw, CAST(NULL AS DOUBLE) AS points, CAST(NULL AS DOUBLE) AS loss\n    FROM {SCORED_VIEW} WHERE FALSE",
            names(&null, &null)
        ));
    }
    // The inner selects name every column but model_version, a constant.
    let outer: Vec<String> = METRICS_COLUMNS
        .iter()
        .map(|&c| match c {
            "model_version" => format!("{mv} AS {}", ctx.q(c)),
            _ => ctx.q(c),
        })
        .collect();
    script.view(
        "metrics",
        &["OUTPUT metrics: the long metrics table (customer_id, scorecard, group, metric, raw, points, loss, model_version).".into()],
        &format!(
            "SELECT {}\nFROM (\n    {}\n) AS long\nORDER BY hs_j, customer_id",
            outer.join(", "),
            parts.join("\n    UNION ALL\n    "),
        ),
    );
}

/// One snapshot's columns for the contributions: the scorecard's name
/// and each scored metric's points (SQL), and the prefix of the helper
/// columns (`hs_now`, `hs_prev`).
struct Snapshot<'a> {
    prefix: &'a str,
    scorecard: String,
    points: Vec<String>,
}

/// The weights of the present metrics, per snapshot (see
/// [`contributions`]): `<prefix>_igw_<g>` Σ the weights of group g's
/// scored metrics with points, `<prefix>_pw_<i>` Σ the weights, in
/// scorecard i, of the weighted groups with a metric with points (both
/// added in declared order, as `run` does).
fn present_weights(ctx: &Ctx, snap: &Snapshot) -> Result<Vec<String>> {
    let p = ctx.p;
    let scored = scored(ctx);
    let present = |j: usize| format!("{} IS NOT NULL", snap.points[j]);
    let mut list = Vec::new();
    for g in 0..p.groups.len() {
        let members: Vec<usize> = (0..scored.len())
            .filter(|&j| scored[j].1.group == g)
            .collect();
        if members.is_empty() {
            continue;
        }
        let terms = members
            .iter()
            .map(|&k| {
                Ok(format!(
                    "CASE WHEN {} THEN {} ELSE 0.0e0 END",
                    present(k),
                    float_lit(scored[k].1.weight)?
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        list.push(format!("{} AS {}_igw_{g}", terms.join(" + "), snap.prefix));
    }
    for (i, sc) in p.scorecards.iter().enumerate() {
        let mut terms = Vec::new();
        for g in 0..p.groups.len() {
            if sc.weights[g] > 0.0 {
                let members: Vec<String> = (0..scored.len())
                    .filter(|&j| scored[j].1.group == g)
                    .map(present)
                    .collect();
                let any = if members.is_empty() {
                    "FALSE".to_string()
                } else {
                    members.join(" OR ")
                };
                terms.push(format!(
                    "CASE WHEN {any} THEN {} ELSE 0.0e0 END",
                    float_lit(sc.weights[g])?
                ));
            }
        }
        let sum = if terms.is_empty() {
            "0.0e0".to_string()
        } else {
            terms.join("\n        + ")
        };
        list.push(format!(
            "-- {}\n    {sum} AS {}_pw_{i}",
            expr::comment_text(&sc.name),
            snap.prefix
        ));
    }
    Ok(list)
}

/// Each scored metric's contribution to score_raw (points · share, SPEC
/// §11: share = w_g/Σ present w · w_m/Σ present-in-g w_m; 0 when the
/// metric has no points, or the scorecard does not weigh its group or is
/// not one of the pipeline's), rounded to 9 decimals, in declared order,
/// over the columns of [`present_weights`]. Mirrors
/// `score::changes::contributions` operation for operation.
fn contributions(ctx: &Ctx, snap: &Snapshot) -> Result<Vec<String>> {
    let p = ctx.p;
    let scored = scored(ctx);
    let mut out = Vec::new();
    for (j, (_, s)) in scored.iter().enumerate() {
        let g = s.group;
        let mut case = String::from("CASE");
        for (i, sc) in p.scorecards.iter().enumerate() {
            let w_g = sc.weights[g];
            let value = if w_g > 0.0 {
                format!(
                    "CASE WHEN {pts} IS NOT NULL THEN {pts} * ({} / nullif({pre}_pw_{i}, 0.0e0) * {} / nullif({pre}_igw_{g}, 0.0e0)) ELSE 0.0e0 END",
                    float_lit(w_g)?,
                    float_lit(s.weight)?,
                    pts = snap.points[j],
                    pre = snap.prefix,
                )
            } else {
                "0.0e0".into()
            };
            case.push_str(&format!(
                "\n            WHEN {} = {} THEN {value}",
                snap.scorecard,
                ctx.s(&sc.name)
            ));
        }
        case.push_str("\n            ELSE 0.0e0 END");
        out.push(round9(&format!("coalesce({case}, 0.0e0)")));
    }
    Ok(out)
}

/// `changes` (SPEC §11), as `run` computes it (`score::changes::changes`):
/// the accounts of `scores` also in `previous_scores` when that snapshot
/// has this model_version, with no override in force, whose band (after
/// hysteresis and overrides) differs from prev_band or whose
/// |score_change| ≥ `alert_change_points`; their kind, the metric that
/// caused the move, playbook and pass-through columns, ordered by kind,
/// score_change (nulls last) and customer_id.
fn changes(ctx: &Ctx, script: &mut Script) -> Result<()> {
    change_rows(ctx, script);
    change_contributions(ctx, script)?;
    change_cause(ctx, script);
    change_output(ctx, script);
    Ok(())
}

/// The `<metric>_points` column of the j-th scored metric.
fn points_name(ctx: &Ctx, j: usize) -> String {
    points_column(&scored(ctx)[j].0.name)
}

/// hs_change_rows: the candidate rows beside the previous snapshot's
/// scorecard and points (hs_prev_row: a column it lacks, a metric it did
/// not score, is null, so the metric was not present) and their kind.
fn change_rows(ctx: &Ctx, script: &mut Script) {
    let p = ctx.p;
    let st = ctx.d.string_type();
    let mv = ctx.s(&p.model_version());
    let thr = p.settings.alert_change_points;
    let n = scored(ctx).len();
    let mut fields = vec![("scorecard".to_string(), st)];
    fields.extend((0..n).map(|j| (points_name(ctx, j), "DOUBLE")));
    let rank = |band: &str| -> String {
        let mut c = format!("CASE {band}");
        for (i, b) in p.bands.iter().enumerate() {
            c.push_str(&format!(" WHEN {} THEN {i}", ctx.s(&b.name)));
        }
        c.push_str(" ELSE -1 END");
        c
    };
    // An account with an override in force on D is the CSM's call: no row.
    let (no_override, why) = if p.has_overrides() {
        (
            "\n      AND c.override_reason IS NULL",
            ", with no override in force,",
        )
    } else {
        ("", "")
    };
    script.view(
        "hs_change_rows",
        &[
            format!("The accounts in both snapshots (the previous of model {}){why} whose band moved or whose", expr::comment_text(&p.model_version())),
            format!("|score_change| >= {thr}, with the previous scorecard and points, and the kind of move"),
            "(band order: the declared one, the unscored band below every band).".into(),
        ],
        &format!(
            "SELECT r.*,\n    CASE WHEN hs_now_rank < hs_prev_rank THEN 'band_down'\n         WHEN hs_now_rank > hs_prev_rank THEN 'band_up'\n         WHEN score_change < 0 THEN 'drop'\n         ELSE 'rise' END AS hs_kind\nFROM (\n    SELECT c.*,\n        {} AS hs_prev_row,\n        {} AS hs_now_rank,\n        {} AS hs_prev_rank\n    FROM scores AS c\n    JOIN previous_scores AS ps ON CAST(ps.customer_id AS {st}) = c.customer_id\n    WHERE CAST(ps.model_version AS {st}) = {mv}\n      AND c.prev_band IS NOT NULL{no_override}\n      AND (c.band <> c.prev_band OR abs(c.score_change) >= {thr})\n) AS r",
            ctx.d.optional_fields("ps", &fields),
            rank("c.band"),
            rank("c.prev_band"),
        ),
    );
}

/// hs_change_weights, hs_change_contrib and hs_change_delta: each scored
/// metric's contribution in this (hs_cn_j) and the previous (hs_cp_j)
/// snapshot, and its change (hs_cd_j).
fn change_contributions(ctx: &Ctx, script: &mut Script) -> Result<()> {
    let scored = scored(ctx);
    let n = scored.len();
    let now = Snapshot {
        prefix: "hs_now",
        scorecard: "scorecard".into(),
        points: (0..n).map(|j| ctx.q(&points_name(ctx, j))).collect(),
    };
    let prev = Snapshot {
        prefix: "hs_prev",
        scorecard: "hs_prev_row.scorecard".into(),
        points: (0..n)
            .map(|j| format!("hs_prev_row.{}", ctx.q(&points_name(ctx, j))))
            .collect(),
    };
    let mut list = vec!["*".to_string()];
    list.extend(present_weights(ctx, &now)?);
    list.extend(present_weights(ctx, &prev)?);
    script.view(
        "hs_change_weights",
        &["Per snapshot: Σ weight of each group's metrics with points (igw), Σ weight of each scorecard's groups with points (pw).".into()],
        &format!("SELECT\n    {}\nFROM hs_change_rows", list.join(",\n    ")),
    );
    let (now, before) = (contributions(ctx, &now)?, contributions(ctx, &prev)?);
    let mut list = vec!["*".to_string()];
    for j in 0..n {
        list.push(format!(
            "-- {}\n    {} AS hs_cn_{j},\n    {} AS hs_cp_{j}",
            expr::comment_text(&scored[j].0.name),
            now[j],
            before[j]
        ));
    }
    script.view(
        "hs_change_contrib",
        &["Each scored metric's contribution (points · share, 9 decimals) in this and the previous snapshot.".into()],
        &format!("SELECT\n    {}\nFROM hs_change_weights", list.join(",\n    ")),
    );
    let mut list = vec!["*".to_string()];
    for j in 0..n {
        list.push(format!(
            "{} AS hs_cd_{j}",
            round9(&format!("hs_cn_{j} - hs_cp_{j}"))
        ));
    }
    script.view(
        "hs_change_delta",
        &["Each contribution's change (9 decimals).".into()],
        &format!(
            "SELECT\n    {}\nFROM hs_change_contrib",
            list.join(",\n    ")
        ),
    );
    Ok(())
}

/// hs_change_toward, hs_change_best and hs_change_cause: each
/// contribution's move in the direction of the change (hs_ct_j), the
/// largest (hs_best), and the cause's position (hs_cause).
fn change_cause(ctx: &Ctx, script: &mut Script) {
    let n = scored(ctx).len();
    let mut list = vec!["*".to_string()];
    for j in 0..n {
        list.push(format!(
            "CASE WHEN hs_kind IN ('band_down', 'drop') THEN -hs_cd_{j} ELSE hs_cd_{j} END AS hs_ct_{j}"
        ));
    }
    script.view(
        "hs_change_toward",
        &["Each contribution's move in the direction of the change (fell for band_down and drop, rose otherwise).".into()],
        &format!("SELECT\n    {}\nFROM hs_change_delta", list.join(",\n    ")),
    );
    let toward: Vec<String> = (0..n).map(|j| format!("hs_ct_{j}")).collect();
    let best = greatest(&toward, "DOUBLE");
    script.view(
        "hs_change_best",
        &["The largest move in the direction of the change.".into()],
        &format!("SELECT *,\n    {best} AS hs_best\nFROM hs_change_toward"),
    );
    let mut cause = String::from("CASE WHEN hs_best > 0 THEN CASE");
    for j in 0..n {
        cause.push_str(&format!(" WHEN hs_ct_{j} = hs_best THEN {j}"));
    }
    cause.push_str(" END END");
    if n == 0 {
        cause = format!("CAST(NULL AS {})", ctx.d.int_type());
    }
    script.view(
        "hs_change_cause",
        &["The cause: the first metric in declared order with the largest move (none when no metric moved that way).".into()],
        &format!("SELECT *,\n    {cause} AS hs_cause\nFROM hs_change_best"),
    );
}

/// `changes`: SPEC §11's columns, then the pass-through columns, in
/// `run`'s order.
fn change_output(ctx: &Ctx, script: &mut Script) {
    let (st, it) = (ctx.d.string_type(), ctx.d.int_type());
    let scored = scored(ctx);
    let n = scored.len();
    let pick = |value: &dyn Fn(usize) -> String, null: &str| -> String {
        if n == 0 {
            return format!("CAST(NULL AS {null})");
        }
        let mut c = String::from("CASE hs_cause");
        for j in 0..n {
            c.push_str(&format!(" WHEN {j} THEN {}", value(j)));
        }
        c.push_str(" END");
        c
    };
    let points = |j: usize| ctx.q(&points_name(ctx, j));
    let mut list = named(
        vec![
            "customer_id".to_string(),
            "customer_name".into(),
            "scorecard".into(),
            format!("CAST(hs_prev_row.scorecard AS {st})"),
            "hs_kind".into(),
            "prev_band".into(),
            "band".into(),
            format!("CAST(prev_score AS {it})"),
            format!("CAST(score AS {it})"),
            format!("CAST(score_change AS {it})"),
            pick(&|j| ctx.s(&scored[j].0.name), st),
            format!(
                "CAST({} AS DOUBLE)",
                pick(&|j| format!("hs_prev_row.{}", points(j)), "DOUBLE")
            ),
            format!("CAST({} AS DOUBLE)", pick(&points, "DOUBLE")),
            format!(
                "CAST({} AS DOUBLE)",
                pick(&|j| format!("hs_cd_{j}"), "DOUBLE")
            ),
            "playbook".into(),
        ],
        &CHANGES_COLUMNS,
    );
    for c in &ctx.p.accounts.pass_through {
        list.push(ctx.q(c));
    }
    let kind_order: String = KINDS
        .iter()
        .enumerate()
        .map(|(i, k)| format!(" WHEN {} THEN {i}", ctx.s(k)))
        .collect();
    script.view(
        "changes",
        &[
            "OUTPUT changes (SPEC §11): its columns, then the pass-through columns; by kind (band_down, drop,".into(),
            "band_up, rise), then score_change (nulls last), then customer_id.".into(),
        ],
        &format!(
            "SELECT\n    {}\nFROM hs_change_cause\nORDER BY CASE hs_kind{kind_order} END,\n    score_change ASC NULLS LAST,\n    customer_id",
            list.join(",\n    ")
        ),
    );
}
