//! The statistics of one population of account-dates: ROC AUC (rank-based
//! Mann-Whitney), churn per band, the lowest-scored decile, lead time, each
//! signal's AUC on its own, the ROC curve and the score histogram.

use polars::prelude::*;
use serde::Serialize;

use super::{group_points_column, pl, AS_OF, BAND, CHURNED, CHURNED_ON, CUSTOMER_ID, SCORE};
use crate::error::Result;
use crate::pipeline::Pipeline;
use crate::score::points_column;

/// Expressions giving (rows, positives, rank sum of positives) of `x`
/// against `y` over rows where both are present; ranks by descending `x`
/// (so the lowest score, the riskiest, has the highest rank), ties averaged.
fn auc_parts(x: &str, y: &str, prefix: &str) -> Vec<Expr> {
    let valid = col(x).is_not_null().and(col(y).is_not_null());
    let yv = col(y).filter(valid.clone()).cast(DataType::Float64);
    let rank = col(x)
        .filter(valid.clone())
        .rank(
            RankOptions {
                method: RankMethod::Average,
                descending: true,
            },
            None,
        )
        .cast(DataType::Float64);
    vec![
        valid
            .cast(DataType::Float64)
            .sum()
            .alias(format!("{prefix}n")),
        yv.clone().sum().alias(format!("{prefix}pos")),
        (rank * yv).sum().alias(format!("{prefix}rpos")),
    ]
}

/// Mann-Whitney AUC from (rows, positives, rank sum of the positives).
fn auc_from(n: f64, pos: f64, rpos: f64) -> Option<f64> {
    let neg = n - pos;
    if pos < 0.5 || neg < 0.5 {
        return None;
    }
    Some(((rpos - pos * (pos + 1.0) / 2.0) / (pos * neg)).clamp(0.0, 1.0))
}

/// The first value of column `c` as f64 (0 when missing or null).
pub(super) fn scalar_f64(df: &DataFrame, c: &str) -> f64 {
    df.column(c)
        .ok()
        .and_then(|s| s.get(0).ok())
        .and_then(|v| v.extract::<f64>())
        .unwrap_or(0.0)
}

/// ROC AUC of `score` against the boolean `churned`, lower score = riskier:
/// the probability that a churner scores below a non-churner, ties counting
/// one half (rank-based Mann-Whitney). Rows with a null on either side are
/// left out; None without both churners and non-churners.
pub fn auc(df: &DataFrame, score: &str, churned: &str) -> Result<Option<f64>> {
    let s = df
        .clone()
        .lazy()
        .select(auc_parts(score, churned, ""))
        .collect()
        .map_err(pl("AUC"))?;
    Ok(auc_from(
        scalar_f64(&s, "n"),
        scalar_f64(&s, "pos"),
        scalar_f64(&s, "rpos"),
    ))
}

/// The accounts of each distinct score, ascending: (score, rows, churners).
fn score_counts(df: &DataFrame, score: &str, churned: &str) -> Result<Vec<(f64, f64, f64)>> {
    let g = df
        .clone()
        .lazy()
        .filter(col(score).is_not_null())
        .group_by([col(score).cast(DataType::Float64)])
        .agg([
            len().cast(DataType::Float64).alias("__n"),
            col(churned)
                .cast(DataType::Float64)
                .fill_null(lit(0.0))
                .sum()
                .alias("__pos"),
        ])
        .sort([score], SortMultipleOptions::default())
        .collect()
        .map_err(pl("score counts"))?;
    let s = f64s(&g, score)?;
    let n = f64s(&g, "__n")?;
    let p = f64s(&g, "__pos")?;
    Ok(s.into_iter()
        .zip(n)
        .zip(p)
        .map(|((s, n), p)| (s.unwrap_or(0.0), n.unwrap_or(0.0), p.unwrap_or(0.0)))
        .collect())
}

/// Column `name` as optional f64 values.
pub(super) fn f64s(df: &DataFrame, name: &str) -> Result<Vec<Option<f64>>> {
    let c = df
        .column(name)
        .map_err(pl("reading a column"))?
        .cast(&DataType::Float64)
        .map_err(pl("reading a column"))?;
    Ok(c.f64().map_err(pl("reading a column"))?.iter().collect())
}

/// Column `name` as booleans (null counts as false).
pub(super) fn bools(df: &DataFrame, name: &str) -> Result<Vec<bool>> {
    let c = df.column(name).map_err(pl("reading a column"))?;
    Ok(c.bool()
        .map_err(pl("reading a column"))?
        .iter()
        .map(|v| v.unwrap_or(false))
        .collect())
}

/// The lowest-scored share of the accounts and the churners in it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Decile {
    /// The share of the scored accounts taken (0.1).
    pub share: f64,
    /// Accounts taken (share × scored; fractional when the cut splits ties).
    pub accounts: f64,
    /// Churners among them (in expectation when the cut splits a tie: the
    /// tied accounts enter in proportion).
    pub churned: f64,
    /// Highest score taken.
    pub score_cutoff: f64,
    /// Churn rate among them.
    pub churn_rate: f64,
    /// Share of all churners caught.
    pub capture: f64,
    /// Churn rate among them over the overall churn rate (= capture / share).
    pub lift: f64,
}

/// Lift and capture of the lowest-scored `share` of the accounts with a
/// score; accounts tied at the cut enter in proportion (the expectation of
/// breaking ties at random). None without churners.
pub fn lowest_share(
    df: &DataFrame,
    score: &str,
    churned: &str,
    share: f64,
) -> Result<Option<Decile>> {
    Ok(decile_from_counts(
        &score_counts(df, score, churned)?,
        share,
    ))
}

/// [`lowest_share`] from [`score_counts`].
fn decile_from_counts(counts: &[(f64, f64, f64)], share: f64) -> Option<Decile> {
    let n: f64 = counts.iter().map(|c| c.1).sum();
    let pos: f64 = counts.iter().map(|c| c.2).sum();
    if n <= 0.0 || pos <= 0.0 {
        return None;
    }
    let k = share * n;
    let mut taken = 0.0;
    let mut caught = 0.0;
    let mut cutoff = counts.first().map(|c| c.0).unwrap_or(0.0);
    for &(s, cn, cp) in counts {
        if taken >= k - 1e-9 {
            break;
        }
        let f = ((k - taken) / cn).min(1.0);
        taken += f * cn;
        caught += f * cp;
        cutoff = s;
    }
    let rate = pos / n;
    Some(Decile {
        share,
        accounts: k,
        churned: caught,
        score_cutoff: cutoff,
        churn_rate: caught / k,
        capture: caught / pos,
        lift: (caught / k) / rate,
    })
}

/// Lead time: days from a churner's first alert-band score to its churn.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct LeadTime {
    /// Churners: (account, churn date) pairs with a churn within the horizon
    /// of at least one date scored.
    pub churners: usize,
    /// Those scored in an alert band on some date before churning.
    pub flagged: usize,
    /// flagged / churners.
    pub flagged_share: Option<f64>,
    /// Median days between the first alert and the churn, over the flagged.
    pub median_days: Option<f64>,
    /// Mean of the same.
    pub mean_days: Option<f64>,
}

/// Lead time over the rows of `df` (columns [`CUSTOMER_ID`], [`AS_OF`],
/// [`BAND`], [`CHURNED`], [`CHURNED_ON`]): for every churner, the earliest
/// date it was scored in one of `alert` bands before its churn date.
pub fn lead_time(df: &DataFrame, alert: &[String]) -> Result<LeadTime> {
    let is_alert = alert
        .iter()
        .fold(lit(false), |acc, b| acc.or(col(BAND).eq(lit(b.as_str()))))
        .fill_null(lit(false));
    let s = df
        .clone()
        .lazy()
        .filter(col(CHURNED_ON).is_not_null())
        .group_by([col(CUSTOMER_ID), col(CHURNED_ON)])
        .agg([
            col(CHURNED).any(true).alias("__pos"),
            col(AS_OF).filter(is_alert).min().alias("__first"),
        ])
        .filter(col("__pos"))
        .with_column(
            (col(CHURNED_ON).cast(DataType::Int64) - col("__first").cast(DataType::Int64))
                .cast(DataType::Float64)
                .alias("__lead"),
        )
        .select([
            len().cast(DataType::Float64).alias("churners"),
            col("__lead")
                .count()
                .cast(DataType::Float64)
                .alias("flagged"),
            col("__lead").median().alias("median"),
            col("__lead").mean().alias("mean"),
        ])
        .collect()
        .map_err(pl("lead time"))?;
    let opt = |c: &str| {
        s.column(c)
            .ok()
            .and_then(|x| x.get(0).ok())
            .and_then(|v| v.extract::<f64>())
    };
    let churners = opt("churners").unwrap_or(0.0) as usize;
    let flagged = opt("flagged").unwrap_or(0.0) as usize;
    Ok(LeadTime {
        churners,
        flagged,
        flagged_share: (churners > 0).then(|| flagged as f64 / churners as f64),
        median_days: if flagged > 0 { opt("median") } else { None },
        mean_days: if flagged > 0 { opt("mean") } else { None },
    })
}

/// Churn among the accounts of one band.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BandRate {
    /// Band name.
    pub band: String,
    /// Its colour in the pipeline.
    pub color: String,
    /// Account-dates in the band.
    pub accounts: usize,
    /// Those that churned within the horizon.
    pub churned: usize,
    /// churned / accounts.
    pub churn_rate: Option<f64>,
}

/// One signal's AUC on its own (a group's or a metric's points).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SignalAuc {
    /// Group or metric name.
    pub name: String,
    /// Account-dates where it has points.
    pub accounts: usize,
    /// AUC of its points (lower points = riskier).
    pub auc: Option<f64>,
}

/// Share of churners and of retained accounts in one score bin.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HistBin {
    /// Lowest score of the bin.
    pub from: i32,
    /// Highest score of the bin.
    pub to: i32,
    /// Churners in the bin.
    pub churned: f64,
    /// Retained accounts in the bin.
    pub retained: f64,
    /// Share of all churners.
    pub churned_share: f64,
    /// Share of all retained accounts.
    pub retained_share: f64,
}

/// Every figure of one population (a date or all, a scorecard or all).
#[derive(Debug, Clone, Serialize)]
pub struct Eval {
    /// Account-dates (accounts not churned by their date).
    pub accounts: usize,
    /// Those with a score.
    pub scored: usize,
    /// Account-dates that churned within the horizon.
    pub churned: usize,
    /// churned / accounts.
    pub churn_rate: Option<f64>,
    /// ROC AUC of the score (scored accounts).
    pub auc: Option<f64>,
    /// Churn per band, lowest band first, the unscored band last.
    pub bands: Vec<BandRate>,
    /// Whether the churn rate never rises from one band to the next (bands
    /// with accounts, unscored left out).
    pub bands_fall: Option<bool>,
    /// The lowest-scored decile.
    pub lowest_decile: Option<Decile>,
    /// Lead time of the alert bands.
    pub lead_time: LeadTime,
    /// Each group's points on their own.
    pub groups: Vec<SignalAuc>,
    /// Each scored metric's points on their own.
    pub metrics: Vec<SignalAuc>,
    /// ROC curve points (false positive rate, true positive rate), flagging
    /// score ≤ t for each distinct score t ascending.
    pub roc: Vec<[f64; 2]>,
    /// Score distribution by outcome, bins of 5 points.
    pub score_histogram: Vec<HistBin>,
}

/// What [`evaluate`] needs besides the rows.
pub(super) struct Ctx<'a> {
    /// The pipeline scored.
    pub(super) p: &'a Pipeline,
    /// Bands counted as an alert for lead time.
    pub(super) alert: &'a [String],
}

/// Every figure of the rows of `df` (one population).
pub(super) fn evaluate(df: &DataFrame, ctx: &Ctx) -> Result<Eval> {
    let p = ctx.p;
    // Every signal's AUC parts and the counts, in one pass.
    let mut exprs = vec![
        len().cast(DataType::Float64).alias("rows"),
        col(SCORE)
            .is_not_null()
            .cast(DataType::Float64)
            .sum()
            .alias("scored"),
        col(CHURNED).cast(DataType::Float64).sum().alias("churned"),
    ];
    exprs.extend(auc_parts(SCORE, CHURNED, "score."));
    let groups: Vec<(String, String)> = p
        .groups
        .iter()
        .map(|g| (g.name.clone(), group_points_column(&g.name)))
        .collect();
    let metrics: Vec<(String, String)> = p
        .metrics
        .iter()
        .filter(|m| m.scoring.is_some())
        .map(|m| (m.name.clone(), points_column(&m.name)))
        .collect();
    for (i, (_, c)) in groups.iter().enumerate() {
        exprs.extend(auc_parts(c, CHURNED, &format!("g{i}.")));
    }
    for (i, (_, c)) in metrics.iter().enumerate() {
        exprs.extend(auc_parts(c, CHURNED, &format!("m{i}.")));
    }
    let s = df
        .clone()
        .lazy()
        .select(exprs)
        .collect()
        .map_err(pl("backtest measures"))?;
    let v = |c: &str| scalar_f64(&s, c);
    let signal = |prefix: &str, name: &str| SignalAuc {
        name: name.to_string(),
        accounts: v(&format!("{prefix}n")) as usize,
        auc: auc_from(
            v(&format!("{prefix}n")),
            v(&format!("{prefix}pos")),
            v(&format!("{prefix}rpos")),
        ),
    };
    let accounts = v("rows") as usize;
    let churned = v("churned") as usize;

    let (bands, bands_fall) = band_rates(df, p)?;

    let counts = score_counts(df, SCORE, CHURNED)?;
    Ok(Eval {
        accounts,
        scored: v("scored") as usize,
        churned,
        churn_rate: (accounts > 0).then(|| churned as f64 / accounts as f64),
        auc: auc_from(v("score.n"), v("score.pos"), v("score.rpos")),
        bands,
        bands_fall,
        lowest_decile: decile_from_counts(&counts, 0.1),
        lead_time: lead_time(df, ctx.alert)?,
        groups: groups
            .iter()
            .enumerate()
            .map(|(i, (n, _))| signal(&format!("g{i}."), n))
            .collect(),
        metrics: metrics
            .iter()
            .enumerate()
            .map(|(i, (n, _))| signal(&format!("m{i}."), n))
            .collect(),
        roc: roc_from_counts(&counts),
        score_histogram: histogram_from_counts(&counts),
    })
}

/// Churn per band, lowest band first and the unscored band last, and
/// whether the churn rate never rises from one band to the next.
fn band_rates(df: &DataFrame, p: &Pipeline) -> Result<(Vec<BandRate>, Option<bool>)> {
    let by_band = df
        .clone()
        .lazy()
        .group_by([col(BAND)])
        .agg([
            len().cast(DataType::Float64).alias("__n"),
            col(CHURNED).cast(DataType::Float64).sum().alias("__pos"),
        ])
        .collect()
        .map_err(pl("churn per band"))?;
    let names: Vec<Option<String>> = by_band
        .column(BAND)
        .map_err(pl("churn per band"))?
        .str()
        .map_err(pl("churn per band"))?
        .iter()
        .map(|s| s.map(str::to_string))
        .collect();
    let bn = f64s(&by_band, "__n")?;
    let bp = f64s(&by_band, "__pos")?;
    let mut ordered = p.bands.clone();
    ordered.sort_by_key(|b| b.min);
    ordered.push(p.unscored.clone());
    let bands: Vec<BandRate> = ordered
        .iter()
        .map(|b| {
            let i = names
                .iter()
                .position(|n| n.as_deref() == Some(b.name.as_str()));
            let n = i.and_then(|i| bn[i]).unwrap_or(0.0) as usize;
            let c = i.and_then(|i| bp[i]).unwrap_or(0.0) as usize;
            BandRate {
                band: b.name.clone(),
                color: b.color.clone(),
                accounts: n,
                churned: c,
                churn_rate: (n > 0).then(|| c as f64 / n as f64),
            }
        })
        .collect();
    let rates: Vec<f64> = bands[..bands.len() - 1]
        .iter()
        .filter_map(|b| b.churn_rate)
        .collect();
    let bands_fall = (rates.len() >= 2).then(|| rates.windows(2).all(|w| w[1] <= w[0]));
    Ok((bands, bands_fall))
}

/// ROC points flagging score ≤ t, for every distinct score t ascending.
fn roc_from_counts(counts: &[(f64, f64, f64)]) -> Vec<[f64; 2]> {
    let pos: f64 = counts.iter().map(|c| c.2).sum();
    let neg: f64 = counts.iter().map(|c| c.1 - c.2).sum();
    if pos <= 0.0 || neg <= 0.0 {
        return Vec::new();
    }
    let mut out = vec![[0.0, 0.0]];
    let (mut tp, mut fp) = (0.0, 0.0);
    for &(_, n, p) in counts {
        tp += p;
        fp += n - p;
        out.push([fp / neg, tp / pos]);
    }
    out
}

/// Score histogram by outcome, bins of 5 points, from [`score_counts`].
fn histogram_from_counts(counts: &[(f64, f64, f64)]) -> Vec<HistBin> {
    let pos: f64 = counts.iter().map(|c| c.2).sum();
    let neg: f64 = counts.iter().map(|c| c.1 - c.2).sum();
    let mut bins: Vec<HistBin> = (0..20)
        .map(|i| HistBin {
            from: i * 5,
            to: if i == 19 { 100 } else { i * 5 + 4 },
            churned: 0.0,
            retained: 0.0,
            churned_share: 0.0,
            retained_share: 0.0,
        })
        .collect();
    for &(s, n, p) in counts {
        let i = ((s / 5.0).floor() as i64).clamp(0, 19) as usize;
        bins[i].churned += p;
        bins[i].retained += n - p;
    }
    for b in &mut bins {
        b.churned_share = if pos > 0.0 { b.churned / pos } else { 0.0 };
        b.retained_share = if neg > 0.0 { b.retained / neg } else { 0.0 };
    }
    bins
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn frame(scores: &[Option<f64>], churned: &[bool]) -> DataFrame {
        DataFrame::new_infer_height(vec![
            Column::new(SCORE.into(), scores.to_vec()),
            Column::new(CHURNED.into(), churned.to_vec()),
        ])
        .unwrap()
    }

    /// AUC by definition: pairs (churner, non-churner) where the churner
    /// scores lower, ties one half.
    fn auc_pairs(s: &[f64], y: &[bool]) -> f64 {
        let (mut num, mut den) = (0.0, 0.0);
        for i in 0..s.len() {
            for j in 0..s.len() {
                if y[i] && !y[j] {
                    den += 1.0;
                    num += if s[i] < s[j] {
                        1.0
                    } else if s[i] == s[j] {
                        0.5
                    } else {
                        0.0
                    };
                }
            }
        }
        num / den
    }

    #[test]
    fn rank_auc_matches_pair_counting_and_roc_area() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for _ in 0..20 {
            let n = rng.gen_range(5..60);
            let s: Vec<f64> = (0..n).map(|_| rng.gen_range(0..12) as f64).collect();
            let mut y: Vec<bool> = (0..n).map(|_| rng.gen_bool(0.3)).collect();
            y[0] = true;
            y[1] = false;
            let df = frame(&s.iter().map(|v| Some(*v)).collect::<Vec<_>>(), &y);
            let a = auc(&df, SCORE, CHURNED).unwrap().unwrap();
            assert!((a - auc_pairs(&s, &y)).abs() < 1e-12, "{a}");
            // Trapezoid area under the ROC points gives the same value.
            let roc = roc_from_counts(&score_counts(&df, SCORE, CHURNED).unwrap());
            let area: f64 = roc
                .windows(2)
                .map(|w| (w[1][0] - w[0][0]) * (w[1][1] + w[0][1]) / 2.0)
                .sum();
            assert!((a - area).abs() < 1e-12, "{a} vs {area}");
        }
    }

    #[test]
    fn auc_ignores_nulls_and_needs_both_outcomes() {
        let df = frame(&[Some(1.0), None, Some(3.0)], &[true, true, false]);
        assert_eq!(auc(&df, SCORE, CHURNED).unwrap(), Some(1.0));
        let df = frame(&[Some(1.0), Some(2.0)], &[true, true]);
        assert_eq!(auc(&df, SCORE, CHURNED).unwrap(), None);
    }

    #[test]
    fn decile_splits_ties_in_proportion() {
        // 20 accounts, 2 taken; the three lowest are tied at 5 (one churner).
        let mut counts = vec![(5.0, 3.0, 1.0)];
        counts.push((50.0, 17.0, 3.0));
        let d = decile_from_counts(&counts, 0.1).unwrap();
        assert!((d.accounts - 2.0).abs() < 1e-12);
        assert!((d.churned - 2.0 / 3.0).abs() < 1e-12);
        assert!((d.capture - (2.0 / 3.0) / 4.0).abs() < 1e-12);
        assert!((d.lift - d.capture / 0.1).abs() < 1e-12);
        assert_eq!(d.score_cutoff, 5.0);
    }
}
