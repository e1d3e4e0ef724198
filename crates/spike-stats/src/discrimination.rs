//! Telling two stimuli apart from per-sample features: receiver operating characteristic (ROC)
//! curves, their area, and cross-validated template scores.

use crate::error::{Result, StatsError};

/// An ROC curve: for every distinct score threshold, from the highest down, the fraction of
/// negatives (false positive rate) and of positives (true positive rate) scoring at least it.
#[derive(Clone, Debug, PartialEq)]
pub struct Roc {
    /// False positive rates, from 0 to 1.
    pub false_positive_rate: Vec<f64>,
    /// True positive rates, from 0 to 1.
    pub true_positive_rate: Vec<f64>,
    /// Area under the curve (trapezoids; ties count one half, so it equals the Mann-Whitney
    /// probability that a positive scores above a negative).
    pub auc: f64,
}

/// The ROC curve of `scores` (higher = more likely positive) for labels `positive`.
pub fn roc(scores: &[f64], positive: &[bool]) -> Result<Roc> {
    if scores.len() != positive.len() {
        return Err(StatsError::ShapeMismatch {
            what: "labels".into(),
            expected: format!("{} scores", scores.len()),
            found: format!("{} labels", positive.len()),
        });
    }
    let n_pos = positive.iter().filter(|&&p| p).count();
    let n_neg = positive.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return Err(StatsError::Unsupported(format!(
            "an ROC curve needs both classes; got {n_pos} positive and {n_neg} negative samples"
        )));
    }
    if let Some(bad) = scores.iter().find(|s| !s.is_finite()) {
        return Err(StatsError::Unsupported(format!("score {bad} is not finite")));
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (mut fpr, mut tpr) = (vec![0.0], vec![0.0]);
    let (mut tp, mut fp) = (0usize, 0usize);
    let mut k = 0;
    while k < order.len() {
        let threshold = scores[order[k]];
        while k < order.len() && scores[order[k]] == threshold {
            if positive[order[k]] {
                tp += 1;
            } else {
                fp += 1;
            }
            k += 1;
        }
        fpr.push(fp as f64 / n_neg as f64);
        tpr.push(tp as f64 / n_pos as f64);
    }
    let auc = fpr
        .windows(2)
        .zip(tpr.windows(2))
        .map(|(f, t)| (f[1] - f[0]) * (t[0] + t[1]) / 2.0)
        .sum();
    Ok(Roc {
        false_positive_rate: fpr,
        true_positive_rate: tpr,
        auc,
    })
}

/// Two-fold cross-validated template scores: samples are split into even and odd indices; each
/// sample's score is the dot product of its feature vector (`dim` values, rows of `features`)
/// with the difference of the class means (positive minus negative) of the *other* fold, so no
/// sample helps to score itself. Higher = more like the positive class.
pub fn cross_validated_template_scores(features: &[f64], dim: usize, positive: &[bool]) -> Result<Vec<f64>> {
    let n = positive.len();
    if dim == 0 || features.len() != n * dim {
        return Err(StatsError::ShapeMismatch {
            what: "features".into(),
            expected: format!("{n} samples x {dim} values"),
            found: format!("{} values", features.len()),
        });
    }
    let template = |fold: usize| -> Result<Vec<f64>> {
        let (mut pos, mut neg) = (vec![0.0; dim], vec![0.0; dim]);
        let (mut n_pos, mut n_neg) = (0usize, 0usize);
        for s in (fold..n).step_by(2) {
            let (acc, count) = if positive[s] {
                (&mut pos, &mut n_pos)
            } else {
                (&mut neg, &mut n_neg)
            };
            *count += 1;
            for (a, f) in acc.iter_mut().zip(&features[s * dim..(s + 1) * dim]) {
                *a += f;
            }
        }
        if n_pos == 0 || n_neg == 0 {
            return Err(StatsError::Unsupported(format!(
                "fold {fold} of the cross-validation has {n_pos} positive and {n_neg} negative samples; both are needed"
            )));
        }
        Ok(pos
            .iter()
            .zip(&neg)
            .map(|(p, q)| p / n_pos as f64 - q / n_neg as f64)
            .collect())
    };
    let templates = [template(0)?, template(1)?];
    Ok((0..n)
        .map(|s| {
            let other = &templates[1 - s % 2];
            features[s * dim..(s + 1) * dim]
                .iter()
                .zip(other)
                .map(|(f, t)| f * t)
                .sum()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roc_of_a_hand_computed_case() {
        // Scores 0.9(+) 0.8(-) 0.7(+) 0.7(-) 0.1(-): thresholds 0.9, 0.8, 0.7, 0.1.
        let r = roc(&[0.9, 0.8, 0.7, 0.7, 0.1], &[true, false, true, false, false]).unwrap();
        let third = 1.0 / 3.0;
        assert_eq!(r.true_positive_rate, vec![0.0, 0.5, 0.5, 1.0, 1.0]);
        let want_fpr = [0.0, 0.0, third, 2.0 * third, 1.0];
        for (a, b) in r.false_positive_rate.iter().zip(want_fpr) {
            assert!((a - b).abs() < 1e-12);
        }
        // Mann-Whitney: pairs (pos, neg) with pos > neg: 0.9 beats all 3, 0.7 beats 0.1 and ties 0.7.
        assert!((r.auc - (3.0 + 1.0 + 0.5) / 6.0).abs() < 1e-12, "{}", r.auc);
    }

    #[test]
    fn perfect_reversed_and_bad_inputs() {
        assert_eq!(roc(&[2.0, 1.0], &[true, false]).unwrap().auc, 1.0);
        assert_eq!(roc(&[1.0, 2.0], &[true, false]).unwrap().auc, 0.0);
        assert_eq!(roc(&[1.0, 1.0], &[true, false]).unwrap().auc, 0.5);
        assert!(roc(&[1.0, 2.0], &[true, true]).is_err());
        assert!(roc(&[1.0], &[true, false]).is_err());
        assert!(roc(&[f64::NAN, 1.0], &[true, false]).is_err());
    }

    #[test]
    fn template_scores_use_the_other_fold_only() {
        // 1-D features: positives near +1, negatives near -1.
        let f = [1.0, -1.0, 2.0, -2.0, 1.5, -0.5];
        let labels = [true, false, true, false, true, false];
        // Fold 0 = samples 0, 2, 4: all positive, so it has no negative mean.
        let err = cross_validated_template_scores(&f, 1, &labels).unwrap_err();
        assert!(err.to_string().contains("fold 0"), "{err}");
        assert!(cross_validated_template_scores(&f, 2, &labels).is_err());
        let labels = [true, true, false, false, true, false];
        let f = [1.0, 2.0, -1.0, -2.0, 3.0, -3.0];
        let s = cross_validated_template_scores(&f, 1, &labels).unwrap();
        // Fold 0 (0, 2, 4): pos mean (1 + 3) / 2 = 2, neg -1: template 3. Fold 1 (1, 3, 5): pos 2,
        // neg -2.5: template 4.5. Even samples use fold 1's template, odd ones fold 0's.
        assert_eq!(s, vec![4.5, 6.0, -4.5, -6.0, 13.5, -9.0]);
        assert_eq!(roc(&s, &labels).unwrap().auc, 1.0);
    }
}
