//! Suggested group weights per scorecard: fitted on all dates, compared
//! with the current weights, and checked out of time (fitted on the earlier
//! half of the dates, evaluated on the later half).

use chrono::NaiveDate;
use polars::prelude::*;
use serde::Serialize;

use super::fit::{fit_group_weights, score_with_weights, LogisticFit};
use super::measures::{auc, bools, f64s};
use super::{group_points_column, pl, AS_OF, CHURNED, SCORE, SCORECARD};
use std::fmt::Write as _;

use super::render::{f3, fmt_weight};
use super::Options;
use crate::error::Result;
use crate::pipeline::{Pipeline, Scorecard};
use crate::time::day_of;

/// AUC of `scores` against `churned` (see [`auc`]).
fn auc_of(scores: Vec<Option<f64>>, churned: &[bool]) -> Result<Option<f64>> {
    let df = DataFrame::new_infer_height(vec![
        Column::new(SCORE.into(), scores),
        Column::new(CHURNED.into(), churned.to_vec()),
    ])
    .map_err(pl("AUC"))?;
    auc(&df, SCORE, CHURNED)
}

/// One group's current and suggested weight.
#[derive(Debug, Clone, Serialize)]
pub struct GroupWeight {
    /// Group name.
    pub group: String,
    /// Weight in the pipeline.
    pub current: f64,
    /// Current weight as a share of the scorecard's total, in %.
    pub current_share: f64,
    /// Suggested integer weight (fitted on all dates; sums to 100).
    pub suggested: Option<i64>,
    /// The fitted share before rounding.
    pub suggested_share: Option<f64>,
}

/// Out-of-time validation of the fitted weights.
#[derive(Debug, Clone, Serialize)]
pub struct Validation {
    /// Dates the weights were fitted on.
    pub fit_dates: Vec<String>,
    /// Dates they were evaluated on.
    pub eval_dates: Vec<String>,
    /// Weights fitted on the fit dates only.
    pub weights: Option<Vec<i64>>,
    /// AUC of the current score on the evaluation dates.
    pub current_auc: Option<f64>,
    /// AUC of the score with the fitted weights on the evaluation dates.
    pub suggested_auc: Option<f64>,
}

/// Suggested weights of one scorecard.
#[derive(Debug, Clone, Serialize)]
pub struct WeightSuggestion {
    /// Scorecard name.
    pub scorecard: String,
    /// Its predicate, as written.
    pub when: Option<String>,
    /// Account-dates with a score used to fit.
    pub accounts: usize,
    /// Churners among them.
    pub churned: usize,
    /// Per group, declared order.
    pub groups: Vec<GroupWeight>,
    /// Why there is no suggestion, when there is none.
    pub note: Option<String>,
    /// AUC of the current score over all dates.
    pub current_auc: Option<f64>,
    /// AUC of the score with the suggested weights over all dates (in sample).
    pub suggested_auc: Option<f64>,
    /// Fitted on the earlier half of the dates, evaluated on the later half.
    pub out_of_time: Option<Validation>,
    /// Whether the suggestion is worth trying: false when, out of time, the
    /// weights fitted on the earlier dates rank the later dates' churners
    /// worse than the current weights do (then keep the current weights);
    /// true otherwise (also without an out-of-time check).
    pub recommended: bool,
    /// The regression behind the suggestion (coefficients of the groups
    /// with data, in declared order).
    pub fit: Option<LogisticFit>,
}

/// Fewest churners (and non-churners) a scorecard needs for a fit.
pub const MIN_CHURNERS_TO_FIT: usize = 20;

/// How many of `k` dates (≥ 2) the out-of-time fit uses: the earlier half.
pub(super) fn fit_date_count(k: usize) -> usize {
    (k / 2).max(1)
}

/// Suggested weights of every scorecard of `p`, fitted on the pooled rows
/// of all `dates` (never applied).
pub(super) fn suggest_weights(
    p: &Pipeline,
    pooled: &DataFrame,
    dates: &[NaiveDate],
    l2: f64,
) -> Result<Vec<WeightSuggestion>> {
    let mut out = Vec::new();
    for sc in &p.scorecards {
        let ScorecardRows {
            rows,
            churned,
            as_of,
            points,
        } = scorecard_rows(p, sc, pooled)?;
        let current: Vec<f64> = sc.weights.clone();
        let current_total: f64 = current.iter().sum::<f64>().max(1e-12);
        let n_pos = churned.iter().filter(|v| **v).count();
        let n_neg = churned.len() - n_pos;
        let current_auc = auc(&rows, SCORE, CHURNED)?;
        let mut s = WeightSuggestion {
            scorecard: sc.name.clone(),
            when: sc.when.as_ref().map(|w| w.text.clone()),
            accounts: churned.len(),
            churned: n_pos,
            groups: Vec::new(),
            note: None,
            current_auc,
            suggested_auc: None,
            out_of_time: None,
            recommended: false,
            fit: None,
        };
        let fitted = if n_pos < MIN_CHURNERS_TO_FIT || n_neg < MIN_CHURNERS_TO_FIT {
            s.note = Some(format!(
                "too few outcomes to fit ({n_pos} churned, {n_neg} retained; at least {MIN_CHURNERS_TO_FIT} of each needed): keep the current weights"
            ));
            None
        } else {
            let f = fit_group_weights(&points, &churned, l2);
            if f.is_none() {
                s.note =
                    Some("no group's points predict churn here: keep the current weights".into());
            }
            f
        };
        if let Some(f) = &fitted {
            let w: Vec<f64> = f.weights.iter().map(|v| *v as f64).collect();
            let scored: Vec<Option<f64>> = (0..churned.len())
                .map(|i| score_with_weights(&points, &w, i))
                .collect();
            s.suggested_auc = auc_of(scored, &churned)?;
            s.fit = Some(f.fit.clone());
        }
        // Out of time: fit on the earlier half of the dates, evaluate later.
        if dates.len() >= 2 && fitted.is_some() {
            s.out_of_time = Some(out_of_time(&points, &churned, &as_of, &current, dates, l2)?);
        }
        s.recommended = fitted.is_some()
            && match &s.out_of_time {
                Some(v) => match (v.suggested_auc, v.current_auc) {
                    (Some(a), Some(b)) => a >= b,
                    (None, _) => false,
                    (Some(_), None) => true,
                },
                None => true,
            };
        if fitted.is_some() && !s.recommended {
            s.note = Some(
                "out of time, weights fitted on the earlier dates rank the later dates' churners worse than the current weights: keep the current weights (or backtest a longer range)"
                    .into(),
            );
        }
        s.groups = p
            .groups
            .iter()
            .enumerate()
            .map(|(gi, g)| GroupWeight {
                group: g.name.clone(),
                current: current[gi],
                current_share: current[gi] / current_total * 100.0,
                suggested: fitted.as_ref().map(|f| f.weights[gi]),
                suggested_share: fitted.as_ref().map(|f| f.shares[gi]),
            })
            .collect();
        out.push(s);
    }
    Ok(out)
}

/// The scored rows of one scorecard and the columns the fit needs.
struct ScorecardRows {
    /// The rows (accounts of the scorecard with a score, all dates).
    rows: DataFrame,
    /// Whether each churned within the horizon.
    churned: Vec<bool>,
    /// Its as-of day number.
    as_of: Vec<i32>,
    /// Per group, each row's recomputed group points.
    points: Vec<Vec<Option<f64>>>,
}

/// The rows of scorecard `sc` with a score, from all dates pooled.
fn scorecard_rows(p: &Pipeline, sc: &Scorecard, pooled: &DataFrame) -> Result<ScorecardRows> {
    let rows = pooled
        .clone()
        .lazy()
        .filter(
            col(SCORECARD)
                .eq(lit(sc.name.as_str()))
                .and(col(SCORE).is_not_null()),
        )
        .collect()
        .map_err(pl("weights"))?;
    let churned = bools(&rows, CHURNED)?;
    let as_of: Vec<i32> = rows
        .column(AS_OF)
        .map_err(pl("weights"))?
        .i32()
        .map_err(pl("weights"))?
        .iter()
        .map(|v| v.unwrap_or(0))
        .collect();
    let points: Vec<Vec<Option<f64>>> = p
        .groups
        .iter()
        .map(|g| f64s(&rows, &group_points_column(&g.name)))
        .collect::<Result<_>>()?;
    Ok(ScorecardRows {
        rows,
        churned,
        as_of,
        points,
    })
}

/// Out of time: fits on the earlier half of `dates`, and scores the later
/// half with those weights and with the `current` ones.
fn out_of_time(
    points: &[Vec<Option<f64>>],
    churned: &[bool],
    as_of: &[i32],
    current: &[f64],
    dates: &[NaiveDate],
    l2: f64,
) -> Result<Validation> {
    let n_fit = fit_date_count(dates.len());
    let split = day_of(dates[n_fit]);
    let fit_idx: Vec<usize> = (0..as_of.len()).filter(|&i| as_of[i] < split).collect();
    let eval_idx: Vec<usize> = (0..as_of.len()).filter(|&i| as_of[i] >= split).collect();
    let take = |idx: &[usize]| -> (Vec<Vec<Option<f64>>>, Vec<bool>) {
        (
            points
                .iter()
                .map(|g| idx.iter().map(|&i| g[i]).collect())
                .collect(),
            idx.iter().map(|&i| churned[i]).collect(),
        )
    };
    let (fp, fy) = take(&fit_idx);
    let (ep, ey) = take(&eval_idx);
    let early = fit_group_weights(&fp, &fy, l2);
    let current_scores: Vec<Option<f64>> = eval_idx
        .iter()
        .map(|&i| score_with_weights(points, current, i))
        .collect();
    let suggested_auc = match &early {
        Some(e) => {
            let w: Vec<f64> = e.weights.iter().map(|v| *v as f64).collect();
            auc_of(
                (0..ey.len())
                    .map(|i| score_with_weights(&ep, &w, i))
                    .collect(),
                &ey,
            )?
        }
        None => None,
    };
    Ok(Validation {
        fit_dates: dates[..n_fit].iter().map(|d| d.to_string()).collect(),
        eval_dates: dates[n_fit..].iter().map(|d| d.to_string()).collect(),
        weights: early.map(|e| e.weights),
        current_auc: auc_of(current_scores, &ey)?,
        suggested_auc,
    })
}

/// The suggested weights of every scorecard as a TOML fragment (a
/// `[[scorecards]]` entry each; the current weights where none is suggested).
pub(super) fn toml_fragment(p: &Pipeline, weights: &[WeightSuggestion], opts: &Options) -> String {
    let mut t = String::new();
    let first = opts
        .dates
        .first()
        .map(|d| d.to_string())
        .unwrap_or_default();
    let last = opts.dates.last().map(|d| d.to_string()).unwrap_or_default();
    let _ = writeln!(
        t,
        "# Group weights suggested by `healthscore backtest` for {} ({} dates {first}..{last}, horizon {}d).",
        p.model_version(),
        opts.dates.len(),
        opts.horizon_days
    );
    let _ = writeln!(
        t,
        "# Suggestions only, never applied: replace the `weights` of each [[scorecards]] entry, keep its playbooks, and bump [pipeline] version."
    );
    for s in weights {
        t.push('\n');
        let _ = writeln!(t, "[[scorecards]]");
        let _ = writeln!(t, "name = {}", toml_str(&s.scorecard));
        if let Some(w) = &s.when {
            let _ = writeln!(t, "when = {}", toml_str(w));
        }
        let suggested: Option<Vec<(String, i64)>> = s
            .groups
            .iter()
            .map(|g| g.suggested.map(|w| (g.group.clone(), w)))
            .collect();
        match suggested {
            Some(ws) => {
                let _ = writeln!(
                    t,
                    "# AUC on all dates: suggested {} vs current {}{}",
                    f3(s.suggested_auc),
                    f3(s.current_auc),
                    match &s.out_of_time {
                        Some(v) => format!(
                            "; out of time (fit on {}, evaluated on {}): suggested {} vs current {}",
                            v.fit_dates.join(","),
                            v.eval_dates.join(","),
                            f3(v.suggested_auc),
                            f3(v.current_auc)
                        ),
                        None => String::new(),
                    }
                );
                let body: Vec<String> = ws
                    .iter()
                    .map(|(g, w)| format!("{} = {w}", toml_key(g)))
                    .collect();
                if s.recommended {
                    let _ = writeln!(t, "weights = {{ {} }}", body.join(", "));
                } else {
                    let _ = writeln!(
                        t,
                        "# fitted, NOT suggested: {{ {} }}\n# {}",
                        body.join(", "),
                        s.note.as_deref().unwrap_or("")
                    );
                    let _ = writeln!(t, "weights = {{ {} }}", current_weights(s));
                }
            }
            None => {
                let _ = writeln!(t, "# {}", s.note.as_deref().unwrap_or("no suggestion"));
                let _ = writeln!(t, "weights = {{ {} }}", current_weights(s));
            }
        }
    }
    t
}

/// The current weights of a scorecard as the body of a TOML inline table.
fn current_weights(s: &WeightSuggestion) -> String {
    s.groups
        .iter()
        .map(|g| format!("{} = {}", toml_key(&g.group), fmt_weight(g.current)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A TOML key: bare when it can be, else quoted.
fn toml_key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_string()
    } else {
        toml_str(k)
    }
}

/// A TOML basic string.
fn toml_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
