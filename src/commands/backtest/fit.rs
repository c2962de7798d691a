//! The weight fit: a non-negative, L2-regularised logistic regression of
//! churn on each group's risk, its rescaling to integer weights summing to
//! 100, and scoring with given weights as the pipeline would. Pure
//! functions on plain vectors.

use serde::Serialize;

/// A fitted logistic regression P(churn) = σ(intercept + Σ coef_j · x_j).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LogisticFit {
    /// Intercept (not penalised, unconstrained).
    pub intercept: f64,
    /// Coefficients, all ≥ 0.
    pub coef: Vec<f64>,
    /// Newton iterations taken.
    pub iterations: usize,
    /// Whether the objective stopped improving before the iteration limit.
    pub converged: bool,
}

fn softplus(z: f64) -> f64 {
    z.max(0.0) + (-z.abs()).exp().ln_1p()
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// Non-negative, L2-regularised logistic regression: minimises
/// mean(log(1 + e^η) − y·η) + l2/2 · Σ coef², η = intercept + x·coef,
/// subject to coef ≥ 0, by projected Newton steps (each step solves the
/// box-constrained quadratic model by coordinate descent, then backtracks).
/// `x` holds `n` rows of `p` features, row-major.
pub fn fit_nonneg_logistic(x: &[f64], p: usize, y: &[bool], l2: f64) -> LogisticFit {
    let n = y.len();
    let q = p + 1;
    let mut theta = vec![0.0; q];
    if n == 0 || x.len() != n * p {
        return LogisticFit {
            intercept: 0.0,
            coef: vec![0.0; p],
            iterations: 0,
            converged: false,
        };
    }
    let ybar = y.iter().filter(|v| **v).count() as f64 / n as f64;
    let yb = ybar.clamp(1e-6, 1.0 - 1e-6);
    theta[0] = (yb / (1.0 - yb)).ln();
    let objective = |t: &[f64]| -> f64 {
        let mut s = 0.0;
        for (i, &yi) in y.iter().enumerate().take(n) {
            let z = linear_predictor(x, p, t, i);
            s += softplus(z) - if yi { z } else { 0.0 };
        }
        s / n as f64 + 0.5 * l2 * t[1..].iter().map(|b| b * b).sum::<f64>()
    };
    let mut f = objective(&theta);
    let mut converged = false;
    let mut iterations = 0;
    for it in 0..200 {
        iterations = it + 1;
        let (g, h) = gradient_hessian(x, p, y, l2, &theta);
        let d = box_newton_direction(&g, &h, &theta);
        let slope: f64 = g.iter().zip(&d).map(|(a, b)| a * b).sum();
        if slope > -1e-15 {
            converged = true;
            break;
        }
        let mut t = 1.0;
        let mut next;
        loop {
            next = theta
                .iter()
                .zip(&d)
                .enumerate()
                .map(|(j, (a, b))| {
                    let v = a + t * b;
                    if j > 0 {
                        v.max(0.0)
                    } else {
                        v
                    }
                })
                .collect::<Vec<f64>>();
            let fn_ = objective(&next);
            if fn_ <= f + 1e-4 * t * slope || t < 1e-10 {
                let improved = f - fn_;
                theta = next;
                f = fn_.min(f);
                if improved.abs() < 1e-13 * f.abs().max(1.0) {
                    converged = true;
                }
                break;
            }
            t *= 0.5;
        }
        if converged {
            break;
        }
    }
    LogisticFit {
        intercept: theta[0],
        coef: theta[1..].to_vec(),
        iterations,
        converged,
    }
}

/// η = t[0] + x_i · t[1..] of row `i` of `x` (`p` features a row).
fn linear_predictor(x: &[f64], p: usize, t: &[f64], i: usize) -> f64 {
    let row = &x[i * p..(i + 1) * p];
    t[0] + row.iter().zip(&t[1..]).map(|(a, b)| a * b).sum::<f64>()
}

/// Gradient and Hessian (row-major, q × q with q = p + 1, the intercept
/// first) of the objective of [`fit_nonneg_logistic`] at `theta`.
fn gradient_hessian(
    x: &[f64],
    p: usize,
    y: &[bool],
    l2: f64,
    theta: &[f64],
) -> (Vec<f64>, Vec<f64>) {
    let n = y.len();
    let q = p + 1;
    let mut g = vec![0.0; q];
    let mut h = vec![0.0; q * q];
    let mut xi = vec![0.0; q];
    xi[0] = 1.0;
    for i in 0..n {
        xi[1..].copy_from_slice(&x[i * p..(i + 1) * p]);
        let mu = sigmoid(linear_predictor(x, p, theta, i));
        let r = mu - if y[i] { 1.0 } else { 0.0 };
        let w = (mu * (1.0 - mu)).max(1e-12);
        for a in 0..q {
            g[a] += r * xi[a];
            let wa = w * xi[a];
            for b in a..q {
                h[a * q + b] += wa * xi[b];
            }
        }
    }
    for a in 0..q {
        g[a] /= n as f64;
        for b in a..q {
            h[a * q + b] /= n as f64;
            h[b * q + a] = h[a * q + b];
        }
        if a > 0 {
            g[a] += l2 * theta[a];
            h[a * q + a] += l2;
        }
        h[a * q + a] += 1e-12;
    }
    (g, h)
}

/// Box-constrained Newton direction: minimises the quadratic model of
/// gradient `g` and Hessian `h` subject to theta + d ≥ 0 on the
/// coefficients (not the intercept), by coordinate descent.
fn box_newton_direction(g: &[f64], h: &[f64], theta: &[f64]) -> Vec<f64> {
    let q = g.len();
    let mut d = vec![0.0; q];
    let mut hd = vec![0.0; q];
    for _ in 0..1000 {
        let mut change: f64 = 0.0;
        for j in 0..q {
            let mut nd = d[j] - (g[j] + hd[j]) / h[j * q + j];
            if j > 0 && theta[j] + nd < 0.0 {
                nd = -theta[j];
            }
            let delta = nd - d[j];
            if delta != 0.0 {
                for k in 0..q {
                    hd[k] += h[k * q + j] * delta;
                }
                d[j] = nd;
                change = change.max(delta.abs());
            }
        }
        if change < 1e-13 {
            break;
        }
    }
    d
}

/// Rounds non-negative shares to integers summing to `total` (largest
/// remainder; ties to the earlier entry).
pub fn round_to_total(shares: &[f64], total: i64) -> Vec<i64> {
    let sum: f64 = shares.iter().sum();
    if sum <= 0.0 {
        return vec![0; shares.len()];
    }
    let exact: Vec<f64> = shares.iter().map(|s| s / sum * total as f64).collect();
    let mut out: Vec<i64> = exact.iter().map(|e| e.floor() as i64).collect();
    let mut left = total - out.iter().sum::<i64>();
    let mut order: Vec<usize> = (0..shares.len()).collect();
    order.sort_by(|&a, &b| {
        let ra = exact[a] - exact[a].floor();
        let rb = exact[b] - exact[b].floor();
        rb.partial_cmp(&ra)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.cmp(&b))
    });
    for i in order {
        if left <= 0 {
            break;
        }
        out[i] += 1;
        left -= 1;
    }
    out
}

/// Group weights fitted on outcomes.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FittedWeights {
    /// Integer weights summing to 100, per group (0 for a group without data).
    pub weights: Vec<i64>,
    /// The unrounded shares (sum 100).
    pub shares: Vec<f64>,
    /// Whether each group had points for some account (others get 0).
    pub has_data: Vec<bool>,
    /// The regression behind them (coefficients of 1 − points/100).
    pub fit: LogisticFit,
}

/// Fits group weights on outcomes: `points[g][i]` is group g's points
/// (0-100, None when missing) for account-date i and `churned[i]` its
/// outcome. A missing group takes that group's mean points; a group with no
/// points at all weighs 0. None when no group predicts churn (all
/// coefficients 0) or there is nothing to fit.
pub fn fit_group_weights(
    points: &[Vec<Option<f64>>],
    churned: &[bool],
    l2: f64,
) -> Option<FittedWeights> {
    let n = churned.len();
    let has_data: Vec<bool> = points
        .iter()
        .map(|g| g.iter().any(Option::is_some))
        .collect();
    let used: Vec<usize> = (0..points.len()).filter(|&g| has_data[g]).collect();
    if n == 0 || used.is_empty() {
        return None;
    }
    let p = used.len();
    let mut x = vec![0.0; n * p];
    for (j, &g) in used.iter().enumerate() {
        let present: Vec<f64> = points[g].iter().flatten().copied().collect();
        let mean = present.iter().sum::<f64>() / present.len() as f64;
        for i in 0..n {
            let v = points[g][i].unwrap_or(mean);
            x[i * p + j] = 1.0 - v / 100.0;
        }
    }
    let fit = fit_nonneg_logistic(&x, p, churned, l2);
    let total: f64 = fit.coef.iter().sum();
    if total <= 1e-9 {
        return None;
    }
    let mut shares = vec![0.0; points.len()];
    for (j, &g) in used.iter().enumerate() {
        shares[g] = fit.coef[j] / total * 100.0;
    }
    Some(FittedWeights {
        weights: round_to_total(&shares, 100),
        shares,
        has_data,
        fit,
    })
}

/// Scores like the pipeline would with `weights`: the weighted mean of the
/// present groups' points (groups of weight 0 not used), rounded as SPEC §4
/// rounds (9 decimals, then half away from zero); None with none present.
pub fn score_with_weights(points: &[Vec<Option<f64>>], weights: &[f64], i: usize) -> Option<f64> {
    let mut num = 0.0;
    let mut den = 0.0;
    for (g, w) in weights.iter().enumerate() {
        if *w > 0.0 {
            if let Some(v) = points[g][i] {
                num += w * v;
                den += w;
            }
        }
    }
    (den > 0.0)
        .then(|| ((num / den) * 1e9).round() / 1e9)
        .map(f64::round)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn weights_round_to_a_hundred() {
        assert_eq!(round_to_total(&[1.0, 1.0, 1.0], 100), vec![34, 33, 33]);
        assert_eq!(round_to_total(&[0.0, 2.0, 6.0], 100), vec![0, 25, 75]);
        assert_eq!(round_to_total(&[0.0, 0.0], 100), vec![0, 0]);
        let r = round_to_total(&[0.123, 0.456, 0.789, 0.05], 100);
        assert_eq!(r.iter().sum::<i64>(), 100);
    }

    #[test]
    fn score_with_weights_rounds_like_the_pipeline() {
        let pts = vec![vec![Some(57.0), None], vec![Some(58.0), Some(10.0)]];
        // (57 + 58) / 2 = 57.5 → 58 (half away from zero).
        assert_eq!(score_with_weights(&pts, &[1.0, 1.0], 0), Some(58.0));
        // A missing group is left out; a zero weight is not used.
        assert_eq!(score_with_weights(&pts, &[1.0, 1.0], 1), Some(10.0));
        assert_eq!(score_with_weights(&pts, &[1.0, 0.0], 1), None);
    }

    #[test]
    fn logistic_fit_recovers_coefficients_and_clips_harmful_ones() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let n = 40_000;
        let p = 3;
        let truth = [3.0, 1.0, -2.0];
        let mut x = vec![0.0; n * p];
        let mut y = vec![false; n];
        for i in 0..n {
            let mut eta = -2.5;
            for j in 0..p {
                x[i * p + j] = rng.gen::<f64>();
                eta += truth[j] * x[i * p + j];
            }
            y[i] = rng.gen::<f64>() < sigmoid(eta);
        }
        let f = fit_nonneg_logistic(&x, p, &y, 0.0);
        assert!(f.converged, "{f:?}");
        assert!((f.coef[0] - 3.0).abs() < 0.35, "{f:?}");
        assert!((f.coef[1] - 1.0).abs() < 0.35, "{f:?}");
        // The harmful feature would want a negative weight: held at 0.
        assert_eq!(f.coef[2], 0.0, "{f:?}");
        // L2 shrinks.
        let g = fit_nonneg_logistic(&x, p, &y, 0.1);
        assert!(g.coef[0] < f.coef[0]);
    }
}
