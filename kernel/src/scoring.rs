//! Row scoring (SPEC §4) in one pass per account: points of each scored
//! metric, group points, score_raw, score, band, completeness, each
//! metric's loss and the three top drivers, from the account's raw values
//! and scorecard. Each row needs only its own values (percentile points,
//! which need every account, come in already computed), so callers may
//! score any range of rows, each into its own part of the output columns.
//!
//! Inside, and in the float outputs, NaN stands for null (every valid value
//! is finite): the loops run column by column over blocks of rows without
//! branches, so the compiler vectorises them. [`nulls_from_nan`] then gives
//! each output column its validity.
//!
//! Also here: the percentile points that row scoring takes as given
//! ([`percentile_points`]), each account's value gathered into rows
//! ([`gather_valid`]), and the decoders of the codes row scoring writes
//! ([`driver_positions`], [`band_positions`]).

use crate::Bits;

/// A float column with its validity (None: no nulls).
pub type Floats<'a> = (&'a [f64], Option<Bits<'a>>);

/// Bits per driver in a [`RowOutputs::top`] code.
pub const DRIVER_BITS: u32 = 21;

/// Drivers (fields) in a [`RowOutputs::top`] code.
const TOP_DRIVERS: u32 = 3;

/// The `k`-th driver (k = 0 for the largest loss, then 1 and 2) of a
/// [`RowOutputs::top`] code: its position in [`ScoreModel::drivers`]
/// (the drivers' order, not the metric's position in
/// [`ScoreModel::metrics`]: that is `drivers[position]`), None when the
/// row has fewer than `k + 1` drivers. Field `k` of the code (bits
/// `DRIVER_BITS · k ..`, [`DRIVER_BITS`] of them) holds 1 + the position,
/// 0 for none; a code holds three fields, so `k` ≥ 3 gives None.
pub fn driver_position(code: u64, k: u32) -> Option<u32> {
    if k >= TOP_DRIVERS {
        return None;
    }
    let field = (code >> (DRIVER_BITS * k)) & ((1u64 << DRIVER_BITS) - 1);
    field.checked_sub(1).map(|position| position as u32)
}

/// [`driver_position`] of each code: each row's `k`-th driver (None:
/// the row has fewer drivers).
pub fn driver_positions(codes: &[u64], k: u32) -> Vec<Option<u32>> {
    codes.iter().map(|&code| driver_position(code, k)).collect()
}

/// The band of a [`RowOutputs::band`] value: its position in
/// [`ScoreModel::bands`] (`bands` is their count), None for the unscored
/// band, which the kernel writes as `bands` (no band holds the score, or
/// there is no score).
pub fn band_position(band: u32, bands: usize) -> Option<u32> {
    ((band as usize) < bands).then_some(band)
}

/// [`band_position`] of each row's band value.
pub fn band_positions(band: &[u32], bands: usize) -> Vec<Option<u32>> {
    band.iter().map(|&b| band_position(b, bands)).collect()
}

/// How a scored metric's raw value becomes points.
#[derive(Debug, Clone, PartialEq)]
pub enum PointsRule {
    /// 100 · clamp((x − lo) / span, 0, 1), where span = hi − lo.
    Linear {
        /// Value worth 0 points.
        lo: f64,
        /// hi − lo (negative when lower is better).
        span: f64,
    },
    /// The points of the last step, in order, whose threshold x reaches;
    /// the first step's points when x reaches none.
    Steps(Vec<(f64, f64)>),
    /// The points are an input column (percentile points: they rank every
    /// account, missing values included).
    Given,
}

/// A scored metric as the kernel sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoredMetric {
    /// Position of its group.
    pub group: usize,
    /// Weight inside its group (> 0).
    pub weight: f64,
    /// Raw value to points.
    pub rule: PointsRule,
    /// Points of a missing raw value (None: the metric is skipped); not
    /// applied to [`PointsRule::Given`], whose points include it.
    pub missing: Option<f64>,
}

/// The pipeline's scoring, as row scoring needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreModel {
    /// The scored metrics, in the pipeline's order.
    pub metrics: Vec<ScoredMetric>,
    /// Per scorecard, each group's weight (0: not used).
    pub weights: Vec<Vec<f64>>,
    /// Per group, the sum of its metrics' weights (0: no metrics).
    pub group_totals: Vec<f64>,
    /// Each band's (min, max) score, in order.
    pub bands: Vec<(i32, i32)>,
    /// The scored metrics' positions in the order that breaks ties
    /// between equal losses (by name): the drivers' order.
    pub drivers: Vec<usize>,
}

/// The columns row scoring reads, aligned row for row.
pub struct RowInputs<'a> {
    /// Each scored metric's raw value (null: missing), as `model.metrics`.
    pub raw: Vec<Floats<'a>>,
    /// Each scored metric's points column when its rule is
    /// [`PointsRule::Given`].
    pub given: Vec<Option<Floats<'a>>>,
    /// Each row's scorecard position (null: no scorecard matched).
    pub scorecard: (&'a [u32], Option<Bits<'a>>),
}

/// The columns row scoring writes for one range of rows (each as long as
/// the range), NaN where null.
pub struct RowOutputs<'a> {
    /// Points of each scored metric whose rule is not
    /// [`PointsRule::Given`], in the model's order.
    pub points: Vec<&'a mut [f64]>,
    /// Each group's points (null when the scorecard does not use the group
    /// or none of its metrics has points).
    pub groups: Vec<&'a mut [f64]>,
    /// Weighted mean of the used groups' points.
    pub score_raw: &'a mut [f64],
    /// score_raw rounded to 9 decimals, then to an integer (half away from
    /// zero).
    pub score: &'a mut [f64],
    /// Position of the first band holding the score; the bands' count
    /// when none does (the unscored band).
    pub band: &'a mut [u32],
    /// Share of the score's weight that rests on observed raw values (0
    /// for an unscored account; never null).
    pub completeness: &'a mut [f64],
    /// Each scored metric's loss (SPEC §4), rounded to 9 decimals; null
    /// when it has no points or its group does not count.
    pub losses: Vec<&'a mut [f64]>,
    /// The three largest positive losses (compared rounded to 9
    /// decimals; of equal ones the first in [`ScoreModel::drivers`]' order)
    /// as a code: bits `21 k ..` hold 1 + the position in that order of
    /// the `k`-th largest, 0 when there are fewer.
    pub top: &'a mut [u64],
}

impl<'a> RowOutputs<'a> {
    /// The outputs of `model` for one range of rows, out of the parts of
    /// its float columns in the order the fields are declared: the points
    /// it computes, the groups' points, score_raw, score, completeness,
    /// then each metric's loss.
    pub fn from_parts(
        model: &ScoreModel,
        floats: impl IntoIterator<Item = &'a mut [f64]>,
        band: &'a mut [u32],
        top: &'a mut [u64],
    ) -> Self {
        let computed = model
            .metrics
            .iter()
            .filter(|m| m.rule != PointsRule::Given)
            .count();
        let mut part = floats.into_iter();
        RowOutputs {
            points: part.by_ref().take(computed).collect(),
            groups: part.by_ref().take(model.group_totals.len()).collect(),
            score_raw: part.next().expect("a part for score_raw"),
            score: part.next().expect("a part for score"),
            completeness: part.next().expect("a part for completeness"),
            losses: part.collect(),
            band,
            top,
        }
    }
}

/// Rows scored together: the block's intermediate columns stay in the
/// CPU's caches, and loops of a constant length vectorise.
pub(crate) const BLOCK: usize = 512;

/// A scratch column of one block.
pub(crate) type Col = [f64; BLOCK];

/// 2^52: from here on every float is an integer.
const INTEGRAL: f64 = 4_503_599_627_370_496.0;

/// `f64::round` (half away from zero), exactly, without a call to the C
/// library and without branches (so it vectorises): adding and taking
/// away 2^52 rounds |x| < 2^52 to the nearest integer with ties to even
/// (exactly: the difference from |x| is exact), and a tie that went down
/// goes up. NaN, infinities and |x| ≥ 2^52 are their own rounding; zero
/// keeps x's sign.
#[inline(always)]
pub fn round(x: f64) -> f64 {
    let a = x.abs();
    let nearest = (a + INTEGRAL) - INTEGRAL;
    let away = if nearest - a == -0.5 {
        nearest + 1.0
    } else {
        nearest
    };
    let r = if a < INTEGRAL { away } else { a };
    r.copysign(x)
}

/// `x` rounded to 9 decimals, half away from zero, as polars' `round(9)`:
/// x itself where the rounded value is not finite.
#[inline(always)]
pub(crate) fn round9(x: f64) -> f64 {
    from_nines(round(x * 1e9), x)
}

/// `x` rounded to 9 decimals from `nines` = round(x · 10^9) (see
/// [`round9`]).
#[inline(always)]
fn from_nines(nines: f64, x: f64) -> f64 {
    let r = nines / 1e9;
    if r.is_finite() {
        r
    } else {
        x
    }
}

/// `if x is NaN { 0 } else { v }`.
#[inline(always)]
fn unless_nan(x: f64, v: f64) -> f64 {
    if x.is_nan() {
        0.0
    } else {
        v
    }
}

/// Rows `start .. start + BLOCK` of a float column into `out`, NaN where
/// null or past the column's end.
fn read((values, valid): &Floats<'_>, start: usize, out: &mut Col) {
    let n = values.len().saturating_sub(start).min(BLOCK);
    out[..n].copy_from_slice(&values[start..start + n]);
    out[n..].fill(f64::NAN);
    if let Some(v) = valid {
        for (k, o) in out[..n].iter_mut().enumerate() {
            *o = if v.get(start + k) { *o } else { f64::NAN };
        }
    }
}

/// Scores the rows `first .. first + out.score.len()` of `inputs` under
/// `model` into `out` (SPEC §4):
/// - points: the metric's rule on its raw value, or its missing-value
///   points (none: skipped);
/// - a group's points: the weighted mean of its metrics' points, where the
///   scorecard gives the group a positive weight;
/// - score_raw: the weighted mean of those group points by the
///   scorecard's weights; score: score_raw rounded (to 9 decimals, then to
///   an integer, half away from zero); band: the first whose range holds
///   the score;
/// - completeness: Σ over used groups of weight × (weight of the group's
///   metrics with a raw value / the group's metric weight), over Σ of the
///   used groups' weights; 0 without a score;
/// - loss of a metric with points in a counted group: (100 − points) ×
///   group weight / the counted groups' weight × metric weight / the
///   weight of the group's metrics with points, rounded to 9 decimals;
/// - top: the three largest positive losses (ties to the first in the
///   drivers' order).
///
/// Sums run in the model's order.
pub fn score_rows(
    model: &ScoreModel,
    inputs: &RowInputs<'_>,
    first: usize,
    out: &mut RowOutputs<'_>,
) {
    let rows = out.score.len();
    let mut scratch = Scratch::new(model);
    let mut done = 0;
    while done < rows {
        let len = (rows - done).min(BLOCK);
        scratch.score_block(model, inputs, first + done);
        scratch.write(model, out, done, len);
        done += len;
    }
}

/// One block's columns (NaN: null).
struct Scratch {
    /// Per scored metric: its points, its loss, and its loss in units of
    /// 10^-9 where positive (the drivers' key).
    points: Vec<Col>,
    loss: Vec<Col>,
    key: Vec<Col>,
    /// Per group: the scorecard's weight of it, Σ weight × points, Σ
    /// weight of metrics with points, Σ weight of metrics with a raw
    /// value, and its points.
    weight: Vec<Col>,
    num: Vec<Col>,
    den: Vec<Col>,
    observed: Vec<Col>,
    group: Vec<Col>,
    raw: Box<Col>,
    score_num: Box<Col>,
    present: Box<Col>,
    complete_num: Box<Col>,
    complete_den: Box<Col>,
    top: Box<[u64; BLOCK]>,
    /// The weights of each scorecard's groups, then zeros (no scorecard).
    table: Vec<f64>,
}

impl Scratch {
    fn new(model: &ScoreModel) -> Self {
        let (m, g) = (model.metrics.len(), model.group_totals.len());
        let mut table: Vec<f64> = model.weights.iter().flatten().copied().collect();
        table.extend(std::iter::repeat_n(0.0, g));
        let columns = |n: usize| vec![[0.0; BLOCK]; n];
        let one = || Box::new([0.0; BLOCK]);
        Scratch {
            points: columns(m),
            loss: columns(m),
            key: columns(m),
            weight: columns(g),
            num: columns(g),
            den: columns(g),
            observed: columns(g),
            group: columns(g),
            raw: one(),
            score_num: one(),
            present: one(),
            complete_num: one(),
            complete_den: one(),
            top: Box::new([0; BLOCK]),
            table,
        }
    }

    /// Scores rows `start .. start + BLOCK` (those past the inputs' end
    /// come out as null) into the scratch columns.
    fn score_block(&mut self, model: &ScoreModel, inputs: &RowInputs<'_>, start: usize) {
        self.group_weights(model, inputs, start);
        self.points(model, inputs, start);
        self.group_points(model);
        self.losses(model);
        self.scores();
        self.top_drivers(model);
    }

    /// Each group's weight in each row's scorecard (0 without one, and
    /// past the inputs' end), and the sums per group cleared.
    fn group_weights(&mut self, model: &ScoreModel, inputs: &RowInputs<'_>, start: usize) {
        let groups = model.group_totals.len();
        let (scorecards, scorecard_valid) = inputs.scorecard;
        let no_scorecard = model.weights.len();
        let n = scorecards.len().saturating_sub(start).min(BLOCK);
        for k in 0..BLOCK {
            let i = start + k;
            let s = if k >= n || scorecard_valid.is_some_and(|v| !v.get(i)) {
                no_scorecard
            } else {
                (scorecards[i] as usize).min(no_scorecard)
            };
            let weights = &self.table[s * groups..(s + 1) * groups];
            for (g, &w) in weights.iter().enumerate() {
                self.weight[g][k] = w;
            }
        }
        for g in 0..groups {
            self.num[g].fill(0.0);
            self.den[g].fill(0.0);
            self.observed[g].fill(0.0);
        }
    }

    /// Points, and their sums per group.
    fn points(&mut self, model: &ScoreModel, inputs: &RowInputs<'_>, start: usize) {
        for (j, metric) in model.metrics.iter().enumerate() {
            let (g, w) = (metric.group, metric.weight);
            read(&inputs.raw[j], start, &mut self.raw);
            let raw = &*self.raw;
            for (o, &x) in self.observed[g].iter_mut().zip(raw) {
                *o += unless_nan(x, w);
            }
            let points = &mut self.points[j];
            match (&metric.rule, &inputs.given[j]) {
                (PointsRule::Given, Some(given)) => read(given, start, points),
                (PointsRule::Given, None) => points.fill(f64::NAN),
                (PointsRule::Linear { lo, span }, _) => {
                    for (p, &x) in points.iter_mut().zip(raw) {
                        // clamp(v, 0, 1) as polars' clip: v < 0 → 0, v > 1 → 1.
                        let v = (x - lo) / span;
                        let v = if v < 0.0 { 0.0 } else { v };
                        let v = if v > 1.0 { 1.0 } else { v };
                        *p = v * 100.0;
                    }
                }
                (PointsRule::Steps(steps), _) => {
                    points.fill(steps.first().map_or(0.0, |s| s.1));
                    for &(threshold, value) in steps {
                        for (p, &x) in points.iter_mut().zip(raw) {
                            *p = if x >= threshold { value } else { *p };
                        }
                    }
                }
            }
            if metric.rule != PointsRule::Given {
                let missing = metric.missing.unwrap_or(f64::NAN);
                for (p, &x) in points.iter_mut().zip(raw) {
                    *p = if x.is_nan() { missing } else { *p };
                }
            }
            let points = &self.points[j];
            for (n, &p) in self.num[g].iter_mut().zip(points) {
                *n += unless_nan(p, w * p);
            }
            for (d, &p) in self.den[g].iter_mut().zip(points) {
                *d += unless_nan(p, w);
            }
        }
    }

    /// Group points, and the sums of score_raw and completeness.
    fn group_points(&mut self, model: &ScoreModel) {
        let groups = model.group_totals.len();
        let (score_num, present) = (&mut *self.score_num, &mut *self.present);
        let (complete_num, complete_den) = (&mut *self.complete_num, &mut *self.complete_den);
        score_num.fill(0.0);
        present.fill(0.0);
        complete_num.fill(0.0);
        complete_den.fill(0.0);
        for g in 0..groups {
            let (weight, num, den) = (&self.weight[g], &self.num[g], &self.den[g]);
            let group = &mut self.group[g];
            for k in 0..BLOCK {
                let (w, d) = (weight[k], den[k]);
                let mean = num[k] / d;
                let v = if (w > 0.0) & (d > 0.0) {
                    mean
                } else {
                    f64::NAN
                };
                group[k] = v;
                score_num[k] += unless_nan(v, w * v);
                present[k] += unless_nan(v, w);
            }
            let total = model.group_totals[g];
            let observed = &self.observed[g];
            for k in 0..BLOCK {
                let w = weight[k];
                // A group without metrics observes nothing.
                let share = observed[k] / total;
                let share = if total > 0.0 { share } else { 0.0 };
                let used = w > 0.0;
                complete_num[k] += if used { w * share } else { 0.0 };
                complete_den[k] += if used { w } else { 0.0 };
            }
        }
    }

    /// Losses, and the drivers' keys.
    fn losses(&mut self, model: &ScoreModel) {
        let present = &*self.present;
        for (j, metric) in model.metrics.iter().enumerate() {
            let g = metric.group;
            let (points, group) = (&self.points[j], &self.group[g]);
            let (weight, den) = (&self.weight[g], &self.den[g]);
            let (loss, key) = (&mut self.loss[j], &mut self.key[j]);
            for k in 0..BLOCK {
                let l = (100.0 - points[k]) * weight[k] / present[k] * metric.weight / den[k];
                // round9 of l, keeping the 9-decimal integer for the drivers.
                let nines = round(l * 1e9);
                let rounded = from_nines(nines, l);
                // NaN where the points are null (l is NaN); also where the
                // group does not count.
                let counts = !group[k].is_nan();
                loss[k] = if counts { rounded } else { f64::NAN };
                key[k] = if counts & (nines > 0.0) {
                    nines
                } else {
                    f64::NAN
                };
            }
        }
    }

    /// score_raw, score and completeness (in place of their sums).
    fn scores(&mut self) {
        let (score_num, present) = (&mut *self.score_num, &mut *self.present);
        let (complete_num, complete_den) = (&mut *self.complete_num, &mut *self.complete_den);
        for k in 0..BLOCK {
            let mean = score_num[k] / present[k];
            let raw = if present[k] > 0.0 { mean } else { f64::NAN };
            let score = round(round9(raw));
            let complete = complete_num[k] / complete_den[k];
            complete_num[k] = if score.is_nan() | (complete_den[k] == 0.0) {
                0.0
            } else {
                complete
            };
            present[k] = raw;
            score_num[k] = score;
        }
    }

    /// The block's top drivers into `top`, from the losses' keys in the
    /// drivers' order.
    fn top_drivers(&mut self, model: &ScoreModel) {
        let keys = model.drivers.iter().map(|&j| &self.key[j]);
        top_three(keys, &mut self.top);
    }

    /// Writes the block's first `len` rows to rows `at .. at + len` of
    /// `out`.
    fn write(&self, model: &ScoreModel, out: &mut RowOutputs<'_>, at: usize, len: usize) {
        let (to, from) = (at..at + len, 0..len);
        let mut given = 0;
        for (j, metric) in model.metrics.iter().enumerate() {
            if metric.rule == PointsRule::Given {
                given += 1;
            } else {
                out.points[j - given][to.clone()].copy_from_slice(&self.points[j][from.clone()]);
            }
        }
        for (o, g) in out.groups.iter_mut().zip(&self.group) {
            o[to.clone()].copy_from_slice(&g[from.clone()]);
        }
        for (o, l) in out.losses.iter_mut().zip(&self.loss) {
            o[to.clone()].copy_from_slice(&l[from.clone()]);
        }
        out.score_raw[to.clone()].copy_from_slice(&self.present[from.clone()]);
        out.score[to.clone()].copy_from_slice(&self.score_num[from.clone()]);
        out.completeness[to.clone()].copy_from_slice(&self.complete_num[from.clone()]);
        out.top[to.clone()].copy_from_slice(&self.top[from.clone()]);
        for (b, &s) in out.band[to].iter_mut().zip(&self.score_num[from]) {
            *b = model
                .bands
                .iter()
                .position(|&(lo, hi)| lo as f64 <= s && s <= hi as f64)
                .unwrap_or(model.bands.len()) as u32;
        }
    }
}

/// Each row's three largest keys as a code (bits `21 k ..` hold 1 + the
/// position in `keys` of the `k`-th largest, 0 when the row has fewer):
/// the drivers (SPEC §4), whose keys are positive losses in units of
/// 10^-9 (NaN: no loss). A column at a time: a key enters the top three
/// only when larger than the one it displaces, so of equal keys the
/// earlier column stays ahead.
pub(crate) fn top_three<'a>(keys: impl Iterator<Item = &'a Col>, top: &mut [u64; BLOCK]) {
    // Per row, the three best (key, 1 + position); key −1 is an empty
    // place (every key is positive).
    let mut best = [[-1.0f64; BLOCK]; 3];
    let mut at = [[0.0f64; BLOCK]; 3];
    for (position, keys) in keys.enumerate() {
        let code = (position + 1) as f64;
        for k in 0..BLOCK {
            let key = keys[k];
            let (b0, b1, b2) = (best[0][k], best[1][k], best[2][k]);
            let (a0, a1, a2) = (at[0][k], at[1][k], at[2][k]);
            // A NaN key compares false: it never enters.
            let (gt0, gt1, gt2) = (key > b0, key > b1, key > b2);
            best[2][k] = place(gt1, gt2, b1, key, b2);
            at[2][k] = place(gt1, gt2, a1, code, a2);
            best[1][k] = place(gt0, gt1, b0, key, b1);
            at[1][k] = place(gt0, gt1, a0, code, a1);
            best[0][k] = place(false, gt0, b0, key, b0);
            at[0][k] = place(false, gt0, a0, code, a0);
        }
    }
    let bits = crate::DRIVER_BITS;
    for k in 0..BLOCK {
        top[k] = (at[0][k] as u64) | (at[1][k] as u64) << bits | (at[2][k] as u64) << (2 * bits);
    }
}

/// What a place of the top three holds once a key arrives: the entry
/// above it when the key beats that one (it moves down), the key's when
/// the key beats only this place's entry, else this place's entry.
#[inline(always)]
fn place<T>(beats_above: bool, beats_here: bool, above: T, key: T, here: T) -> T {
    if beats_above {
        above
    } else if beats_here {
        key
    } else {
        here
    }
}

/// Replaces each NaN of `values` by 0 and returns the column's Arrow
/// validity bitmap (NaN: null) with its count of nulls, or None when no
/// value is NaN.
pub fn nulls_from_nan(values: &mut [f64]) -> Option<(Vec<u8>, usize)> {
    if !values.iter().any(|v| v.is_nan()) {
        return None;
    }
    let validity = validity_bytes(values, |v| !v.is_nan());
    let mut nulls = 0;
    for v in values.iter_mut().filter(|v| v.is_nan()) {
        *v = 0.0;
        nulls += 1;
    }
    Some((validity, nulls))
}

/// A column of integral floats (NaN: null) as i32, with its validity
/// (None when every value is valid; values outside i32's range are null
/// too).
pub fn integers_from_floats(values: &[f64]) -> (Vec<i32>, Option<Vec<u8>>) {
    let in_range = |v: f64| v >= i32::MIN as f64 && v <= i32::MAX as f64;
    let ints = values
        .iter()
        .map(|&v| if in_range(v) { v as i32 } else { 0 })
        .collect();
    let all_valid = values.iter().all(|&v| in_range(v));
    (ints, (!all_valid).then(|| validity_bytes(values, in_range)))
}

/// The Arrow validity bitmap of the rows of `values` for which `valid`
/// holds: bit `i % 8` of byte `i / 8`, the bits past the last row clear.
fn validity_bytes(values: &[f64], valid: impl Fn(f64) -> bool) -> Vec<u8> {
    values
        .chunks(8)
        .map(|eight| {
            eight
                .iter()
                .enumerate()
                .fold(0u8, |byte, (b, &v)| byte | (valid(v) as u8) << b)
        })
        .collect()
}

/// SPEC §3's percentile points of each valid row's value within its
/// group (a scorecard's accounts; rows with a null group form one group):
/// 100 · (m − 1)/(n − 1), where n is the group's count of valid values and
/// m the count of them no better than the row's (≤ when higher is better,
/// ≥ otherwise; ties count, so they share the customer's best rank), 100
/// when n = 1. Values are compared as numbers (−0 equals +0) and must not
/// be NaN. Rows whose value is not valid get 0 (the caller masks them).
/// One sort of the valid rows by (group, value) instead of a rank over a
/// window of every row.
pub fn percentile_points(
    values: &[f64],
    valid: Option<Bits<'_>>,
    groups: &[u32],
    groups_valid: Option<Bits<'_>>,
    higher_is_better: bool,
) -> Vec<f64> {
    let mut rows: Vec<(u32, u64, u32)> = (0..values.len())
        .filter(|&i| valid.is_none_or(|v| v.get(i)))
        .map(|i| {
            // Group code 0 is the null group.
            let group = match groups_valid {
                Some(g) if !g.get(i) => 0,
                _ => groups[i].saturating_add(1),
            };
            let x = if higher_is_better {
                values[i]
            } else {
                -values[i]
            };
            (group, ordered_bits(x), i as u32)
        })
        .collect();
    rows.sort_unstable_by_key(|&(g, k, _)| (g, k));
    let mut points = vec![0.0; values.len()];
    for group in rows.chunk_by(|a, b| a.0 == b.0) {
        let n = group.len() as f64;
        let mut seen = 0usize;
        for tie in group.chunk_by(|a, b| a.1 == b.1) {
            seen += tie.len();
            let p = if group.len() == 1 {
                100.0
            } else {
                100.0 * (seen as f64 - 1.0) / (n - 1.0)
            };
            for &(_, _, row) in tie {
                points[row as usize] = p;
            }
        }
    }
    points
}

/// A float's bits as an unsigned integer in the float's numeric order
/// (−0 as +0).
#[inline]
fn ordered_bits(x: f64) -> u64 {
    let bits = (x + 0.0).to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | 1 << 63
    }
}

/// `values` at each of `positions`, null where the position is None or
/// the value NaN: the values (0 where null) and an Arrow validity bitmap
/// (bit `i` of byte `i / 8`), in one pass.
pub fn gather_valid(values: &[f64], positions: &[Option<u32>]) -> (Vec<f64>, Vec<u8>) {
    let mut out = Vec::with_capacity(positions.len());
    let mut valid = vec![0u8; positions.len().div_ceil(8)];
    for (i, p) in positions.iter().enumerate() {
        let x = p.map_or(f64::NAN, |a| values[a as usize]);
        let ok = !x.is_nan();
        valid[i >> 3] |= (ok as u8) << (i & 7);
        out.push(if ok { x } else { 0.0 });
    }
    (out, valid)
}
