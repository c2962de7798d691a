//! The previous snapshot beside each account (SPEC §4 trend): its score,
//! band, model version and model band, found by customer_id — by one
//! merge of the two ascending id columns where both are sorted (accounts
//! and snapshots are), else by a join — and the trend computed from them.

use healthscore_kernel as hk;
use polars::prelude::*;

use crate::arrow_views::with_strings;

/// The row of `other` (every column but customer_id) with each
/// customer_id of `keys`, nulls where it has none, in `keys`' order: found
/// by one merge when both hold ascending ids (accounts and snapshots are
/// sorted by customer_id), else by a join.
pub(crate) fn matching_rows(keys: &DataFrame, other: &DataFrame) -> PolarsResult<DataFrame> {
    let ids = |df: &DataFrame| -> PolarsResult<Series> {
        Ok(df
            .column("customer_id")?
            .as_materialized_series()
            .cast(&DataType::String)?
            .rechunk())
    };
    let (wanted, sorted) = (ids(keys)?, ids(other)?);
    let found = with_strings(&wanted, |k| {
        with_strings(&sorted, |s| hk::sorted_positions(k, s))
    })
    .and_then(|r| r)
    .map_err(|e| polars_err!(ComputeError: "{e}"))?;
    let rest = other.drop("customer_id")?;
    match found {
        Some(positions) => {
            let positions: IdxCa = positions
                .into_iter()
                .map(|p| p.map(|p| p as IdxSize))
                .collect();
            rest.take(&positions)
        }
        None => keys
            .select(["customer_id"])?
            .lazy()
            .join(
                other.clone().lazy(),
                [col("customer_id")],
                [col("customer_id")],
                JoinArgs {
                    maintain_order: MaintainOrderJoin::Left,
                    ..JoinArgs::new(JoinType::Left)
                },
            )
            .drop(cols(["customer_id"]))
            .collect(),
    }
}

/// The previous snapshot's columns for [`trend_columns`] beside each
/// account of `scored`, in its order: prev_score, prev_band, its model
/// version and model band, and whether the account was in it; all null
/// when there is no previous snapshot (every trend is then `new`). Found
/// by `matching_rows` (a merge of the ascending ids, else a join).
pub fn with_previous(scored: DataFrame, prev: Option<DataFrame>) -> PolarsResult<DataFrame> {
    let prev = match prev {
        Some(prev) => prev,
        None => empty_previous()?,
    };
    let prev = prev
        .lazy()
        .with_column(lit(true).alias("__has_prev"))
        .collect()?;
    let rows = matching_rows(&scored, &prev)?;
    scored.hstack(rows.columns())
}

/// The previous snapshot's trend columns with no rows.
fn empty_previous() -> PolarsResult<DataFrame> {
    DataFrame::new_infer_height(vec![
        Column::new_empty("customer_id".into(), &DataType::String),
        Column::new_empty("prev_score".into(), &DataType::Int32),
        Column::new_empty("prev_band".into(), &DataType::String),
        Column::new_empty("__prev_model".into(), &DataType::String),
        Column::new_empty("__prev_model_band".into(), &DataType::String),
    ])
}

/// score_change and trend, row by row, from [`with_previous`]' columns.
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
