//! From raw metric values to an explained score over the
//! one-row-per-account frame (SPEC §4): raw values (missing → null) and the
//! scorecard's choice as polars expressions, percentile points by one sort
//! per metric, then the rest of the numbers in one kernel pass per row
//! (`RowScoring`: points, missing-value policies, group points,
//! score_raw, score, band, completeness, losses, the top three drivers),
//! and the names of scorecard, band, color, drivers, playbook and trend as
//! expressions again.

pub mod changes;
pub mod plan;
pub mod previous;

pub(crate) use previous::matching_rows;
pub use previous::{trend_columns, with_previous};

use healthscore_kernel as hk;
use polars::prelude::*;
use polars_arrow::array::PrimitiveArray;
use polars_arrow::bitmap::Bitmap;
use rayon::prelude::*;

use crate::aggregate::expr::agg_column;
use crate::contract::TENURE_DAYS;
use crate::error::{Error, Result};
use crate::pipeline::{
    AccountValue, Band, Metric, MetricDef, Normalize, Operand, Pipeline, Scoring,
};

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

/// SPEC §3's percentile points of x within its scorecard's accounts (by
/// [`healthscore_kernel::percentile_points`]: one sort per metric); null
/// where x is null.
fn percentile(x: Expr, higher_is_better: bool) -> Expr {
    // apply_multiple, not map_multiple: polars takes map_multiple's
    // functions for elementwise ones and may split the rows between
    // threads, calling the function on each part (a rank within each part
    // is wrong); a groupwise function gets every row of its input at once.
    apply_multiple(
        move |columns: &mut [Column]| {
            let x = columns[0].as_materialized_series().f64()?.rechunk();
            let sc = columns[1].cast(&DataType::UInt32)?;
            let sc = sc.as_materialized_series().u32()?.rechunk();
            let (x, sc) = (
                crate::arrow_views::only_chunk(&x)?,
                crate::arrow_views::only_chunk(&sc)?,
            );
            let points = healthscore_kernel::percentile_points(
                x.values().as_slice(),
                x.validity().map(crate::arrow_views::bits),
                sc.values().as_slice(),
                sc.validity().map(crate::arrow_views::bits),
                higher_is_better,
            );
            Ok(crate::arrow_views::float_column(
                columns[0].name().clone(),
                points,
                x.validity().cloned(),
            ))
        },
        [x, col(SCORECARD_INDEX)],
        |_, fields| Ok(Field::new(fields[0].name().clone(), DataType::Float64)),
        false,
    )
}

/// The points of a percentile-ranked metric `m`: its percentile points,
/// or `missing` where its raw value is null (None: null). The other
/// metrics' points come from the row-scoring kernel.
fn ranked_points(m: &Metric, higher_is_better: bool, missing: Option<f64>) -> Expr {
    let x = col(m.name.as_str());
    let p = percentile(x.clone(), higher_is_better);
    match missing {
        None => p,
        Some(v) => when(x.is_null()).then(lit(v)).otherwise(p),
    }
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

/// Raw values of every metric, operands before the metrics that use
/// them: the metrics that read no other metric in one step (evaluated in
/// parallel), then those that read only these, and so on.
fn raw_values(p: &Pipeline, mut lf: LazyFrame) -> LazyFrame {
    for level in raw_value_levels(p) {
        let exprs: Vec<Expr> = level
            .into_iter()
            .map(|i| raw_value(i, &p.metrics[i]).alias(p.metrics[i].name.as_str()))
            .collect();
        lf = lf.with_columns(exprs);
    }
    lf
}

/// The metrics (positions in `p.metrics`) by the length of the longest
/// chain of metrics they read: level 0 reads none, level n + 1 reads
/// metrics of level n at most.
fn raw_value_levels(p: &Pipeline) -> Vec<Vec<usize>> {
    let position = |name: &str| p.metrics.iter().position(|m| m.name == name);
    let mut level = vec![0usize; p.metrics.len()];
    let mut levels: Vec<Vec<usize>> = Vec::new();
    // eval_order puts every metric after those it reads.
    for &i in &p.eval_order {
        level[i] = p.metrics[i]
            .def
            .metrics_read()
            .into_iter()
            .filter_map(position)
            .map(|j| level[j] + 1)
            .max()
            .unwrap_or(0);
        if levels.len() <= level[i] {
            levels.resize_with(level[i] + 1, Vec::new);
        }
        levels[level[i]].push(i);
    }
    levels
}

/// The scoring columns computed over every account at once: raw values,
/// the scorecard's position, the points of percentile-ranked metrics
/// (which rank all of a scorecard's accounts), then in one kernel pass
/// over all rows (`RowScoring`, parallel) the other points, group
/// points, score_raw, score, band position, completeness, losses and the
/// top three drivers.
/// [`row_scores`] and [`with_drivers`] then need only each row's own
/// values, so they may run on any slice of these rows.
pub fn global_scores(p: &Pipeline, wide: LazyFrame) -> LazyFrame {
    let mut lf = raw_values(p, wide);
    lf = lf.with_column(scorecard_index(p).alias(SCORECARD_INDEX));
    let ranks: Vec<Expr> = scored_metrics(p)
        .into_iter()
        .filter_map(|(m, s)| match s.normalize {
            Normalize::Percentile { higher_is_better } => {
                Some(ranked_points(m, higher_is_better, s.missing).alias(points_column(&m.name)))
            }
            _ => None,
        })
        .collect();
    if !ranks.is_empty() {
        lf = lf.with_columns(ranks);
    }
    RowScoring::new(p).apply(lf)
}

/// The text columns of the scores over [`global_scores`]' frame, row by
/// row: the scorecard's name and the band's name and color.
pub fn row_scores(p: &Pipeline, global: LazyFrame) -> LazyFrame {
    let (band_index, held) = changes::held_band(p, BAND_INDEX, &p.model_version());
    let lf = global.with_columns([band_index.alias(BAND_INDEX), held.alias(HELD)]);
    let lf = if p.has_overrides() {
        with_override(p, lf)
    } else {
        lf
    };
    lf.with_columns([
        scorecard_name(p, col(SCORECARD_INDEX)).alias("scorecard"),
        band_expr(&p.bands, &p.unscored, |b| b.name.clone(), col(BAND_INDEX)).alias("band"),
        band_expr(&p.bands, &p.unscored, |b| b.color.clone(), col(BAND_INDEX)).alias("color"),
    ])
}

/// An applied override (SPEC §11) sets the band position (so the band,
/// its colour and the summary follow it); `band_model` keeps the model's
/// band, after hysteresis.
fn with_override(p: &Pipeline, lf: LazyFrame) -> LazyFrame {
    let index = band_position(p, col(crate::input::overrides::OVERRIDE_BAND));
    lf.with_column(
        band_expr(&p.bands, &p.unscored, |b| b.name.clone(), col(BAND_INDEX)).alias("band_model"),
    )
    .with_column(
        when(index.clone().is_not_null())
            .then(index)
            .otherwise(col(BAND_INDEX))
            .alias(BAND_INDEX),
    )
}

/// The position of the band named `name` among the pipeline's bands, the
/// unscored band last (the kernel's band positions); null for any other
/// name.
pub(crate) fn band_position(p: &Pipeline, name: Expr) -> Expr {
    let names = p.bands.iter().chain(std::iter::once(&p.unscored));
    let mut index = lit(NULL).cast(DataType::UInt32);
    for (i, b) in names.enumerate().collect::<Vec<_>>().into_iter().rev() {
        index = when(name.clone().eq(lit(b.name.as_str())))
            .then(lit(i as u32))
            .otherwise(index);
    }
    index
}

/// The kernel's view of a rechunked Float64 column.
pub(crate) fn float_view(ca: &Float64Chunked) -> PolarsResult<hk::Floats<'_>> {
    let a = crate::arrow_views::only_chunk(ca)?;
    Ok((
        a.values().as_slice(),
        a.validity().map(crate::arrow_views::bits),
    ))
}

/// The scored metrics, in the pipeline's order.
fn scored_metrics(p: &Pipeline) -> Vec<(&Metric, &Scoring)> {
    p.metrics
        .iter()
        .filter_map(|m| m.scoring.as_ref().map(|s| (m, s)))
        .collect()
}

/// Positions in `scored` in the drivers' order: by name, so that of equal
/// losses the first name leads (SPEC §4).
fn drivers_order(scored: &[(&Metric, &Scoring)]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scored.len()).collect();
    order.sort_by(|&a, &b| scored[a].0.name.as_bytes().cmp(scored[b].0.name.as_bytes()));
    order
}

/// Columns of each row's first, second and third driver (the three
/// largest losses): the metric's position in the drivers' order, null when
/// there is none, decoded from [`hk::RowOutputs::top`] by the kernel.
const DRIVER_COLUMNS: [&str; 3] = ["__r1", "__r2", "__r3"];

/// Column of each row's band position (see [`hk::RowOutputs::band`]).
const BAND_INDEX: &str = "__band";

/// Whether band hysteresis kept the row's previous band (SPEC §11).
pub const HELD: &str = "__held";

/// Rows per parallel task of the row-scoring kernel.
const SCORING_ROWS_PER_TASK: usize = 64 * 1024;

/// The pipeline's row scoring as one step of the plan: the kernel's model
/// of it ([`hk::score_rows`]), the columns it reads and those it adds.
pub(crate) struct RowScoring {
    model: hk::ScoreModel,
    /// Per scored metric (pipeline order): its raw value's column.
    raw: Vec<String>,
    /// Per scored metric: its points column, read when percentile points
    /// (computed over every account) and written otherwise.
    points: Vec<String>,
    /// Per group: its points column.
    groups: Vec<String>,
}

impl RowScoring {
    /// The pipeline's scored metrics, groups, scorecards' weights and
    /// bands as the kernel's model.
    fn new(p: &Pipeline) -> Self {
        let scored = scored_metrics(p);
        let metrics = scored
            .iter()
            .map(|(_, s)| hk::ScoredMetric {
                group: s.group,
                weight: s.weight,
                rule: match &s.normalize {
                    Normalize::Linear { lo, hi } => hk::PointsRule::Linear {
                        lo: *lo,
                        span: hi - lo,
                    },
                    Normalize::Steps(steps) => hk::PointsRule::Steps(steps.clone()),
                    Normalize::Percentile { .. } => hk::PointsRule::Given,
                },
                missing: s.missing,
            })
            .collect();
        let group_totals = (0..p.groups.len())
            .map(|g| p.group_metrics(g).map(|(_, s)| s.weight).sum())
            .collect();
        RowScoring {
            model: hk::ScoreModel {
                metrics,
                weights: p.scorecards.iter().map(|sc| sc.weights.clone()).collect(),
                group_totals,
                bands: p.bands.iter().map(|b| (b.min, b.max)).collect(),
                drivers: drivers_order(&scored),
            },
            raw: scored.iter().map(|(m, _)| m.name.clone()).collect(),
            points: scored.iter().map(|(m, _)| points_column(&m.name)).collect(),
            groups: p.groups.iter().map(|g| group_column(&g.name)).collect(),
        }
    }

    /// The kernel's model of the pipeline's scoring (see [`RowScoring::new`]).
    pub(crate) fn model_of(p: &Pipeline) -> hk::ScoreModel {
        RowScoring::new(p).model
    }

    /// Whether scored metric `j`'s points are an input.
    fn given(&self, j: usize) -> bool {
        self.model.metrics[j].rule == hk::PointsRule::Given
    }

    /// The columns the step adds, in order, with their types: the
    /// kernel's floats ([`Self::float_names`]; score as Int32), the band's
    /// position and the three drivers' positions.
    fn outputs(&self) -> Vec<Field> {
        let mut fields: Vec<Field> = self
            .float_names()
            .into_iter()
            .map(|name| {
                let dtype = if name == "score" {
                    DataType::Int32
                } else {
                    DataType::Float64
                };
                Field::new(name.into(), dtype)
            })
            .collect();
        fields.push(Field::new(BAND_INDEX.into(), DataType::UInt32));
        for name in DRIVER_COLUMNS {
            fields.push(Field::new(name.into(), DataType::Int64));
        }
        fields
    }

    /// `lf` with the step's columns added (a plan step that reads every
    /// column it needs itself, so nothing is pushed through it).
    fn apply(self, lf: LazyFrame) -> LazyFrame {
        let added = self.outputs();
        let schema = move |input: &Schema| -> PolarsResult<SchemaRef> {
            let mut out = input.clone();
            for f in &added {
                out.with_column(f.name().clone(), f.dtype().clone());
            }
            Ok(Arc::new(out))
        };
        lf.map(
            move |df| self.score(df),
            OptFlags::empty(),
            Some(Arc::new(schema)),
            Some("row scoring"),
        )
    }

    /// `df` with its rows scored: [`Self::outputs`]' columns added.
    fn score(&self, mut df: DataFrame) -> PolarsResult<DataFrame> {
        let rows = df.height();
        let as_floats = |name: &str| -> PolarsResult<Float64Chunked> {
            Ok(df
                .column(name)?
                .cast(&DataType::Float64)?
                .as_materialized_series()
                .f64()?
                .rechunk()
                .into_owned())
        };
        let raw = self
            .raw
            .iter()
            .map(|c| as_floats(c))
            .collect::<PolarsResult<Vec<_>>>()?;
        let given = (0..self.points.len())
            .map(|j| {
                self.given(j)
                    .then(|| as_floats(&self.points[j]))
                    .transpose()
            })
            .collect::<PolarsResult<Vec<_>>>()?;
        let scorecard = df.column(SCORECARD_INDEX)?.cast(&DataType::UInt32)?;
        let scorecard = scorecard.as_materialized_series().u32()?.rechunk();
        let scorecard = crate::arrow_views::only_chunk(&scorecard)?;
        let inputs = hk::RowInputs {
            raw: raw.iter().map(float_view).collect::<PolarsResult<_>>()?,
            given: given
                .iter()
                .map(|g| g.as_ref().map(float_view).transpose())
                .collect::<PolarsResult<_>>()?,
            scorecard: (
                scorecard.values().as_slice(),
                scorecard.validity().map(crate::arrow_views::bits),
            ),
        };
        // Zeroed in parallel: a first touch of fresh pages costs more
        // than the kernel's own pass over them (190 ms for 34 columns of
        // 1M rows on one thread).
        let mut floats: Vec<Vec<f64>> = (0..self.float_names().len())
            .into_par_iter()
            .map(|_| vec![0.0; rows])
            .collect();
        let mut band = vec![0u32; rows];
        let mut top = vec![0u64; rows];
        // Each task scores its own range of rows into its part of every
        // column.
        let mut columns: Vec<_> = floats
            .iter_mut()
            .map(|c| c.chunks_mut(SCORING_ROWS_PER_TASK))
            .collect();
        let tasks: Vec<hk::RowOutputs<'_>> = band
            .chunks_mut(SCORING_ROWS_PER_TASK)
            .zip(top.chunks_mut(SCORING_ROWS_PER_TASK))
            .map(|(band, top)| {
                let parts = columns
                    .iter_mut()
                    .map(|c| c.next().expect("a part of every column"));
                hk::RowOutputs::from_parts(&self.model, parts, band, top)
            })
            .collect();
        let score = |(t, mut out): (usize, hk::RowOutputs<'_>)| {
            hk::score_rows(&self.model, &inputs, t * SCORING_ROWS_PER_TASK, &mut out)
        };
        if tasks.len() <= 1 {
            tasks.into_iter().enumerate().for_each(score);
        } else {
            tasks.into_par_iter().enumerate().for_each(score);
        }
        let columns = self.columns(floats, band, top)?;
        df.hstack_mut(&columns)?;
        Ok(df)
    }

    /// The float columns the kernel writes, in [`hk::RowOutputs`]' order:
    /// the points it computes, the groups' points, score_raw, score,
    /// completeness and the losses.
    fn float_names(&self) -> Vec<String> {
        let mut names: Vec<String> = (0..self.points.len())
            .filter(|&j| !self.given(j))
            .map(|j| self.points[j].clone())
            .collect();
        names.extend(self.groups.iter().cloned());
        names.extend(["score_raw", "score", "completeness"].map(String::from));
        names.extend(self.raw.iter().map(|m| loss_column(m)));
        names
    }

    /// The kernel's results (NaN: null) as [`Self::outputs`]' columns.
    fn columns(
        &self,
        floats: Vec<Vec<f64>>,
        band: Vec<u32>,
        top: Vec<u64>,
    ) -> PolarsResult<Vec<Column>> {
        let rows = band.len();
        let validity = |bytes: Option<Vec<u8>>| -> PolarsResult<Option<Bitmap>> {
            bytes.map(|b| Bitmap::try_new(b, rows)).transpose()
        };
        let mut columns = floats
            .into_par_iter()
            .zip(self.float_names())
            .map(|(values, name)| {
                if name == "score" {
                    let (ints, valid) = hk::integers_from_floats(&values);
                    let array =
                        PrimitiveArray::new(ArrowDataType::Int32, ints.into(), validity(valid)?);
                    return Ok(Int32Chunked::with_chunk(name.into(), array).into_column());
                }
                crate::arrow_views::float_column_nan_as_null(name.into(), values)
            })
            .collect::<PolarsResult<Vec<Column>>>()?;
        columns.push(UInt32Chunked::from_vec(BAND_INDEX.into(), band).into_column());
        for (k, name) in DRIVER_COLUMNS.into_iter().enumerate() {
            let positions = hk::driver_positions(&top, k as u32);
            let ranks: Int64Chunked = positions
                .into_iter()
                .map(|p| p.map(i64::from))
                .collect_ca(name.into());
            columns.push(ranks.into_column());
        }
        Ok(columns)
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
                .map(move |si| p.playbook(m, s, si))
        })
        .collect();
    let sc = col(SCORECARD_INDEX)
        .cast(DataType::Int64)
        .fill_null(lit(width - 1));
    pick_str(table, rank * lit(width) + sc)
}

/// top_drivers and playbook: the three largest losses, ties by name.
pub fn with_drivers(p: &Pipeline, scored: LazyFrame) -> LazyFrame {
    let scored_metrics = scored_metrics(p);
    if scored_metrics.is_empty() {
        return scored.with_columns([
            null_str().alias("top_drivers"),
            null_str().alias("playbook"),
        ]);
    }
    let scored_metrics: Vec<(&Metric, &Scoring)> = drivers_order(&scored_metrics)
        .into_iter()
        .map(|j| scored_metrics[j])
        .collect();
    // The top three losses per row come from the row-scoring kernel
    // (DRIVER_COLUMNS: positions in the drivers' order).
    let lf = scored;
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
    lf.with_column(
        when(col("__d1").is_null())
            .then(null_str())
            .otherwise(concat_str(
                [col("__d1"), col("__d2"), col("__d3")],
                ",",
                true,
            ))
            .alias("top_drivers"),
    )
}

/// The scores table's columns in SPEC §6 order.
pub fn output_columns(p: &Pipeline) -> Vec<String> {
    let mut cols: Vec<String> = crate::pipeline::FIXED_OUTPUT_COLUMNS
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
    if p.has_overrides() {
        cols.extend(OVERRIDE_COLUMNS.iter().map(|c| c.to_string()));
    }
    cols.extend(p.accounts.pass_through.iter().cloned());
    cols
}

/// The scores columns after model_version when the pipeline declares
/// overrides (SPEC §11).
pub const OVERRIDE_COLUMNS: [&str; 4] = [
    "band_model",
    "override_reason",
    "override_set_by",
    "override_expires_on",
];

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
/// the metric did not count towards the score) and the positions of the
/// scorecard and band, in the accounts' order: one collect yields the
/// scores table, the summary and the long metrics table.
pub fn select_output_with_losses(p: &Pipeline, lf: LazyFrame) -> LazyFrame {
    let losses: Vec<Expr> = loss_columns(p)
        .into_iter()
        .map(|c| col(c.as_str()).cast(DataType::Float64))
        .collect();
    let mut exprs = output_exprs(p);
    exprs.extend(losses);
    exprs.push(col(SCORECARD_INDEX));
    exprs.push(col(BAND_INDEX));
    exprs.push(col(HELD));
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
                + col(BAND_INDEX))
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
    let scored = scored_metrics(p);
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
            "band_model" | "override_reason" | "override_set_by" => e.cast(DataType::String),
            "override_expires_on" => e.cast(DataType::Date),
            _ if p.accounts.pass_through.contains(&c) => e,
            _ => e.cast(DataType::Float64),
        };
        exprs.push(e);
    }
    exprs
}

#[cfg(test)]
mod tests;
