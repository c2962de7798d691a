//! churn_labels: reading the table (any layout the input reader takes) and
//! joining it with one date's scores (who churned within the horizon, who
//! had already left).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use polars::prelude::*;
use serde::Serialize;

use super::measures::scalar_f64;
use super::{
    group_points_column, pl, AS_OF, BAND, CHURNED, CHURNED_ON, CUSTOMER_ID, SCORE, SCORECARD,
};
use crate::error::{Error, Result};
use crate::input as source;
use crate::pipeline::{Pipeline, Source};
use crate::score::{group_column, points_column};
use crate::storage::Store;
use crate::time::{date_of, day_of, with_as_of};

// ---------------------------------------------------------------------------
// Labels
// ---------------------------------------------------------------------------

/// What was read from churn_labels.
#[derive(Debug, Clone, Serialize)]
pub struct LabelsInfo {
    /// Where the table was read from.
    pub location: String,
    /// Rows read.
    pub rows: usize,
    /// Rows left out for a null customer_id or churned_on.
    pub rows_with_nulls: usize,
    /// Distinct customers with a churn date.
    pub customers: usize,
    /// Earliest churned_on.
    pub earliest_churned_on: Option<String>,
    /// Latest churned_on.
    pub latest_churned_on: Option<String>,
}

/// Reads churn_labels (customer_id, churned_on as a UTC day number) through
/// the same reader as the input tables: any string or date/timestamp type,
/// local or object store, a file or a (Hive-partitioned) folder.
pub fn read_labels(
    p: &Pipeline,
    input: &str,
    labels: &str,
    last_date: NaiveDate,
    input_options: &[(String, String)],
) -> Result<(DataFrame, LabelsInfo)> {
    let (store, path) = labels_store(input, labels, last_date, input_options)?;
    let location = store.url_of(&path);
    let mut lp = p.clone();
    lp.sources = vec![Source {
        table: "churn_labels".into(),
        path: path.clone(),
        renames: BTreeMap::new(),
        date_column: Some("churned_on".into()),
        is_contract: true,
    }];
    let tables = source::open_tables(&lp, &store).map_err(|e| labels_error(e, &location))?;
    let t = tables
        .into_iter()
        .next()
        .ok_or_else(|| Error::Internal("churn_labels not opened".into()))?;
    let all = t
        .frame
        .select([col(CUSTOMER_ID), col(CHURNED_ON)])
        .collect()
        .map_err(|e| Error::Corrupt {
            url: location.clone(),
            message: e.to_string(),
        })?;
    labels_info(all, location)
}

/// The store holding churn_labels and the path in it: `labels` as it is
/// when a URL or an absolute path (a `.parquet` file or a folder), else
/// relative to the input of the last date.
fn labels_store(
    input: &str,
    labels: &str,
    last_date: NaiveDate,
    input_options: &[(String, String)],
) -> Result<(Store, String)> {
    let absolute = labels.contains("://") || labels.starts_with('/');
    Ok(if absolute {
        let trimmed = labels.trim_end_matches('/');
        match trimmed.rsplit_once('/') {
            Some((parent, file)) if file.ends_with(".parquet") => (
                Store::open(if parent.is_empty() { "/" } else { parent }, input_options)?,
                file.to_string(),
            ),
            _ => (Store::open(trimmed, input_options)?, String::new()),
        }
    } else {
        (
            Store::open(&with_as_of(input, last_date), input_options)?,
            labels.trim_matches('/').to_string(),
        )
    })
}

/// A missing churn_labels table or column, told in terms of `--labels`.
fn labels_error(e: Error, location: &str) -> Error {
    match e {
        Error::Contract {
            table,
            column: None,
            file,
            ..
        } => Error::Contract {
            message: format!(
                "table churn_labels: no Parquet file at {location} (expected a .parquet file or a folder of them with columns customer_id and churned_on); point --labels at it"
            ),
            table,
            column: None,
            file,
        },
        Error::Contract {
            table,
            column: Some(c),
            file,
            message,
        } => Error::Contract {
            message: format!("{message} (the labels are read with canonical column names; pass --labels to another table)"),
            table,
            column: Some(c),
            file,
        },
        other => other,
    }
}

/// Leaves out the rows with a null customer_id or churned_on and describes
/// what is left.
fn labels_info(all: DataFrame, location: String) -> Result<(DataFrame, LabelsInfo)> {
    let rows = all.height();
    let clean = all
        .lazy()
        .filter(
            col(CUSTOMER_ID)
                .is_not_null()
                .and(col(CHURNED_ON).is_not_null()),
        )
        .collect()
        .map_err(pl("churn labels"))?;
    let stats = clean
        .clone()
        .lazy()
        .select([
            col(CUSTOMER_ID).n_unique().cast(DataType::Int64).alias("n"),
            col(CHURNED_ON).min().alias("lo"),
            col(CHURNED_ON).max().alias("hi"),
        ])
        .collect()
        .map_err(pl("churn labels"))?;
    let get_i = |c: &str| -> Option<i64> {
        stats
            .column(c)
            .ok()
            .and_then(|s| s.get(0).ok())
            .and_then(|v| v.extract::<i64>())
    };
    let info = LabelsInfo {
        location,
        rows,
        rows_with_nulls: rows - clean.height(),
        customers: if clean.height() == 0 {
            0
        } else {
            get_i("n").unwrap_or(0) as usize
        },
        earliest_churned_on: get_i("lo").map(|d| date_of(d as i32).to_string()),
        latest_churned_on: get_i("hi").map(|d| date_of(d as i32).to_string()),
    };
    Ok((clean, info))
}

// ---------------------------------------------------------------------------
// Joining one date's scores
// ---------------------------------------------------------------------------

/// Weighted mean of the present metrics' points of each group, as columns
/// [`group_points_column`] (SPEC §4 group points, for every group).
fn group_points_exprs(p: &Pipeline) -> Vec<Expr> {
    p.groups
        .iter()
        .enumerate()
        .map(|(gi, g)| {
            let mut num = lit(0.0);
            let mut den = lit(0.0);
            for (m, s) in p.group_metrics(gi) {
                let pts = col(points_column(&m.name).as_str());
                num = num + pts.clone().fill_null(lit(0.0)) * lit(s.weight);
                den = den + pts.is_not_null().cast(DataType::Float64) * lit(s.weight);
            }
            when(den.clone().gt(lit(0.0)))
                .then(num / den)
                .otherwise(lit(NULL).cast(DataType::Float64))
                .alias(group_points_column(&g.name).as_str())
        })
        .collect()
}

/// The recomputed group points must equal the scores table's
/// `<group>_score` wherever the scorecard uses the group; a difference would
/// mean the weight fit and the single-signal AUCs see other points than the
/// score does, so it is logged.
fn check_group_points(p: &Pipeline, scores: &DataFrame) -> Result<()> {
    let diffs: Vec<Expr> = p
        .groups
        .iter()
        .map(|g| {
            (col(group_points_column(&g.name).as_str()) - col(group_column(&g.name).as_str()))
                .abs()
                .max()
                .alias(g.name.as_str())
        })
        .collect();
    let d = scores
        .clone()
        .lazy()
        .with_columns(group_points_exprs(p))
        .select(diffs)
        .collect()
        .map_err(pl("checking group points"))?;
    for g in &p.groups {
        let v = scalar_f64(&d, &g.name);
        if v > 1e-6 {
            tracing::warn!(
                group = g.name.as_str(),
                max_difference = v,
                "recomputed group points differ from the scores table"
            );
        }
    }
    Ok(())
}

/// Scores of one date joined with the labels.
pub struct DateFrame {
    /// One row per account scored at D and not churned by D (columns
    /// [`CUSTOMER_ID`], [`AS_OF`], [`SCORECARD`], [`SCORE`], [`BAND`],
    /// [`CHURNED`], [`CHURNED_ON`], group points and metric points).
    pub frame: DataFrame,
    /// Accounts scored at D that had already churned (left out).
    pub already_churned: usize,
}

/// Joins a scores table (SPEC §6 columns) for date `d` with the labels
/// (customer_id, churned_on day number).
pub fn join_labels(
    p: &Pipeline,
    scores: &DataFrame,
    labels: &DataFrame,
    d: NaiveDate,
    horizon_days: i64,
) -> Result<DateFrame> {
    let day = day_of(d);
    let end = day + horizon_days as i32;
    let per_customer = labels.clone().lazy().group_by([col(CUSTOMER_ID)]).agg([
        col(CHURNED_ON)
            .filter(col(CHURNED_ON).lt_eq(lit(day)))
            .max()
            .alias("__prior"),
        col(CHURNED_ON)
            .filter(col(CHURNED_ON).gt(lit(day)))
            .min()
            .alias(CHURNED_ON),
    ]);
    let mut sel = vec![
        col(CUSTOMER_ID).cast(DataType::String),
        col(SCORECARD).cast(DataType::String),
        col(SCORE).cast(DataType::Float64),
        col(BAND).cast(DataType::String),
    ];
    for m in &p.metrics {
        if m.scoring.is_some() {
            sel.push(col(points_column(&m.name).as_str()).cast(DataType::Float64));
        }
    }
    check_group_points(p, scores)?;
    let joined = scores
        .clone()
        .lazy()
        .select(sel)
        .with_columns(group_points_exprs(p))
        .join(
            per_customer,
            [col(CUSTOMER_ID)],
            [col(CUSTOMER_ID)],
            JoinArgs::new(JoinType::Left),
        )
        .collect()
        .map_err(pl("joining labels"))?;
    let already = joined
        .column("__prior")
        .map_err(pl("joining labels"))?
        .is_not_null()
        .sum()
        .unwrap_or(0) as usize;
    let frame = joined
        .lazy()
        .filter(col("__prior").is_null())
        .with_columns([
            lit(day).alias(AS_OF),
            col(CHURNED_ON)
                .lt_eq(lit(end))
                .fill_null(lit(false))
                .alias(CHURNED),
        ])
        .drop(by_name(["__prior"], true, false))
        .collect()
        .map_err(pl("joining labels"))?;
    Ok(DateFrame {
        frame,
        already_churned: already,
    })
}
