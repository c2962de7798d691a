//! The scoring stages (SPEC §4), mirroring the row-scoring kernel
//! operation for operation (same sums in the same order, so the floats
//! agree): the scorecard, each scored metric's points (linear, steps,
//! percentile within the scorecard with ties in the customer's favour,
//! missing policies), group points, score_raw, score (9 decimals, then half
//! away from zero), band (after hysteresis, then an override applied),
//! completeness, losses and the top three drivers (losses compared at 9
//! decimals, ties by name), and the playbook.

use super::aggregate::RAW_VIEW;
use super::expr::{self, float_lit, round9};
use super::inputs::OVERRIDES_VIEW;
use super::{Ctx, Script};
use crate::error::Result;
use crate::pipeline::{Band, Metric, Normalize, Scoring};
use crate::score::{group_column, points_column};

/// The view the outputs read: every account scored and explained.
pub const SCORED_VIEW: &str = "hs_explained";

/// The scored metrics in declared order.
pub(super) fn scored<'a>(ctx: &Ctx<'a>) -> Vec<(&'a Metric, &'a Scoring)> {
    ctx.p
        .metrics
        .iter()
        .filter_map(|m| m.scoring.as_ref().map(|s| (m, s)))
        .collect()
}

/// Writes the scoring views.
pub(super) fn write(ctx: &Ctx, script: &mut Script) -> Result<()> {
    scorecard(ctx, script)?;
    points(ctx, script)?;
    groups(ctx, script)?;
    totals(ctx, script)?;
    losses(ctx, script)?;
    drivers(ctx, script);
    explained(ctx, script)
}

/// hs_scorecard: the position of the first scorecard whose predicate holds
/// (hs_sc; null when none does).
fn scorecard(ctx: &Ctx, script: &mut Script) -> Result<()> {
    let mut case = String::from("CASE");
    let mut catch_all = None;
    for (i, sc) in ctx.p.scorecards.iter().enumerate() {
        match &sc.when {
            Some(w) => {
                let cond = expr::predicate(ctx.d, ctx.p, w, &format!("scorecard `{}`", sc.name))?;
                case.push_str(&format!(
                    "\n        -- {}\n        WHEN {cond} THEN {i}",
                    expr::comment_text(&sc.name)
                ));
            }
            None => {
                catch_all = Some((i, &sc.name));
                break;
            }
        }
    }
    match catch_all {
        Some((i, name)) => case.push_str(&format!(
            "\n        ELSE {i} -- {}\n    END",
            expr::comment_text(name)
        )),
        None => case.push_str("\n    END"),
    }
    if ctx.p.scorecards.first().is_some_and(|s| s.when.is_none()) {
        case = "0".into();
    }
    script.view(
        "hs_scorecard",
        &["Each account's scorecard: the first whose predicate holds (position hs_sc).".into()],
        &format!("SELECT *,\n    {case} AS hs_sc\nFROM {RAW_VIEW}"),
    );
    Ok(())
}

/// The points of one scored metric from its raw value `x`.
fn points_sql(ctx: &Ctx, m: &Metric, s: &Scoring) -> Result<String> {
    let x = ctx.q(&m.name);
    let missing = match s.missing {
        Some(v) => float_lit(v)?,
        None => "CAST(NULL AS DOUBLE)".into(),
    };
    let value = match &s.normalize {
        Normalize::Linear { lo, hi } => format!(
            "least(greatest(({x} - {}) / {}, 0.0e0), 1.0e0) * 100.0e0",
            float_lit(*lo)?,
            float_lit(hi - lo)?
        ),
        Normalize::Steps(steps) => {
            let mut case = String::from("CASE");
            for (t, p) in steps.iter().rev() {
                case.push_str(&format!(
                    " WHEN {x} >= {} THEN {}",
                    float_lit(*t)?,
                    float_lit(*p)?
                ));
            }
            let first = steps.first().map(|s| s.1).unwrap_or(0.0);
            case.push_str(&format!(" ELSE {} END", float_lit(first)?));
            case
        }
        Normalize::Percentile { higher_is_better } => {
            let order = if *higher_is_better { "ASC" } else { "DESC" };
            let n = format!("count({x}) OVER (PARTITION BY hs_sc)");
            let m = format!(
                "count({x}) OVER (PARTITION BY hs_sc ORDER BY {x} {order} NULLS LAST RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"
            );
            format!("CASE WHEN {n} = 1 THEN 100.0e0\n              ELSE 100.0e0 * ({m} - 1) / ({n} - 1) END")
        }
    };
    Ok(format!(
        "CASE WHEN {x} IS NULL THEN {missing}\n         ELSE {value} END"
    ))
}

/// hs_points: `<metric>_points` of every scored metric.
fn points(ctx: &Ctx, script: &mut Script) -> Result<()> {
    let mut list = vec!["*".to_string()];
    for (m, s) in scored(ctx) {
        let how = match &s.normalize {
            Normalize::Linear { lo, hi } => format!("linear({lo}, {hi})"),
            Normalize::Steps(_) => "steps".into(),
            Normalize::Percentile {
                higher_is_better: true,
            } => "percentile within the scorecard, higher is better".into(),
            Normalize::Percentile { .. } => {
                "percentile within the scorecard, lower is better".into()
            }
        };
        let missing = match s.missing {
            Some(v) => format!("missing: {v}"),
            None => "missing: skip".into(),
        };
        list.push(format!(
            "-- {}: {how}, {missing}\n    {} AS {}",
            expr::comment_text(&m.name),
            points_sql(ctx, m, s)?,
            ctx.q(&points_column(&m.name))
        ));
    }
    script.view(
        "hs_points",
        &["Points of each scored metric (SPEC §4 normalisation and missing policy).".into()],
        &format!("SELECT\n    {}\nFROM hs_scorecard", list.join(",\n    ")),
    );
    Ok(())
}

/// `terms` added left to right (the kernel's order); `0.0e0` when none.
fn sum(terms: &[String]) -> String {
    if terms.is_empty() {
        "0.0e0".into()
    } else {
        terms.join(" + ")
    }
}

/// hs_groups: per group g its weight in the account's scorecard (hs_w_g),
/// Σ weight × points, Σ weight with points, Σ weight observed, then
/// `<group>_score`.
fn groups(ctx: &Ctx, script: &mut Script) -> Result<()> {
    let mut list = vec!["*".to_string()];
    for (g, group) in ctx.p.groups.iter().enumerate() {
        let mut w = String::from("CASE hs_sc");
        for (i, sc) in ctx.p.scorecards.iter().enumerate() {
            w.push_str(&format!(" WHEN {i} THEN {}", float_lit(sc.weights[g])?));
        }
        w.push_str(" ELSE 0.0e0 END");
        let (mut num, mut den, mut obs) = (Vec::new(), Vec::new(), Vec::new());
        for (m, s) in ctx.p.group_metrics(g) {
            let (x, p) = (ctx.q(&m.name), ctx.q(&points_column(&m.name)));
            let wm = float_lit(s.weight)?;
            num.push(format!("coalesce({wm} * {p}, 0.0e0)"));
            den.push(format!(
                "CASE WHEN {p} IS NOT NULL THEN {wm} ELSE 0.0e0 END"
            ));
            obs.push(format!(
                "CASE WHEN {x} IS NOT NULL THEN {wm} ELSE 0.0e0 END"
            ));
        }
        list.push(format!(
            "-- group {}\n    {w} AS hs_w_{g},\n    {} AS hs_num_{g},\n    {} AS hs_den_{g},\n    {} AS hs_obs_{g}",
            expr::comment_text(&group.name),
            sum(&num),
            sum(&den),
            sum(&obs)
        ));
    }
    script.view(
        "hs_group_sums",
        &["Per group g: its weight in the scorecard, and the sums of its metrics' weighted points.".into()],
        &format!("SELECT\n    {}\nFROM hs_points", list.join(",\n    ")),
    );
    let mut list = vec!["*".to_string()];
    for (g, group) in ctx.p.groups.iter().enumerate() {
        list.push(format!(
            "CASE WHEN hs_w_{g} > 0 AND hs_den_{g} > 0 THEN hs_num_{g} / hs_den_{g} END AS {}",
            ctx.q(&group_column(&group.name))
        ));
    }
    script.view(
        "hs_groups",
        &["Group points: the weighted mean of the present metrics' points, where the scorecard uses the group.".into()],
        &format!("SELECT\n    {}\nFROM hs_group_sums", list.join(",\n    ")),
    );
    Ok(())
}

/// hs_totals: hs_present (Σ weight of the groups with points), score_raw,
/// score, band position (hs_band; the bands' count for the unscored band)
/// and completeness.
fn totals(ctx: &Ctx, script: &mut Script) -> Result<()> {
    let p = ctx.p;
    let (mut present, mut num, mut cnum, mut cden) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (g, group) in p.groups.iter().enumerate() {
        let gs = ctx.q(&group_column(&group.name));
        present.push(format!(
            "CASE WHEN {gs} IS NOT NULL THEN hs_w_{g} ELSE 0.0e0 END"
        ));
        num.push(format!("coalesce(hs_w_{g} * {gs}, 0.0e0)"));
        let total: f64 = p.group_metrics(g).map(|(_, s)| s.weight).sum();
        let share = if total > 0.0 {
            format!("(hs_obs_{g} / {})", float_lit(total)?)
        } else {
            "0.0e0".into()
        };
        cnum.push(format!(
            "CASE WHEN hs_w_{g} > 0 THEN hs_w_{g} * {share} ELSE 0.0e0 END"
        ));
        cden.push(format!(
            "CASE WHEN hs_w_{g} > 0 THEN hs_w_{g} ELSE 0.0e0 END"
        ));
    }
    script.view(
        "hs_sums",
        &["Σ weight of the present groups, Σ weight × group points, and completeness's sums.".into()],
        &format!(
            "SELECT *,\n    {} AS hs_present,\n    {} AS hs_score_num,\n    {} AS hs_cnum,\n    {} AS hs_cden\nFROM hs_groups",
            sum(&present),
            sum(&num),
            sum(&cnum),
            sum(&cden)
        ),
    );
    script.view(
        "hs_score_raw",
        &["score_raw: the weighted mean of the present groups' points.".into()],
        "SELECT *,\n    CASE WHEN hs_present > 0 THEN hs_score_num / hs_present END AS score_raw\nFROM hs_sums",
    );
    let mut band = String::from("CASE WHEN score IS NULL THEN ");
    band.push_str(&p.bands.len().to_string());
    for (i, b) in p.bands.iter().enumerate() {
        band.push_str(&format!(
            "\n         WHEN score >= {} AND score <= {} THEN {i} -- {}",
            b.min,
            b.max,
            expr::comment_text(&b.name)
        ));
    }
    band.push_str(&format!("\n         ELSE {} END", p.bands.len()));
    script.view(
        "hs_score",
        &["score: score_raw rounded to 9 decimals, then to an integer half away from zero.".into()],
        &format!(
            "SELECT *,\n    CAST(round({}) AS {}) AS score,\n    CASE WHEN score_raw IS NULL OR hs_cden = 0 THEN 0.0e0 ELSE hs_cnum / hs_cden END AS completeness\nFROM hs_score_raw",
            round9("score_raw"),
            ctx.d.int_type()
        ),
    );
    let h = p.settings.band_hysteresis_points;
    if h == 0 {
        script.view(
            "hs_banded",
            &[
                "The band's position (the first band holding the score, the unscored band last)."
                    .into(),
            ],
            &format!(
                "SELECT *,\n    {band} AS {}\nFROM hs_score",
                model_band_column(ctx)
            ),
        );
        bands_held(script, "SELECT CAST(0 AS BIGINT) AS accounts");
        return overridden(ctx, script);
    }
    script.view(
        "hs_banded",
        &[
            "The model band's position (the first band holding the score, the unscored band last)."
                .into(),
        ],
        &format!("SELECT *,\n    {band} AS hs_band_model\nFROM hs_score"),
    );
    held(ctx, script)?;
    overridden(ctx, script)
}

/// The column of the model's band position after hysteresis: `hs_band`
/// (the band written), or `hs_band_auto` when an override may replace it.
fn model_band_column(ctx: &Ctx) -> &'static str {
    if ctx.p.has_overrides() {
        "hs_band_auto"
    } else {
        "hs_band"
    }
}

/// hs_overridden (when the pipeline declares overrides, SPEC §11): the
/// applied override's band replaces the band position (hs_band; the
/// model's stays in hs_band_auto), beside the override's columns
/// (`score::with_override`).
fn overridden(ctx: &Ctx, script: &mut Script) -> Result<()> {
    if !ctx.p.has_overrides() {
        return Ok(());
    }
    let p = ctx.p;
    let mut case = String::from("CASE o.hs_ovr_band");
    for (i, b) in p
        .bands
        .iter()
        .chain(std::iter::once(&p.unscored))
        .enumerate()
    {
        case.push_str(&format!(" WHEN {} THEN {i}", ctx.s(&b.name)));
    }
    case.push_str(" END");
    script.view(
        OVERRIDDEN_VIEW,
        &["Overrides (SPEC §11): the applied override's band replaces the model's (hs_band_auto).".into()],
        &format!(
            "SELECT s.*,\n    coalesce({case}, s.hs_band_auto) AS hs_band,\n    o.hs_ovr_reason, o.hs_ovr_set_by, o.hs_ovr_expires\nFROM {} AS s\nLEFT JOIN {OVERRIDES_VIEW} AS o ON o.customer_id = s.customer_id",
            held_view(ctx)
        ),
    );
    Ok(())
}

/// The view with the band written when the pipeline declares overrides.
const OVERRIDDEN_VIEW: &str = "hs_overridden";

/// hs_held (band hysteresis, SPEC §11, when `band_hysteresis_points` h >
/// 0): an account whose previous model band, in a previous snapshot of the
/// same model_version, is a band keeps it while lo − h ≤ score ≤ hi + h
/// for that band's [lo, hi]; otherwise (and for a null score) the model
/// band. hs_band is the band written (`score::changes::held_band`).
fn held(ctx: &Ctx, script: &mut Script) -> Result<()> {
    let p = ctx.p;
    let h = i64::from(p.settings.band_hysteresis_points);
    let mv = ctx.s(&p.model_version());
    let mut case = String::from("CASE");
    for (i, b) in p.bands.iter().enumerate() {
        case.push_str(&format!(
            "\n        WHEN p.hs_prev_model_band = {} AND s.score >= {} AND s.score <= {} THEN {i} -- {}",
            ctx.s(&b.name),
            i64::from(b.min) - h,
            i64::from(b.max) + h,
            expr::comment_text(&b.name)
        ));
    }
    case.push_str("\n        ELSE s.hs_band_model END");
    script.view(
        BANDED_VIEW_HELD,
        &[format!(
            "Band hysteresis ({h} points): the previous model band of the same model_version is kept while the score stays within {h} points outside it."
        )],
        &format!(
            "SELECT s.*,\n    CASE WHEN p.hs_prev_model = {mv} THEN {case}\n         ELSE s.hs_band_model END AS {}\nFROM hs_banded AS s\nLEFT JOIN hs_previous AS p ON p.customer_id = s.customer_id",
            model_band_column(ctx)
        ),
    );
    bands_held(
        script,
        &format!(
            "SELECT CAST(count(CASE WHEN {} <> hs_band_model THEN 1 END) AS BIGINT) AS accounts\nFROM {BANDED_VIEW_HELD}",
            model_band_column(ctx)
        ),
    );
    Ok(())
}

/// `bands_held` (SPEC §11, the manifest's `bands_held`): one row, the
/// accounts whose band hysteresis kept a band other than the model's.
fn bands_held(script: &mut Script, body: &str) {
    script.view(
        "bands_held",
        &["OUTPUT bands_held: accounts whose band hysteresis kept their previous band.".into()],
        body,
    );
}

/// The view of the model's band after hysteresis.
const BANDED_VIEW_HELD: &str = "hs_held";

/// The view of the model's band after hysteresis: hs_held with
/// hysteresis, else hs_banded.
fn held_view(ctx: &Ctx) -> &'static str {
    if ctx.p.settings.band_hysteresis_points > 0 {
        BANDED_VIEW_HELD
    } else {
        "hs_banded"
    }
}

/// The view of the band written: hs_overridden with overrides, else
/// [`held_view`].
fn banded_view(ctx: &Ctx) -> &'static str {
    if ctx.p.has_overrides() {
        OVERRIDDEN_VIEW
    } else {
        held_view(ctx)
    }
}

/// Positions of the scored metrics (in [`scored`]) in name order: the
/// drivers' tie-break.
fn name_ranks(ctx: &Ctx) -> Vec<usize> {
    let scored = scored(ctx);
    let mut order: Vec<usize> = (0..scored.len()).collect();
    order.sort_by(|&a, &b| scored[a].0.name.as_bytes().cmp(scored[b].0.name.as_bytes()));
    let mut rank = vec![0; scored.len()];
    for (r, &j) in order.iter().enumerate() {
        rank[j] = r;
    }
    rank
}

/// hs_losses: each scored metric j's loss (hs_loss_j, 9 decimals; null
/// when it has no points or its group does not count) and driver key
/// (hs_key_j = the loss in 10⁻⁹ × K + K − 1 − its name's rank, K the
/// count of scored metrics; null unless the loss is positive).
fn losses(ctx: &Ctx, script: &mut Script) -> Result<()> {
    let scored = scored(ctx);
    let k = scored.len();
    let ranks = name_ranks(ctx);
    let mut list = vec!["*".to_string()];
    for (j, (m, s)) in scored.iter().enumerate() {
        let g = s.group;
        let gs = ctx.q(&group_column(&ctx.p.groups[g].name));
        let p = ctx.q(&points_column(&m.name));
        let nines = format!(
            "round(((100.0e0 - {p}) * hs_w_{g} / nullif(hs_present, 0) * {} / nullif(hs_den_{g}, 0)) * 1e9)",
            float_lit(s.weight)?
        );
        list.push(format!(
            "-- {}\n    CASE WHEN {gs} IS NOT NULL THEN {nines} / 1e9 END AS hs_loss_{j},\n    CASE WHEN {gs} IS NOT NULL AND {nines} > 0\n         THEN CAST({nines} AS BIGINT) * {k} + {} END AS hs_key_{j}",
            expr::comment_text(&m.name),
            k - 1 - ranks[j]
        ));
    }
    script.view(
        "hs_losses",
        &[
            "Losses (SPEC §4 drivers): (100 - points) · w_g/Σ present w · w_m/Σ present-in-g w_m, 9 decimals;".into(),
            "the driver key orders by loss, then by name (byte order).".into(),
        ],
        &format!(
            "SELECT\n    {}\nFROM {}",
            list.join(",\n    "),
            banded_view(ctx)
        ),
    );
    Ok(())
}

/// `greatest` of the terms (Spark's needs two or more); a null of type
/// `null_type` when there are none.
pub(super) fn greatest(terms: &[String], null_type: &str) -> String {
    match terms.len() {
        0 => format!("CAST(NULL AS {null_type})"),
        1 => terms[0].clone(),
        _ => format!("greatest({})", terms.join(", ")),
    }
}

/// hs_driver_1 .. hs_drivers: the three largest keys (hs_t1, hs_t2, hs_t3).
fn drivers(ctx: &Ctx, script: &mut Script) {
    let k = scored(ctx).len();
    let keys: Vec<String> = (0..k).map(|j| format!("hs_key_{j}")).collect();
    script.view(
        "hs_driver_1",
        &["The largest driver key.".into()],
        &format!(
            "SELECT *, {} AS hs_t1\nFROM hs_losses",
            greatest(&keys, "BIGINT")
        ),
    );
    let below = |t: &str| -> Vec<String> {
        keys.iter()
            .map(|key| format!("CASE WHEN {key} < {t} THEN {key} END"))
            .collect()
    };
    script.view(
        "hs_driver_2",
        &["The second largest driver key.".into()],
        &format!(
            "SELECT *, {} AS hs_t2\nFROM hs_driver_1",
            greatest(&below("hs_t1"), "BIGINT")
        ),
    );
    script.view(
        "hs_drivers",
        &["The third largest driver key.".into()],
        &format!(
            "SELECT *, {} AS hs_t3\nFROM hs_driver_2",
            greatest(&below("hs_t2"), "BIGINT")
        ),
    );
}

/// A string literal, or a typed NULL.
fn opt_lit(ctx: &Ctx, v: &Option<String>) -> String {
    match v {
        Some(v) => ctx.s(v),
        None => format!("CAST(NULL AS {})", ctx.d.string_type()),
    }
}

/// hs_explained: scorecard, band and color names, top_drivers, playbook.
fn explained(ctx: &Ctx, script: &mut Script) -> Result<()> {
    let p = ctx.p;
    let scored = scored(ctx);
    let k = scored.len();
    let ranks = name_ranks(ctx);
    let mut sc = String::from("CASE hs_sc");
    for (i, s) in p.scorecards.iter().enumerate() {
        sc.push_str(&format!(" WHEN {i} THEN {}", ctx.s(&s.name)));
    }
    sc.push_str(" END");
    let band_of = |column: &str, pick: &dyn Fn(&Band) -> &str| {
        let mut c = format!("CASE {column}");
        for (i, b) in p.bands.iter().enumerate() {
            c.push_str(&format!(" WHEN {i} THEN {}", ctx.s(pick(b))));
        }
        c.push_str(&format!(" ELSE {} END", ctx.s(pick(&p.unscored))));
        c
    };
    let name_of = |t: &str| -> String {
        let mut c = format!("CASE {t} % {k}");
        for (j, (m, _)) in scored.iter().enumerate() {
            c.push_str(&format!(
                " WHEN {} THEN {}",
                k - 1 - ranks[j],
                ctx.s(&m.name)
            ));
        }
        c.push_str(" END");
        c
    };
    let model = if p.has_overrides() {
        format!(
            ",\n    {} AS hs_band_model_name",
            band_of("hs_band_auto", &|b| b.name.as_str())
        )
    } else {
        String::new()
    };
    let mut playbook = format!("CASE hs_t1 % {}", k.max(1));
    for (j, (m, s)) in scored.iter().enumerate() {
        let per_sc: Vec<Option<String>> = (0..p.scorecards.len())
            .map(|si| ctx.p.playbook(m, s, Some(si)))
            .collect();
        let none = ctx.p.playbook(m, s, None);
        let value = if per_sc.iter().all(|v| *v == none) {
            opt_lit(ctx, &none)
        } else {
            let mut c = String::from("CASE hs_sc");
            for (si, v) in per_sc.iter().enumerate() {
                c.push_str(&format!(" WHEN {si} THEN {}", opt_lit(ctx, v)));
            }
            c.push_str(&format!(" ELSE {} END", opt_lit(ctx, &none)));
            c
        };
        playbook.push_str(&format!("\n        WHEN {} THEN {value}", k - 1 - ranks[j]));
    }
    playbook.push_str("\n    END");
    let (top, playbook) = if k == 0 {
        let null = format!("CAST(NULL AS {})", ctx.d.string_type());
        (null.clone(), null)
    } else {
        (
            format!(
                "CASE WHEN hs_t1 IS NOT NULL THEN concat_ws(',', {}, {}, {}) END",
                name_of("hs_t1"),
                name_of("hs_t2"),
                name_of("hs_t3")
            ),
            playbook,
        )
    };
    script.view(
        SCORED_VIEW,
        &["Names: scorecard, band, color, top_drivers (up to 3 metrics with a loss > 0), the top driver's playbook".into(),
          "(and the model's band before an override, with overrides).".into()],
        &format!(
            "SELECT *,\n    {sc} AS hs_scorecard_name,\n    {} AS hs_band_name,\n    {} AS hs_color,\n    {top} AS hs_top_drivers,\n    {playbook} AS hs_playbook{model}\nFROM hs_drivers",
            band_of("hs_band", &|b| b.name.as_str()),
            band_of("hs_band", &|b| b.color.as_str()),
        ),
    );
    Ok(())
}
