//! SPEC §11 changes: each changed account's previous row found by a merge
//! of two sorted id columns ([`sorted_positions`]), and the metric that
//! caused the change ([`change_causes`]): a scored metric contributes
//! points · w_g/Σ_present w · w_m/Σ_present-in-g w_m to score_raw, and
//! the cause is the metric whose contribution moved the most in the
//! direction of the change.

use crate::scoring::{round9, ScoreModel};
use crate::{Bits, Floats, Strings};

/// The position in `sorted` of each id of `keys`, None where it has none;
/// both must hold strictly ascending ids (byte order), chunk after chunk:
/// one merge, no hashing. None when either is not ascending.
pub fn sorted_positions(keys: &[Strings<'_>], sorted: &[Strings<'_>]) -> Option<Vec<Option<u32>>> {
    let mut targets = ascending(sorted).enumerate().peekable();
    let mut out = Vec::with_capacity(keys.iter().map(Strings::len).sum());
    for k in ascending(keys) {
        let k = k?;
        while let Some((_, t)) = targets.next_if(|(_, t)| t.is_none_or(|t| t < k)) {
            t?;
        }
        out.push(match targets.peek() {
            Some((_, None)) => return None,
            Some((at, Some(t))) if *t == k => Some(*at as u32),
            _ => None,
        });
    }
    // The rest of `sorted` must ascend too.
    targets.all(|(_, t)| t.is_some()).then_some(out)
}

/// The ids of `chunks`, chunk after chunk, each None when it does not
/// come after the id before it.
fn ascending<'a>(chunks: &'a [Strings<'a>]) -> impl Iterator<Item = Option<&'a [u8]>> + 'a {
    let mut ids = chunks
        .iter()
        .flat_map(|c| (0..c.len()).map(move |i| c.get(i)));
    let mut last: Option<&[u8]> = None;
    std::iter::from_fn(move || {
        let id = ids.next()?;
        let after = last.is_none_or(|l| l < id);
        last = Some(id);
        Some(after.then_some(id))
    })
}

/// One snapshot's side of the changes: each scored metric's points (as
/// [`ScoreModel::metrics`]; null: no points) and each row's scorecard
/// position (the scorecards' count or more: none matched).
pub struct Side<'a> {
    /// Points per scored metric.
    pub points: Vec<Floats<'a>>,
    /// Scorecard position per row.
    pub scorecard: &'a [u32],
}

/// The cause of each row's change (NaN where null).
#[derive(Debug, Clone, PartialEq)]
pub struct Causes {
    /// The cause's position among the scored metrics; None when no
    /// contribution moved in the direction of the change.
    pub metric: Vec<Option<u32>>,
    /// Its points in the previous snapshot.
    pub prev_points: Vec<f64>,
    /// Its points now.
    pub points: Vec<f64>,
    /// Its contribution now minus before (both rounded to 9 decimals),
    /// rounded to 9 decimals.
    pub delta: Vec<f64>,
}

/// Point `i` of a float column, NaN where null.
fn value((values, valid): &Floats<'_>, i: usize) -> f64 {
    match valid {
        Some(v) if !v.get(i) => f64::NAN,
        _ => values[i],
    }
}

/// Each scored metric's contribution to one row's score_raw on one side,
/// with the scratch space that computes it (reused from row to row).
struct Contributions {
    /// Per scored metric, the contribution (see [`Contributions::of_row`]).
    values: Vec<f64>,
    /// Per scored metric, the row's points (NaN: none).
    points: Vec<f64>,
    /// Per group, the weight of its metrics with points.
    in_group: Vec<f64>,
    /// Per group, whether one of its metrics has points.
    group_present: Vec<bool>,
}

impl Contributions {
    fn new(model: &ScoreModel) -> Self {
        let (metrics, groups) = (model.metrics.len(), model.group_totals.len());
        Contributions {
            values: vec![0.0; metrics],
            points: vec![0.0; metrics],
            in_group: vec![0.0; groups],
            group_present: vec![false; groups],
        }
    }

    /// Row `i`'s contributions on `side`, rounded to 9 decimals: points ·
    /// ((w_g / Σ_present w) · w_m) / Σ_present-in-g w_m under the row's
    /// scorecard, summed in the model's order; 0 for a metric without
    /// points, in a group the scorecard does not weigh, or when no
    /// scorecard matched.
    fn of_row(&mut self, model: &ScoreModel, side: &Side<'_>, i: usize) {
        self.values.fill(0.0);
        let Some(weights) = model.weights.get(side.scorecard[i] as usize) else {
            return;
        };
        for (p, column) in self.points.iter_mut().zip(&side.points) {
            *p = value(column, i);
        }
        self.in_group.fill(0.0);
        self.group_present.fill(false);
        for (metric, p) in model.metrics.iter().zip(&self.points) {
            if !p.is_nan() {
                self.in_group[metric.group] += metric.weight;
                self.group_present[metric.group] = true;
            }
        }
        let present_w: f64 = weights
            .iter()
            .zip(&self.group_present)
            .filter(|(w, present)| **w > 0.0 && **present)
            .map(|(w, _)| w)
            .sum();
        for ((metric, p), c) in model.metrics.iter().zip(&self.points).zip(&mut self.values) {
            let w_g = weights[metric.group];
            if w_g > 0.0 && !p.is_nan() {
                let share = w_g / present_w * metric.weight / self.in_group[metric.group];
                *c = round9(p * share);
            }
        }
    }
}

/// The cause of each row's change between `before` and `now` (SPEC §11):
/// the scored metric whose contribution moved the most in the direction
/// of the change (`down`, a bit a row: the account's band or score fell) — its delta
/// (now − before, rounded to 9 decimals) largest and positive in that
/// direction, ties to the metric first in the model's order — with its
/// points then and now and its delta.
pub fn change_causes(
    model: &ScoreModel,
    now: &Side<'_>,
    before: &Side<'_>,
    down: Bits<'_>,
) -> Causes {
    let rows = now.scorecard.len();
    let mut causes = Causes {
        metric: Vec::with_capacity(rows),
        prev_points: Vec::with_capacity(rows),
        points: Vec::with_capacity(rows),
        delta: Vec::with_capacity(rows),
    };
    let (mut c_now, mut c_before) = (Contributions::new(model), Contributions::new(model));
    for i in 0..rows {
        c_now.of_row(model, now, i);
        c_before.of_row(model, before, i);
        let mut best = (None, 0.0, f64::NAN);
        for (m, (a, b)) in c_now.values.iter().zip(&c_before.values).enumerate() {
            let delta = round9(a - b);
            let toward = if down.get(i) { -delta } else { delta };
            if toward > best.1 {
                best = (Some(m), toward, delta);
            }
        }
        let (metric, _, delta) = best;
        causes.metric.push(metric.map(|m| m as u32));
        causes.delta.push(delta);
        causes
            .prev_points
            .push(metric.map_or(f64::NAN, |m| value(&before.points[m], i)));
        causes
            .points
            .push(metric.map_or(f64::NAN, |m| value(&now.points[m], i)));
    }
    causes
}
