//! SPEC §11 changes: the accounts whose band moved, or whose score moved by
//! at least `settings.alert_change_points`, since the previous snapshot of
//! the same model — with the metric that caused the move. score_raw is the
//! sum over present metrics of points · share (a metric's share is
//! w_g/Σ_present w · w_m/Σ_present-in-g w_m, as for the drivers), so each
//! metric contributes points · share; the cause is the metric whose
//! contribution moved the most in the direction of the change. Also band
//! hysteresis (SPEC §11), which decides the band the changes compare.

use polars::prelude::*;

use healthscore_kernel as hk;

use crate::arrow_views::{bits, float_column_nan_as_null, only_chunk};
use crate::pipeline::Pipeline;
use crate::score::{float_view, matching_rows, points_column, RowScoring};

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
    let moved = moved(p, scored).filter(lit(any)).collect()?;
    let prev_rows = matching_rows(&moved, &with_every_metric(p, prev_points)?)?;
    let candidates = moved
        .hstack(prev_rows.columns())?
        .lazy()
        .with_columns([kind(p).alias("kind")])
        .with_columns([
            col("kind")
                .eq(lit("band_down"))
                .or(col("kind").eq(lit("drop")))
                .alias(DOWN),
            scorecard_position(p, col("scorecard")).alias(SCORECARD_AT),
            scorecard_position(p, col(prev_column("scorecard"))).alias(PREV_SCORECARD_AT),
        ])
        .collect()?;
    let causes = cause_columns(p, &candidates, &names)?;
    candidates
        .hstack(&causes)?
        .lazy()
        .with_column(col(prev_column("scorecard")).alias("prev_scorecard"))
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

/// Whether a candidate's band or score fell (band_down or drop).
const DOWN: &str = "__down";

/// Columns of each candidate's scorecard position now and before.
const SCORECARD_AT: &str = "__scorecard_at";
const PREV_SCORECARD_AT: &str = "__prev_scorecard_at";

/// The position among the pipeline's scorecards of the one named by
/// `name`; their count when it names none (or is null).
fn scorecard_position(p: &Pipeline, name: Expr) -> Expr {
    let n = p.scorecards.len() as u32;
    let mut e = lit(n);
    for (i, sc) in p.scorecards.iter().enumerate().rev() {
        e = when(name.clone().eq(lit(sc.name.as_str())).fill_null(lit(false)))
            .then(lit(i as u32))
            .otherwise(e);
    }
    e.cast(DataType::UInt32)
}

/// `prev_points` with a null column for each scored metric the previous
/// snapshot did not score (added since, same model_version: it had no
/// points then).
fn with_every_metric(p: &Pipeline, prev_points: &DataFrame) -> PolarsResult<DataFrame> {
    let missing: Vec<Expr> = p
        .metrics
        .iter()
        .filter(|m| m.scoring.is_some())
        .map(|m| prev_column(&points_column(&m.name)))
        .filter(|c| prev_points.column(c).is_err())
        .map(|c| lit(NULL).cast(DataType::Float64).alias(c))
        .collect();
    prev_points.clone().lazy().with_columns(missing).collect()
}

/// The accounts present in both snapshots with no override in force on
/// D whose band moved or whose |score_change| reached
/// alert_change_points.
fn moved(p: &Pipeline, scored: &DataFrame) -> LazyFrame {
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
    // Only the columns the changes table reads are gathered.
    let mut read: Vec<Expr> = [
        "customer_id",
        "customer_name",
        "scorecard",
        "prev_band",
        "band",
    ]
    .into_iter()
    .chain(["prev_score", "score", "score_change", "playbook"])
    .map(col)
    .collect();
    read.extend(
        p.metrics
            .iter()
            .filter(|m| m.scoring.is_some())
            .map(|m| col(points_column(&m.name))),
    );
    read.extend(p.accounts.pass_through.iter().map(|c| col(c.as_str())));
    scored.clone().lazy().filter(moved).select(read)
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

/// cause, cause_prev_points, cause_points and cause_delta of each
/// candidate ([`hk::change_causes`]: the metric whose contribution to
/// score_raw moved the most in the direction of the kind — fell most for
/// band_down and drop, rose most for band_up and rise; ties to the metric
/// declared first; null when none moved that way).
fn cause_columns(
    p: &Pipeline,
    candidates: &DataFrame,
    names: &[&str],
) -> PolarsResult<Vec<Column>> {
    let floats = |c: String| -> PolarsResult<Float64Chunked> {
        Ok(candidates
            .column(&c)?
            .as_materialized_series()
            .cast(&DataType::Float64)?
            .f64()?
            .rechunk()
            .into_owned())
    };
    let positions = |c: &str| -> PolarsResult<UInt32Chunked> {
        Ok(candidates.column(c)?.u32()?.rechunk().into_owned())
    };
    let now: Vec<Float64Chunked> = names
        .iter()
        .map(|m| floats(points_column(m)))
        .collect::<PolarsResult<_>>()?;
    let before: Vec<Float64Chunked> = names
        .iter()
        .map(|m| floats(prev_column(&points_column(m))))
        .collect::<PolarsResult<_>>()?;
    let (at, prev_at) = (positions(SCORECARD_AT)?, positions(PREV_SCORECARD_AT)?);
    let down = candidates.column(DOWN)?.bool()?.rechunk();
    let down = only_chunk(&down)?.values();
    let now_points = now
        .iter()
        .map(float_view)
        .collect::<PolarsResult<Vec<_>>>()?;
    let prev_points = before
        .iter()
        .map(float_view)
        .collect::<PolarsResult<Vec<_>>>()?;
    let (now_at, before_at) = (at.cont_slice()?, prev_at.cont_slice()?);
    let causes = hk::change_causes(
        &RowScoring::model_of(p),
        &hk::Side {
            points: now_points,
            scorecard: now_at,
        },
        &hk::Side {
            points: prev_points,
            scorecard: before_at,
        },
        bits(down),
    );
    // The cause's name: its position gathered from the names (null: none).
    let at: IdxCa = causes
        .metric
        .iter()
        .map(|m| m.map(|m| m as IdxSize))
        .collect();
    let cause = Series::new("cause".into(), names).take(&at)?;
    Ok(vec![
        cause.into_column(),
        float_column_nan_as_null("cause_prev_points".into(), causes.prev_points)?,
        float_column_nan_as_null("cause_points".into(), causes.points)?,
        float_column_nan_as_null("cause_delta".into(), causes.delta)?,
    ])
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The previous rows of C, A and X among A, B, C: by a merge when the
    /// moved ids ascend (A, C, X), by a join otherwise (C, A, X); in the
    /// moved rows' order either way, X (not in the previous snapshot) null.
    #[test]
    fn matching_rows_are_found_by_merge_or_by_join_in_the_keys_order() {
        let prev = df!(
            "customer_id" => ["A", "B", "C"],
            "__prev__x_points" => [Some(10.0), Some(20.0), Some(30.0)],
        )
        .unwrap();
        let points = |moved: &[&str]| -> Vec<Option<f64>> {
            let moved = df!("customer_id" => moved).unwrap();
            let rows = matching_rows(&moved, &prev).unwrap();
            assert_eq!(rows.get_column_names(), ["__prev__x_points"]);
            rows.column("__prev__x_points")
                .unwrap()
                .f64()
                .unwrap()
                .iter()
                .collect()
        };
        assert_eq!(points(&["A", "C", "X"]), [Some(10.0), Some(30.0), None]);
        assert_eq!(points(&["C", "A", "X"]), [Some(30.0), Some(10.0), None]);
        assert_eq!(points(&["B"]), [Some(20.0)]);
    }
}
