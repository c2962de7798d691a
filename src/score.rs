//! From raw metric values to an explained score, as polars expressions over
//! the one-row-per-account frame: raw values (missing → null),
//! normalisation to points, missing-value policies, scorecard choice,
//! group points, score_raw, score, band, completeness, drivers, playbook and
//! trend (SPEC §4).

use polars::lazy::dsl::sum_horizontal;
use polars::prelude::*;
use rayon::prelude::*;

use crate::config::{AccountValue, Band, Metric, MetricDef, Normalize, Operand, Pipeline, Scoring};
use crate::contract::TENURE_DAYS;
use crate::error::{Error, Result};
use crate::metrics::agg_column;

/// Column of the points of a scored metric.
pub fn points_column(metric: &str) -> String {
    format!("{metric}_points")
}

/// Column of a group's points.
pub fn group_column(group: &str) -> String {
    format!("{group}_score")
}

fn loss_column(metric: &str) -> String {
    format!("__loss_{metric}")
}

fn weight_column(group: &str) -> String {
    format!("__w_{group}")
}

fn null_f64() -> Expr {
    lit(NULL).cast(DataType::Float64)
}

fn null_str() -> Expr {
    lit(NULL).cast(DataType::String)
}

/// A float that is NaN or ±inf becomes null: "missing" in SPEC §4.
fn finite_or_null(e: Expr) -> Expr {
    when(e.clone().is_finite()).then(e).otherwise(null_f64())
}

fn account_value(v: &AccountValue) -> Expr {
    match v {
        AccountValue::TenureDays => col(TENURE_DAYS).cast(DataType::Float64),
        AccountValue::Column(c) => col(c.as_str()).cast(DataType::Float64),
    }
}

fn operand_value(metric: usize, slot: usize, o: &Operand) -> Expr {
    match o {
        Operand::Metric(n) => col(n.as_str()),
        Operand::Aggregate(_) => col(agg_column(metric, slot)),
        Operand::Account(v) => account_value(v),
    }
}

/// The raw value of a metric, from aggregation columns, account columns and
/// already computed metrics.
fn raw_value(index: usize, m: &Metric) -> Expr {
    let e = match &m.def {
        MetricDef::Aggregate(_) => col(agg_column(index, 0)),
        MetricDef::Account(v) => account_value(v),
        MetricDef::Same(n) => col(n.as_str()),
        MetricDef::Ratio(a, b) => {
            let num = operand_value(index, 0, a);
            let den = operand_value(index, 1, b);
            when(
                den.clone()
                    .eq(lit(0.0))
                    .fill_null(lit(true))
                    .or(num.clone().is_null()),
            )
            .then(null_f64())
            .otherwise(num / den)
        }
    };
    finite_or_null(e.cast(DataType::Float64))
}

/// Points of a non-null raw value x; null stays null.
fn normalized(x: Expr, n: &Normalize) -> Result<Expr> {
    Ok(match n {
        Normalize::Linear { lo, hi } => {
            ((x - lit(*lo)) / lit(hi - lo)).clip(lit(0.0), lit(1.0)) * lit(100.0)
        }
        Normalize::Steps(steps) => {
            let mut e = lit(steps[0].1);
            for (t, pts) in steps.iter() {
                e = when(x.clone().gt_eq(lit(*t))).then(lit(*pts)).otherwise(e);
            }
            when(x.is_null()).then(null_f64()).otherwise(e)
        }
        Normalize::Percentile { higher_is_better } => percentile(x, *higher_is_better),
    })
}

/// SPEC §3's percentile points of x within its scorecard's accounts (by
/// [`healthscore_kernel::percentile_points`]: one sort per metric); null
/// where x is null.
fn percentile(x: Expr, higher_is_better: bool) -> Expr {
    map_multiple(
        move |columns: &mut [Column]| {
            let x = columns[0].as_materialized_series().f64()?.rechunk();
            let sc = columns[1].cast(&DataType::UInt32)?;
            let sc = sc.as_materialized_series().u32()?.rechunk();
            let (x, sc) = (
                crate::kernel::only_chunk(&x)?,
                crate::kernel::only_chunk(&sc)?,
            );
            let points = healthscore_kernel::percentile_points(
                x.values().as_slice(),
                x.validity().map(crate::kernel::bits),
                sc.values().as_slice(),
                sc.validity().map(crate::kernel::bits),
                higher_is_better,
            );
            Ok(crate::kernel::float_column(
                columns[0].name().clone(),
                points,
                x.validity().cloned(),
            ))
        },
        [x, col(SCORECARD_INDEX)],
        |_, fields| Ok(Field::new(fields[0].name().clone(), DataType::Float64)),
    )
}

fn points(m: &Metric, s: &Scoring) -> Result<Expr> {
    let x = col(m.name.as_str());
    let p = normalized(x.clone(), &s.normalize)?.cast(DataType::Float64);
    Ok(match s.missing {
        None => p,
        Some(v) => when(x.is_null()).then(lit(v)).otherwise(p),
    })
}

/// Per-scorecard constant as an expression on the `scorecard` column.
fn per_scorecard<T: Clone>(
    p: &Pipeline,
    value: impl Fn(usize) -> T,
    to_lit: impl Fn(T) -> Expr,
    otherwise: Expr,
) -> Expr {
    let mut e = otherwise;
    for i in (0..p.scorecards.len()).rev() {
        e = when(col(SCORECARD_INDEX).eq(lit(i as u32)))
            .then(to_lit(value(i)))
            .otherwise(e);
    }
    e
}

/// Position of the account's scorecard in the pipeline (first match
/// wins; null when none matches). Integer keys keep the per-scorecard
/// choices and windows off string comparisons.
const SCORECARD_INDEX: &str = "__sc";

fn scorecard_index(p: &Pipeline) -> Expr {
    let mut e = lit(NULL).cast(DataType::UInt32);
    for (i, sc) in p.scorecards.iter().enumerate().rev() {
        e = match &sc.when {
            None => lit(i as u32),
            Some(pred) => when(pred.expr.clone().fill_null(lit(false)))
                .then(lit(i as u32))
                .otherwise(e),
        };
    }
    e
}

/// `values[index]` per row (null for a null index): one gather instead of
/// a chain of string-valued conditionals.
fn pick_str(values: Vec<Option<String>>, index: Expr) -> Expr {
    lit(Series::new("values".into(), values)).gather(index, true)
}

fn weighted_mean(parts: Vec<(Expr, Expr)>) -> Result<Expr> {
    // parts: (value, weight); only non-null values count.
    let num: Vec<Expr> = parts
        .iter()
        .map(|(v, w)| {
            when(v.clone().is_not_null())
                .then(w.clone() * v.clone())
                .otherwise(lit(0.0))
        })
        .collect();
    let den: Vec<Expr> = parts
        .iter()
        .map(|(v, w)| {
            when(v.clone().is_not_null())
                .then(w.clone())
                .otherwise(lit(0.0))
        })
        .collect();
    let num = sum_horizontal(num, true).map_err(|e| Error::polars("weighted mean", e))?;
    let den = sum_horizontal(den, true).map_err(|e| Error::polars("weighted mean", e))?;
    Ok(when(den.clone().gt(lit(0.0)))
        .then(num / den)
        .otherwise(null_f64()))
}

/// The band's position in `bands` (the first whose range holds the
/// score), or `bands.len()` for the unscored band.
fn band_index(bands: &[Band]) -> Expr {
    let mut e = lit(bands.len() as u32);
    for (i, b) in bands.iter().enumerate().rev() {
        e = when(
            col("score")
                .gt_eq(lit(b.min))
                .and(col("score").lt_eq(lit(b.max))),
        )
        .then(lit(i as u32))
        .otherwise(e);
    }
    e
}

/// `pick` of each row's band, from its position `index` in `bands` then
/// the unscored band.
fn band_expr(bands: &[Band], unscored: &Band, pick: impl Fn(&Band) -> String, index: Expr) -> Expr {
    let values = bands
        .iter()
        .chain(std::iter::once(unscored))
        .map(|b| Some(pick(b)))
        .collect();
    pick_str(values, index)
}

/// Each row's scorecard name from its position `index` (null past the
/// last: no scorecard).
fn scorecard_name(p: &Pipeline, index: Expr) -> Expr {
    let names = p
        .scorecards
        .iter()
        .map(|sc| Some(sc.name.clone()))
        .collect();
    pick_str(names, index)
}

/// Whether a metric's points rank it among all accounts of its scorecard
/// (so need every account at once).
fn ranked(s: &Scoring) -> bool {
    matches!(s.normalize, Normalize::Percentile { .. })
}

/// Which metrics' raw values [`global_scores`] computes: those of the
/// percentile-ranked metrics, of the metrics a scorecard's condition
/// reads, and of the metrics these read (by position in `p.metrics`).
fn global_metrics(p: &Pipeline) -> Vec<bool> {
    let position = |name: &str| p.metrics.iter().position(|m| m.name == name);
    let mut global = vec![false; p.metrics.len()];
    let mut pending: Vec<usize> = p
        .metrics
        .iter()
        .enumerate()
        .filter(|(_, m)| m.scoring.as_ref().is_some_and(ranked))
        .map(|(i, _)| i)
        .chain(
            p.scorecards
                .iter()
                .filter_map(|sc| sc.when.as_ref())
                .flat_map(|w| w.columns.iter().filter_map(|c| position(c))),
        )
        .collect();
    while let Some(i) = pending.pop() {
        if !global[i] {
            global[i] = true;
            pending.extend(
                p.metrics[i]
                    .def
                    .metrics_read()
                    .into_iter()
                    .filter_map(position),
            );
        }
    }
    global
}

/// Raw values of the metrics for which `wanted` holds, operands before the
/// metrics that use them.
fn raw_values(p: &Pipeline, mut lf: LazyFrame, wanted: impl Fn(usize) -> bool) -> LazyFrame {
    for &i in p.eval_order.iter().filter(|&&i| wanted(i)) {
        let m = &p.metrics[i];
        lf = lf.with_column(raw_value(i, m).alias(m.name.as_str()));
    }
    lf
}

/// The scoring columns that need every account at once: the scorecard's
/// position and the points of percentile-ranked metrics, with the raw
/// values they read. [`row_scores`] then needs only each row's own
/// values, so it may run on any slice of these rows.
pub fn global_scores(p: &Pipeline, wide: LazyFrame) -> Result<LazyFrame> {
    let global = global_metrics(p);
    let mut lf = raw_values(p, wide, |i| global[i]);
    lf = lf.with_column(scorecard_index(p).alias(SCORECARD_INDEX));
    let mut ranks = Vec::new();
    for m in &p.metrics {
        if let Some(s) = m.scoring.as_ref().filter(|s| ranked(s)) {
            ranks.push(points(m, s)?.alias(points_column(&m.name)));
        }
    }
    if !ranks.is_empty() {
        lf = lf.with_columns(ranks);
    }
    Ok(lf)
}

/// The rest of the scoring columns over [`global_scores`]' frame, row by
/// row: the other raw values, the scorecard's name, the other points,
/// group points, score_raw, score, band, color, completeness and losses.
pub fn row_scores(p: &Pipeline, global: LazyFrame) -> Result<LazyFrame> {
    let computed = global_metrics(p);
    let mut lf = raw_values(p, global, |i| !computed[i]);
    lf = lf.with_column(scorecard_name(p, col(SCORECARD_INDEX)).alias("scorecard"));

    // Points.
    let mut point_exprs = Vec::new();
    for m in &p.metrics {
        if let Some(s) = m.scoring.as_ref().filter(|s| !ranked(s)) {
            point_exprs.push(points(m, s)?.alias(points_column(&m.name)));
        }
    }
    if !point_exprs.is_empty() {
        lf = lf.with_columns(point_exprs);
    }

    // Group points and the scorecard's group weights.
    let mut group_exprs = Vec::new();
    for (gi, g) in p.groups.iter().enumerate() {
        let parts: Vec<(Expr, Expr)> = p
            .group_metrics(gi)
            .map(|(m, s)| (col(points_column(&m.name)), lit(s.weight)))
            .collect();
        let gp = if parts.is_empty() {
            null_f64()
        } else {
            weighted_mean(parts)?
        };
        group_exprs.push(gp.alias(format!("__g_{}", g.name)));
        group_exprs.push(
            per_scorecard(p, |si| p.scorecards[si].weights[gi], lit, lit(0.0))
                .alias(weight_column(&g.name)),
        );
    }
    lf = lf.with_columns(group_exprs);
    let used_group = |g: &str| {
        when(col(weight_column(g)).gt(lit(0.0)))
            .then(col(format!("__g_{g}")))
            .otherwise(null_f64())
    };
    lf = lf.with_columns(
        p.groups
            .iter()
            .map(|g| used_group(&g.name).alias(group_column(&g.name)))
            .collect::<Vec<_>>(),
    );

    // score_raw, score, band, color.
    let parts: Vec<(Expr, Expr)> = p
        .groups
        .iter()
        .map(|g| (col(group_column(&g.name)), col(weight_column(&g.name))))
        .collect();
    let present_weight = sum_horizontal(
        p.groups
            .iter()
            .map(|g| {
                when(col(group_column(&g.name)).is_not_null())
                    .then(col(weight_column(&g.name)))
                    .otherwise(lit(0.0))
            })
            .collect::<Vec<_>>(),
        true,
    )
    .map_err(|e| Error::polars("present weight", e))?;
    lf = lf.with_columns([
        weighted_mean(parts)?.alias("score_raw"),
        present_weight.alias("__present_w"),
    ]);
    lf = lf.with_column(
        col("score_raw")
            .round(9, RoundMode::HalfAwayFromZero)
            .round(0, RoundMode::HalfAwayFromZero)
            .cast(DataType::Int32)
            .alias("score"),
    );
    lf = lf.with_column(band_index(&p.bands).alias("__band"));
    lf = lf.with_columns([
        band_expr(&p.bands, &p.unscored, |b| b.name.clone(), col("__band")).alias("band"),
        band_expr(&p.bands, &p.unscored, |b| b.color.clone(), col("__band")).alias("color"),
    ]);

    // Completeness: share of the score resting on observed data.
    let mut comp_num = Vec::new();
    let mut comp_den = Vec::new();
    for (gi, g) in p.groups.iter().enumerate() {
        let metrics: Vec<(&Metric, &Scoring)> = p.group_metrics(gi).collect();
        let total: f64 = metrics.iter().map(|(_, s)| s.weight).sum();
        let w = col(weight_column(&g.name));
        let observed = if metrics.is_empty() {
            lit(0.0)
        } else {
            sum_horizontal(
                metrics
                    .iter()
                    .map(|(m, s)| {
                        when(col(m.name.as_str()).is_not_null())
                            .then(lit(s.weight))
                            .otherwise(lit(0.0))
                    })
                    .collect::<Vec<_>>(),
                true,
            )
            .map_err(|e| Error::polars("completeness", e))?
                / lit(total)
        };
        comp_num.push(
            when(w.clone().gt(lit(0.0)))
                .then(w.clone() * observed)
                .otherwise(lit(0.0)),
        );
        comp_den.push(when(w.clone().gt(lit(0.0))).then(w).otherwise(lit(0.0)));
    }
    let comp_num = sum_horizontal(comp_num, true).map_err(|e| Error::polars("completeness", e))?;
    let comp_den = sum_horizontal(comp_den, true).map_err(|e| Error::polars("completeness", e))?;
    lf = lf.with_column(
        when(col("score").is_null().or(comp_den.clone().eq(lit(0.0))))
            .then(lit(0.0))
            .otherwise(comp_num / comp_den)
            .alias("completeness"),
    );

    // Losses of present metrics in used, present groups.
    let mut losses = Vec::new();
    for (gi, g) in p.groups.iter().enumerate() {
        let present_in_group = sum_horizontal(
            p.group_metrics(gi)
                .map(|(m, s)| {
                    when(col(points_column(&m.name)).is_not_null())
                        .then(lit(s.weight))
                        .otherwise(lit(0.0))
                })
                .collect::<Vec<_>>(),
            true,
        );
        let Ok(present_in_group) = present_in_group else {
            continue;
        };
        for (m, s) in p.group_metrics(gi) {
            let pts = col(points_column(&m.name));
            let loss = (lit(100.0) - pts.clone()) * col(weight_column(&g.name))
                / col("__present_w")
                * lit(s.weight)
                / present_in_group.clone();
            losses.push(
                when(
                    pts.is_not_null()
                        .and(col(group_column(&g.name)).is_not_null()),
                )
                .then(loss.round(9, RoundMode::HalfAwayFromZero))
                .otherwise(null_f64())
                .alias(loss_column(&m.name)),
            );
        }
    }
    if !losses.is_empty() {
        lf = lf.with_columns(losses);
    }
    Ok(lf)
}

/// The playbook of a metric as the top driver, per scorecard: the
/// scorecard's override for the metric, then for its group, then the
/// metric's own, then the group's.
/// The playbook of a metric under scorecard `si` (None: no scorecard
/// matched): the scorecard's own for the metric, then for its group, then
/// the metric's or its group's.
fn playbook_for(p: &Pipeline, m: &Metric, s: &Scoring, si: Option<usize>) -> Option<String> {
    let group = &p.groups[s.group];
    let default = m.playbook_or(&group.playbook);
    match si {
        Some(si) => {
            let sc = &p.scorecards[si];
            sc.playbooks
                .get(&m.name)
                .or_else(|| sc.playbooks.get(&group.name))
                .cloned()
                .or(default)
        }
        None => default,
    }
}

/// The playbook of the metric of rank `rank` (in `metrics`) under each
/// row's scorecard, from a table of (metric, scorecard or none).
fn playbook_of(p: &Pipeline, metrics: &[(&Metric, &Scoring)], rank: Expr) -> Expr {
    let width = p.scorecards.len() as i64 + 1;
    let table = metrics
        .iter()
        .flat_map(|(m, s)| {
            (0..p.scorecards.len())
                .map(Some)
                .chain(std::iter::once(None))
                .map(move |si| playbook_for(p, m, s, si))
        })
        .collect();
    let sc = col(SCORECARD_INDEX)
        .cast(DataType::Int64)
        .fill_null(lit(width - 1));
    pick_str(table, rank * lit(width) + sc)
}

impl Metric {
    fn playbook_or(&self, group: &Option<String>) -> Option<String> {
        self.scoring
            .as_ref()
            .and_then(|s| s.playbook.clone())
            .or_else(|| group.clone())
    }
}

/// Rows per parallel task of the drivers' kernel.
const DRIVER_ROWS_PER_TASK: usize = 64 * 1024;

/// Each row's three largest positive losses as one code (SPEC §4's
/// ranking by [`healthscore_kernel::top_losses`]): a column-at-a-time
/// kernel, in the plan as an elementwise function of the loss columns.
fn top_losses(losses: Vec<Expr>) -> Expr {
    map_multiple(
        move |columns: &mut [Column]| {
            let rows = columns.first().map_or(0, Column::len);
            let floats: Vec<Float64Chunked> = columns
                .iter()
                .map(|c| Ok(c.as_materialized_series().f64()?.rechunk().into_owned()))
                .collect::<PolarsResult<_>>()?;
            let arrays = floats
                .iter()
                .map(crate::kernel::only_chunk)
                .collect::<PolarsResult<Vec<_>>>()?;
            let slices: Vec<healthscore_kernel::Floats<'_>> = arrays
                .iter()
                .map(|a| (a.values().as_slice(), a.validity().map(crate::kernel::bits)))
                .collect();
            let mut codes = vec![0u64; rows];
            codes
                .par_chunks_mut(DRIVER_ROWS_PER_TASK)
                .enumerate()
                .for_each(|(k, out)| {
                    healthscore_kernel::top_losses_into(&slices, k * DRIVER_ROWS_PER_TASK, out)
                });
            Ok(UInt64Chunked::from_vec("top".into(), codes).into_column())
        },
        losses,
        |_, fields| Ok(Field::new(fields[0].name().clone(), DataType::UInt64)),
    )
}

/// The position of the `k`-th driver out of a [`top_losses`] code (null:
/// none).
fn driver_rank(code: Expr, k: u32) -> Expr {
    let bits = healthscore_kernel::DRIVER_BITS;
    let field = (code / lit(1u64 << (bits * k))) % lit(1u64 << bits);
    when(field.clone().eq(lit(0u64)))
        .then(lit(NULL).cast(DataType::Int64))
        .otherwise(field.cast(DataType::Int64) - lit(1i64))
}

/// top_drivers and playbook: the three largest losses, ties by name.
pub fn with_drivers(p: &Pipeline, scored: LazyFrame) -> Result<LazyFrame> {
    let mut scored_metrics: Vec<(&Metric, &Scoring)> = p
        .metrics
        .iter()
        .filter_map(|m| m.scoring.as_ref().map(|s| (m, s)))
        .collect();
    if scored_metrics.is_empty() {
        return Ok(scored.with_columns([
            null_str().alias("top_drivers"),
            null_str().alias("playbook"),
        ]));
    }
    scored_metrics.sort_by(|a, b| a.0.name.as_bytes().cmp(b.0.name.as_bytes()));
    let losses: Vec<Expr> = scored_metrics
        .iter()
        .map(|(m, _)| col(loss_column(&m.name)))
        .collect();
    // The top three losses per row: a column-at-a-time kernel, in the plan
    // as an elementwise function of the loss columns.
    let lf = scored.with_column(top_losses(losses).alias("__top"));
    let lf = lf.with_columns(
        (0..3)
            .map(|k| driver_rank(col("__top"), k).alias(format!("__r{}", k + 1)))
            .collect::<Vec<_>>(),
    );
    let names: Vec<Option<String>> = scored_metrics
        .iter()
        .map(|(m, _)| Some(m.name.clone()))
        .collect();
    let name = |k: &str| pick_str(names.clone(), col(k));
    let lf = lf.with_columns([
        name("__r1").alias("__d1"),
        name("__r2").alias("__d2"),
        name("__r3").alias("__d3"),
        playbook_of(p, &scored_metrics, col("__r1")).alias("playbook"),
    ]);
    Ok(lf.with_column(
        when(col("__d1").is_null())
            .then(null_str())
            .otherwise(concat_str(
                [col("__d1"), col("__d2"), col("__d3")],
                ",",
                true,
            ))
            .alias("top_drivers"),
    ))
}

/// The previous snapshot's columns for [`trend_columns`] (prev_score,
/// prev_band, its model version, and whether the account was in it;
/// customer_id, prev_score, prev_band, prev_model_version of `prev`, none
/// when there is no previous snapshot: every trend is then `new`) beside
/// each account, in the accounts' order.
pub fn join_previous(scored: LazyFrame, prev: Option<LazyFrame>) -> LazyFrame {
    let prev = match prev {
        Some(prev) => prev,
        None => DataFrame::new_infer_height(vec![
            Column::new_empty("customer_id".into(), &DataType::String),
            Column::new_empty("prev_score".into(), &DataType::Int32),
            Column::new_empty("prev_band".into(), &DataType::String),
            Column::new_empty("__prev_model".into(), &DataType::String),
        ])
        .map(|df| df.lazy())
        .unwrap_or_else(|_| scored.clone().select([col("customer_id")]).limit(0)),
    };
    let prev = prev.with_column(lit(true).alias("__has_prev"));
    // The accounts' order (by customer_id) is kept: the output needs no sort.
    scored.join(
        prev,
        [col("customer_id")],
        [col("customer_id")],
        JoinArgs {
            maintain_order: MaintainOrderJoin::Left,
            ..JoinArgs::new(JoinType::Left)
        },
    )
}

/// score_change and trend, row by row, from [`join_previous`]' columns.
pub fn trend_columns(joined: LazyFrame, threshold: i32, model_version: &str) -> LazyFrame {
    let change = (col("score") - col("prev_score")).cast(DataType::Int32);
    let rebased = col("__prev_model")
        .neq(lit(model_version))
        .fill_null(lit(false));
    joined
        .with_column(
            when(col("__has_prev").is_null())
                .then(lit(NULL).cast(DataType::Int32))
                .when(rebased.clone())
                .then(lit(NULL).cast(DataType::Int32))
                .otherwise(change.clone())
                .alias("score_change"),
        )
        .with_column(
            when(col("__has_prev").is_null())
                .then(lit("new"))
                .when(rebased)
                .then(lit("rebased"))
                .when(col("score_change").gt_eq(lit(threshold)))
                .then(lit("up"))
                .when(col("score_change").lt_eq(lit(-threshold)))
                .then(lit("down"))
                .otherwise(lit("flat"))
                .alias("trend"),
        )
}

/// The scores table's columns in SPEC §6 order.
pub fn output_columns(p: &Pipeline) -> Vec<String> {
    let mut cols: Vec<String> = crate::config::FIXED_OUTPUT_COLUMNS
        .iter()
        .map(|s| s.to_string())
        .collect();
    cols.extend(p.groups.iter().map(|g| group_column(&g.name)));
    for m in &p.metrics {
        cols.push(m.name.clone());
        if m.scoring.is_some() {
            cols.push(points_column(&m.name));
        }
    }
    cols.push("model_version".into());
    cols.extend(p.accounts.pass_through.iter().cloned());
    cols
}

/// Columns of the long metrics table, in order (a fixed shape: adding a
/// metric adds rows, never columns).
pub const METRICS_COLUMNS: [&str; 8] = [
    "customer_id",
    "scorecard",
    "group",
    "metric",
    "raw",
    "points",
    "loss",
    "model_version",
];

/// The loss columns kept beside the output columns, for the long metrics
/// table.
fn loss_columns(p: &Pipeline) -> Vec<String> {
    p.metrics
        .iter()
        .filter(|m| m.scoring.is_some())
        .map(|m| loss_column(&m.name))
        .collect()
}

/// The scores output columns plus every scored metric's loss (null when
/// the metric did not count towards the score), in the accounts' order: one
/// collect yields both the scores table and the long metrics table.
pub fn select_output_with_losses(p: &Pipeline, lf: LazyFrame) -> LazyFrame {
    let losses: Vec<Expr> = loss_columns(p)
        .into_iter()
        .map(|c| col(c.as_str()).cast(DataType::Float64))
        .collect();
    let mut exprs = output_exprs(p);
    exprs.extend(losses);
    exprs.push(col(SCORECARD_INDEX));
    lf.select(exprs)
}

/// A text column whose values all come from `names` (distinct), held as
/// codes into them: Parquet writes it as a dictionary of those names
/// without hashing every row.
fn names_dtype<'a>(names: impl IntoIterator<Item = &'a str>) -> DataType {
    let mut distinct: Vec<&str> = Vec::new();
    for n in names {
        if !distinct.contains(&n) {
            distinct.push(n);
        }
    }
    let categories = FrozenCategories::new(distinct).expect("distinct names");
    DataType::from_frozen_categories(categories)
}

/// `names[index]` per row as a [`names_dtype`] column.
fn pick_name(names: &[String], index: Expr) -> Expr {
    let dtype = names_dtype(names.iter().map(String::as_str));
    let values = Series::new("values".into(), names)
        .cast(&dtype)
        .expect("names of the names dtype");
    lit(values).gather(index, true)
}

/// `name` (one of `dtype`'s names) on every row.
fn constant_name(name: &str, dtype: &DataType) -> Expr {
    lit(name).cast(dtype.clone())
}

/// The summary table (one row per scorecard and band present, in the
/// pipeline's order of scorecards, then none, and of bands, then the
/// unscored band: scorecard, band, accounts, mean_score, mrr, share) of
/// [`select_output_with_losses`]' rows. Accounts are grouped by one
/// integer made of the positions of their scorecard and band, not by their
/// names.
pub fn summary(p: &Pipeline, scored: &DataFrame) -> PolarsResult<DataFrame> {
    let total = scored.height().max(1) as f64;
    let mrr = match &p.settings.summary_mrr_metric {
        Some(m) => col(m.as_str()).sum(),
        None => lit(NULL).cast(DataType::Float64).first(),
    };
    // One key: scorecard position (none: after the last) × (bands + 1) +
    // band position (unscored: after the last).
    let width = p.bands.len() as u32 + 1;
    scored
        .clone()
        .lazy()
        .with_column(
            (col(SCORECARD_INDEX).fill_null(lit(p.scorecards.len() as u32)) * lit(width)
                + band_index(&p.bands))
            .alias("__key"),
        )
        .group_by([col("__key")])
        .agg([
            len().cast(DataType::Int64).alias("accounts"),
            col("score")
                .cast(DataType::Float64)
                .mean()
                .alias("mean_score"),
            mrr.cast(DataType::Float64).alias("mrr"),
            (len().cast(DataType::Float64) / lit(total)).alias("share"),
        ])
        .sort(["__key"], SortMultipleOptions::default())
        .select([
            scorecard_name(p, col("__key") / lit(width)).alias("scorecard"),
            band_expr(
                &p.bands,
                &p.unscored,
                |b| b.name.clone(),
                col("__key") % lit(width),
            )
            .alias("band"),
            col("accounts"),
            col("mean_score"),
            col("mrr"),
            col("share"),
        ])
        .collect()
}

/// The scores table (SPEC §6 columns) out of [`select_output_with_losses`].
pub fn scores_of(p: &Pipeline, with_losses: &DataFrame) -> PolarsResult<DataFrame> {
    with_losses.select(output_columns(p))
}

/// The long metrics table: one row per account and scored metric
/// (customer_id, scorecard, group, metric, raw, points, loss,
/// model_version), as one lazy frame per metric in pipeline order (accounts
/// by customer_id within a metric). Each is a cheap projection of
/// `with_losses`, taken only when written, so the whole long table (13 ×
/// the accounts for the default pipeline) never sits in memory at once.
pub fn long_metrics(p: &Pipeline, with_losses: &DataFrame) -> Result<Vec<LazyFrame>> {
    let scored: Vec<(&Metric, &Scoring)> = p
        .metrics
        .iter()
        .filter_map(|m| m.scoring.as_ref().map(|s| (m, s)))
        .collect();
    if scored.is_empty() {
        let empty: Vec<Column> = METRICS_COLUMNS
            .iter()
            .map(|c| {
                let dt = match *c {
                    "raw" | "points" | "loss" => DataType::Float64,
                    _ => DataType::String,
                };
                Column::new_empty((*c).into(), &dt)
            })
            .collect();
        return Ok(vec![DataFrame::new_infer_height(empty)
            .expect("empty columns of one height")
            .lazy()]);
    }
    // Every frame of the table has the same column types (they may share
    // a part): each text column's names are all the pipeline's.
    let scorecards: Vec<String> = p.scorecards.iter().map(|sc| sc.name.clone()).collect();
    let groups = names_dtype(p.groups.iter().map(|g| g.name.as_str()));
    let metrics = names_dtype(p.metrics.iter().map(|m| m.name.as_str()));
    let model_version = p.model_version();
    let model_versions = names_dtype([model_version.as_str()]);
    // The text columns as codes (a scorecard position, constants): written
    // as Parquet dictionaries without a hash per row. Those every part
    // repeats (scorecard, model_version, a group's name) are made once, so
    // their pages are encoded once (see `parquet_file::PageCache`).
    let group_column = |g: usize| format!("__long_group_{g}");
    let mut shared = vec![
        pick_name(&scorecards, col(SCORECARD_INDEX)).alias("__long_scorecard"),
        constant_name(&model_version, &model_versions).alias("__long_model_version"),
    ];
    shared.extend(
        p.groups
            .iter()
            .enumerate()
            .map(|(g, group)| constant_name(&group.name, &groups).alias(group_column(g))),
    );
    // Beside the rows' own columns, untouched, and cut as they are (their
    // chunks are the scores' row groups, whose pages the parts reuse: a
    // frame of unevenly cut columns would be copied whole to align them).
    let chunks: Vec<usize> = with_losses
        .column(SCORECARD_INDEX)
        .map(|c| c.as_materialized_series().chunk_lengths().collect())
        .map_err(|e| Error::polars("the long metrics table", e))?;
    let with_shared = with_losses
        .select([SCORECARD_INDEX])
        .and_then(|index| index.lazy().select(shared).collect())
        .and_then(|shared| cut_like(shared, &chunks))
        .and_then(|shared| with_losses.hstack(shared.columns()))
        .map_err(|e| Error::polars("the long metrics table", e))?;
    Ok(scored
        .into_iter()
        .map(|(m, s)| {
            with_shared.clone().lazy().select([
                col("customer_id"),
                col("__long_scorecard").alias("scorecard"),
                col(group_column(s.group)).alias("group"),
                constant_name(&m.name, &metrics).alias("metric"),
                col(m.name.as_str()).cast(DataType::Float64).alias("raw"),
                col(points_column(&m.name))
                    .cast(DataType::Float64)
                    .alias("points"),
                col(loss_column(&m.name)).alias("loss"),
                col("__long_model_version").alias("model_version"),
            ])
        })
        .collect())
}

/// `df`'s columns held as series (a constant column is otherwise made
/// anew each time it is read, so its row groups would not share their
/// data) in chunks of `lengths` rows.
fn cut_like(df: DataFrame, lengths: &[usize]) -> PolarsResult<DataFrame> {
    let columns = df
        .columns()
        .iter()
        .map(|c| {
            let whole = c.as_materialized_series().rechunk();
            let mut cut = whole.slice(0, 0);
            let mut start = 0;
            for &len in lengths {
                cut.append(&whole.slice(start as i64, len))?;
                start += len;
            }
            Ok(Column::from(cut))
        })
        .collect::<PolarsResult<Vec<_>>>()?;
    DataFrame::new_infer_height(columns)
}

/// Selects the output columns in order with their contract types, rows in
/// the accounts' order (by customer_id: see `run::sorted_by_customer`).
pub fn select_output(p: &Pipeline, lf: LazyFrame) -> LazyFrame {
    lf.select(output_exprs(p))
}

/// The output columns as expressions with their contract types.
fn output_exprs(p: &Pipeline) -> Vec<Expr> {
    let mut exprs: Vec<Expr> = Vec::new();
    for c in output_columns(p) {
        let e = col(c.as_str());
        let e = match c.as_str() {
            "customer_id" | "scorecard" | "band" | "color" | "top_drivers" | "playbook"
            | "prev_band" | "trend" => e.cast(DataType::String),
            "customer_name" => col("name").cast(DataType::String).alias("customer_name"),
            "segment" => e.cast(DataType::String),
            "score" | "prev_score" | "score_change" => e.cast(DataType::Int32),
            "model_version" => lit(p.model_version()).alias("model_version"),
            _ if p.accounts.pass_through.contains(&c) => e,
            _ => e.cast(DataType::Float64),
        };
        exprs.push(e);
    }
    exprs
}
