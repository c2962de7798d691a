//! `--compare`: the second pipeline's pooled figures against the first's.

use super::model::{Comparison, Diff, ModelReport};

/// One figure of both models and their difference.
fn diff(figure: impl Into<String>, a: Option<f64>, b: Option<f64>) -> Diff {
    Diff {
        figure: figure.into(),
        baseline: a,
        candidate: b,
        difference: a.zip(b).map(|(a, b)| b - a),
    }
}

/// The figures of `b` (the candidate) against those of `a` (the baseline):
/// pooled, per band, per scorecard and per date.
pub(super) fn compare_models(a: &ModelReport, b: &ModelReport) -> Comparison {
    let mut figures = vec![
        diff("AUC", a.pooled.auc, b.pooled.auc),
        diff(
            "lowest decile capture",
            a.pooled.lowest_decile.as_ref().map(|d| d.capture),
            b.pooled.lowest_decile.as_ref().map(|d| d.capture),
        ),
        diff(
            "lowest decile lift",
            a.pooled.lowest_decile.as_ref().map(|d| d.lift),
            b.pooled.lowest_decile.as_ref().map(|d| d.lift),
        ),
        diff(
            "median lead time (days)",
            a.pooled.lead_time.median_days,
            b.pooled.lead_time.median_days,
        ),
        diff(
            "churners flagged",
            a.pooled.lead_time.flagged_share,
            b.pooled.lead_time.flagged_share,
        ),
    ];
    for ba in &a.pooled.bands {
        let found = b.pooled.bands.iter().find(|x| x.band == ba.band);
        if let Some(bb) = found.filter(|bb| ba.accounts + bb.accounts > 0) {
            figures.push(diff(
                format!("churn rate {}", ba.band),
                ba.churn_rate,
                bb.churn_rate,
            ));
            figures.push(diff(
                format!("share in {}", ba.band),
                (a.pooled.accounts > 0).then(|| ba.accounts as f64 / a.pooled.accounts as f64),
                (b.pooled.accounts > 0).then(|| bb.accounts as f64 / b.pooled.accounts as f64),
            ));
        }
    }
    for sa in &a.by_scorecard {
        if let Some(sb) = b.by_scorecard.iter().find(|x| x.scorecard == sa.scorecard) {
            figures.push(diff(
                format!("AUC scorecard {}", sa.scorecard),
                sa.eval.auc,
                sb.eval.auc,
            ));
        }
    }
    for (da, db) in a.per_date.iter().zip(&b.per_date) {
        figures.push(diff(format!("AUC {}", da.as_of), da.all.auc, db.all.auc));
    }
    Comparison {
        baseline: a.model_version.clone(),
        candidate: b.model_version.clone(),
        figures,
    }
}
