//! SPEC §11 changes: the accounts whose band moved, or whose score moved by
//! at least `settings.alert_change_points`, since the previous snapshot of
//! the same model — with the metric that caused the move. score_raw is the
//! sum over present metrics of points · share (a metric's share is
//! w_g/Σ_present w · w_m/Σ_present-in-g w_m, as for the drivers), so each
//! metric contributes points · share; the cause is the metric whose
//! contribution moved the most in the direction of the change. Also band
//! hysteresis (SPEC §11), which decides the band the changes compare.

use polars::prelude::*;

use crate::pipeline::Pipeline;
use crate::score::points_column;

/// The changes table's columns before the pass-through columns.
pub const CHANGES_COLUMNS: [&str; 15] = [
    "customer_id",
    "customer_name",
    "scorecard",
    "prev_scorecard",
    "kind",
    "prev_band",
    "band",
    "prev_score",
    "score",
    "score_change",
    "cause",
    "cause_prev_points",
    "cause_points",
    "cause_delta",
    "playbook",
];

/// The kinds in the table's order.
pub const KINDS: [&str; 4] = ["band_down", "drop", "band_up", "rise"];

/// A previous snapshot's column `c` beside each account (its scorecard and
/// its metrics' points), as the previous-points frame names it.
pub fn prev_column(c: &str) -> String {
    format!("__prev__{c}")
}

/// Rounds to 9 decimals, half away from zero (contributions are compared
/// so, as losses are).
fn round9(e: Expr) -> Expr {
    e.round(9, RoundMode::HalfAwayFromZero)
}

/// Each scored metric's contribution to score_raw, in declared order, from
/// the points columns named by `points` and the scorecard named in column
/// `scorecard` (0 for a metric not present or a scorecard not matched).
fn contributions(p: &Pipeline, scorecard: &str, points: &dyn Fn(&str) -> String) -> Vec<Expr> {
    let scored: Vec<_> = p
        .metrics
        .iter()
        .filter_map(|m| m.scoring.as_ref().map(|s| (m, s)))
        .collect();
    let present = |name: &str| col(points(name)).is_not_null();
    let mut per_metric: Vec<Option<Expr>> = vec![None; scored.len()];
    for sc in p.scorecards.iter().rev() {
        // Σ of the weights of the groups present (weighted > 0).
        let group_present = |g: usize| {
            scored
                .iter()
                .filter(|(_, s)| s.group == g)
                .map(|(m, _)| present(&m.name))
                .reduce(Expr::or)
                .unwrap_or_else(|| lit(false))
        };
        let present_w = (0..p.groups.len())
            .filter(|g| sc.weights[*g] > 0.0)
            .map(|g| {
                when(group_present(g))
                    .then(lit(sc.weights[g]))
                    .otherwise(lit(0.0))
            })
            .reduce(|a, b| a + b)
            .unwrap_or_else(|| lit(0.0));
        for (i, (m, s)) in scored.iter().enumerate() {
            let w_g = sc.weights[s.group];
            let in_group_w = scored
                .iter()
                .filter(|(_, t)| t.group == s.group)
                .map(|(n, t)| {
                    when(present(&n.name))
                        .then(lit(t.weight))
                        .otherwise(lit(0.0))
                })
                .reduce(|a, b| a + b)
                .unwrap_or_else(|| lit(0.0));
            let share = lit(w_g) / present_w.clone() * lit(s.weight) / in_group_w;
            let c = if w_g > 0.0 {
                when(present(&m.name))
                    .then(col(points(&m.name)) * share)
                    .otherwise(lit(0.0))
            } else {
                lit(0.0)
            };
            let otherwise = per_metric[i].take().unwrap_or_else(|| lit(0.0));
            per_metric[i] = Some(
                when(col(scorecard).eq(lit(sc.name.as_str())))
                    .then(c)
                    .otherwise(otherwise),
            );
        }
    }
    per_metric
        .into_iter()
        .map(|e| round9(e.unwrap_or_else(|| lit(0.0)).fill_null(lit(0.0))))
        .collect()
}

/// A band's position in the declared order; `Unscored` (any other name)
/// is -1, below every band.
fn band_rank(p: &Pipeline, band: Expr) -> Expr {
    let position = crate::score::band_position(p, band).cast(DataType::Int32);
    when(position.clone().lt(lit(p.bands.len() as i32)))
        .then(position)
        .otherwise(lit(-1i32))
}

/// The changes table of a snapshot: `scored` holds every account's output
/// columns (prev_band and prev_score included), `prev_points` the previous
/// snapshot's customer_id, scorecard and `_points` columns (named by
/// [`prev_column`]), None when there is no previous snapshot of the same
/// model (then the table is empty, with its schema).
pub fn changes(
    p: &Pipeline,
    scored: &DataFrame,
    prev_points: Option<&DataFrame>,
) -> PolarsResult<DataFrame> {
    // Without a previous snapshot of the same model the table is empty, but
    // made by the same plan, so its columns have the types of every other
    // date's (a pass-through column keeps its own type).
    let no_previous;
    let (prev_points, any) = match prev_points {
        Some(prev) => (prev, true),
        None => {
            no_previous = empty_previous(p)?;
            (&no_previous, false)
        }
    };
    let names: Vec<&str> = p
        .metrics
        .iter()
        .filter(|m| m.scoring.is_some())
        .map(|m| m.name.as_str())
        .collect();
    let now = contributions(p, "scorecard", &|m| points_column(m));
    let before = contributions(p, &prev_column("scorecard"), &|m| {
        prev_column(&points_column(m))
    });
    let deltas: Vec<Expr> = now
        .iter()
        .zip(&before)
        .enumerate()
        .map(|(i, (a, b))| round9(a.clone() - b.clone()).alias(format!("__delta_{i}")))
        .collect();
    let with_deltas = candidates(p, scored, prev_points)
        .filter(lit(any))
        .with_column(kind(p).alias("kind"))
        .with_columns(deltas);
    with_cause(with_deltas, names.len())
        .with_columns(cause_columns(&names))
        .with_column(kind_order().alias("__kind_order"))
        .sort_by_exprs(
            [col("__kind_order"), col("score_change"), col("customer_id")],
            SortMultipleOptions::default()
                .with_nulls_last(true)
                .with_maintain_order(true),
        )
        .select(output_exprs(p))
        .collect()
}

/// The accounts present in both snapshots, with no override in force on
/// D, whose band moved or whose |score_change| reached
/// alert_change_points, beside their previous scorecard and points.
fn candidates(p: &Pipeline, scored: &DataFrame, prev_points: &DataFrame) -> LazyFrame {
    let threshold = p.settings.alert_change_points;
    // An account with an override in force on D is the CSM's call: no row.
    let no_override = if p.has_overrides() {
        col("override_reason").is_null()
    } else {
        lit(true)
    };
    let moved = col("prev_band").is_not_null().and(no_override).and(
        col("band").neq(col("prev_band")).or(col("score_change")
            .abs()
            .gt_eq(lit(threshold))
            .fill_null(lit(false))),
    );
    // A metric the previous snapshot did not score (added since, same
    // model_version) had no points then.
    let missing: Vec<Expr> = p
        .metrics
        .iter()
        .filter(|m| m.scoring.is_some())
        .map(|m| prev_column(&points_column(&m.name)))
        .filter(|c| prev_points.column(c).is_err())
        .map(|c| lit(NULL).cast(DataType::Float64).alias(c))
        .collect();
    scored.clone().lazy().filter(moved).join(
        prev_points.clone().lazy().with_columns(missing),
        [col("customer_id")],
        [col("customer_id")],
        JoinArgs {
            maintain_order: MaintainOrderJoin::Left,
            ..JoinArgs::new(JoinType::Left)
        },
    )
}

/// band_down / band_up by the declared band order, else drop / rise by
/// the sign of score_change.
fn kind(p: &Pipeline) -> Expr {
    let now_rank = band_rank(p, col("band"));
    let prev_rank = band_rank(p, col("prev_band"));
    when(now_rank.clone().lt(prev_rank.clone()))
        .then(lit("band_down"))
        .when(now_rank.gt(prev_rank))
        .then(lit("band_up"))
        .when(col("score_change").lt(lit(0)))
        .then(lit("drop"))
        .otherwise(lit("rise"))
}

/// The position of each row's kind in [`KINDS`] (the table's order).
fn kind_order() -> Expr {
    let mut e = lit(4i32);
    for (i, k) in KINDS.iter().enumerate().rev() {
        e = when(col("kind").eq(lit(*k)))
            .then(lit(i as i32))
            .otherwise(e);
    }
    e
}

/// The value of the cause's column (`column_of` its name) on each row,
/// null when there is no cause.
fn of_cause(names: &[&str], column_of: &dyn Fn(usize, &str) -> Expr, dtype: DataType) -> Expr {
    let mut e = lit(NULL).cast(dtype);
    for (i, m) in names.iter().enumerate().rev() {
        e = when(col("__cause").eq(lit(i as i32)))
            .then(column_of(i, m))
            .otherwise(e);
    }
    e
}

/// cause, cause_prev_points, cause_points, cause_delta and prev_scorecard.
fn cause_columns(names: &[&str]) -> Vec<Expr> {
    let f64 = DataType::Float64;
    vec![
        of_cause(names, &|_, m| lit(m.to_string()), DataType::String).alias("cause"),
        of_cause(
            names,
            &|_, m| col(prev_column(&points_column(m))).cast(DataType::Float64),
            f64.clone(),
        )
        .alias("cause_prev_points"),
        of_cause(
            names,
            &|_, m| col(points_column(m)).cast(DataType::Float64),
            f64.clone(),
        )
        .alias("cause_points"),
        of_cause(names, &|i, _| col(format!("__delta_{i}")), f64).alias("cause_delta"),
        col(prev_column("scorecard")).alias("prev_scorecard"),
    ]
}

/// Adds `__cause`: the position of the metric whose contribution moved
/// the most in the direction of the kind (fell most for band_down and
/// drop, rose most for band_up and rise); ties go to the metric declared
/// first; null when none moved that way. One step per metric, each reading
/// the best so far from the step before (a single nested expression would
/// repeat the earlier steps at every level).
fn with_cause(lf: LazyFrame, n: usize) -> LazyFrame {
    let down = col("kind")
        .eq(lit("band_down"))
        .or(col("kind").eq(lit("drop")));
    let mut lf = lf.with_columns([
        lit(0.0).alias("__best_move"),
        lit(NULL).cast(DataType::Int32).alias("__cause"),
    ]);
    for i in 0..n {
        // The move in the direction of the change, as a positive number.
        let d = col(format!("__delta_{i}"));
        let toward = when(down.clone()).then(-d.clone()).otherwise(d);
        let better = toward.clone().gt(col("__best_move"));
        lf = lf.with_columns([
            when(better.clone())
                .then(lit(i as i32))
                .otherwise(col("__cause"))
                .alias("__cause"),
            when(better)
                .then(toward)
                .otherwise(col("__best_move"))
                .alias("__best_move"),
        ]);
    }
    lf
}

/// The changes table's columns, typed as SPEC §11 gives them, then the
/// pass-through columns.
fn output_exprs(p: &Pipeline) -> Vec<Expr> {
    let mut exprs: Vec<Expr> = CHANGES_COLUMNS
        .iter()
        .map(|c| {
            let e = col(*c);
            match *c {
                "prev_score" | "score" | "score_change" => e.cast(DataType::Int32),
                "cause_prev_points" | "cause_points" | "cause_delta" => e.cast(DataType::Float64),
                _ => e.cast(DataType::String),
            }
        })
        .collect();
    exprs.extend(p.accounts.pass_through.iter().map(|c| col(c.as_str())));
    exprs
}

/// A previous-points frame with no rows: customer_id, the scorecard and
/// every scored metric's points.
fn empty_previous(p: &Pipeline) -> PolarsResult<DataFrame> {
    let mut columns = vec![
        Column::new_empty("customer_id".into(), &DataType::String),
        Column::new_empty(prev_column("scorecard").into(), &DataType::String),
    ];
    for m in p.metrics.iter().filter(|m| m.scoring.is_some()) {
        columns.push(Column::new_empty(
            prev_column(&points_column(&m.name)).into(),
            &DataType::Float64,
        ));
    }
    DataFrame::new_infer_height(columns)
}

/// Band hysteresis over the scored rows (SPEC §11): with
/// `band_hysteresis_points` h > 0 and a previous snapshot of the same
/// model, an account whose previous model band (`__prev_model_band`) is a
/// band keeps it while lo − h ≤ score ≤ hi + h for that band's [lo, hi].
/// Returns the new band position (into `bands`, then Unscored) from the
/// kernel's `band_index` column, and whether it was held.
pub fn held_band(p: &Pipeline, band_index: &str, model_version: &str) -> (Expr, Expr) {
    let h = p.settings.band_hysteresis_points;
    if h == 0 {
        return (col(band_index), lit(false));
    }
    let same_model = col("__prev_model")
        .eq(lit(model_version))
        .fill_null(lit(false));
    let mut index = col(band_index);
    let mut held = lit(false);
    for (i, b) in p.bands.iter().enumerate().rev() {
        let keep = same_model
            .clone()
            .and(col("__prev_model_band").eq(lit(b.name.as_str())))
            .and(col("score").gt_eq(lit(b.min - h)))
            .and(col("score").lt_eq(lit(b.max + h)))
            .fill_null(lit(false));
        index = when(keep.clone()).then(lit(i as u32)).otherwise(index);
        held = when(keep)
            .then(col(band_index).neq(lit(i as u32)))
            .otherwise(held);
    }
    (index, held)
}
