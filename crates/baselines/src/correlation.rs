//! Nearest valid correlation matrix (Higham 2002, alternating projections with Dykstra's
//! correction) and the checks around it.

use faer::{Mat, Side};

use crate::error::{BaselineError, Result};

/// What the projection did.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Projection {
    /// Whether the input was already positive definite (then it is returned unchanged).
    pub was_positive_definite: bool,
    /// Smallest eigenvalue of the input.
    pub min_eigenvalue_before: f64,
    /// Alternating-projection iterations.
    pub iterations: usize,
    /// Frobenius norm of (output - input).
    pub frobenius_change: f64,
    /// Largest |output - input| entry.
    pub max_abs_change: f64,
}

fn eigen_clamped(a: &Mat<f64>, floor: f64) -> Result<Mat<f64>> {
    let evd = a
        .self_adjoint_eigen(Side::Lower)
        .map_err(|e| BaselineError::Numerical(format!("eigendecomposition failed: {e:?}")))?;
    let u = evd.U();
    let s = evd.S();
    let n = a.nrows();
    let us = Mat::from_fn(n, n, |i, j| u[(i, j)] * s[j].max(floor));
    Ok(&us * u.transpose())
}

/// Smallest eigenvalue of a symmetric matrix.
pub fn min_eigenvalue(a: &Mat<f64>) -> Result<f64> {
    let ev = a
        .self_adjoint_eigenvalues(Side::Lower)
        .map_err(|e| BaselineError::Numerical(format!("eigenvalues failed: {e:?}")))?;
    Ok(ev.first().copied().unwrap_or(f64::NAN))
}

/// The nearest (Frobenius) correlation matrix to symmetric `a` with every eigenvalue at least
/// `min_eigenvalue` (> 0, so that a Cholesky factor exists), unit diagonal. Returns `a`
/// unchanged when it already qualifies. Iterates until successive iterates differ by less than
/// `tolerance` (relative Frobenius) or `max_iterations`.
pub fn nearest_correlation(
    a: &Mat<f64>,
    min_eigenvalue_floor: f64,
    tolerance: f64,
    max_iterations: usize,
) -> Result<(Mat<f64>, Projection)> {
    let n = a.nrows();
    let before = min_eigenvalue(a)?;
    let unit_diagonal = (0..n).all(|i| (a[(i, i)] - 1.0).abs() < 1e-12);
    if before >= min_eigenvalue_floor && unit_diagonal {
        return Ok((
            a.clone(),
            Projection {
                was_positive_definite: true,
                min_eigenvalue_before: before,
                ..Default::default()
            },
        ));
    }
    let mut y = a.clone();
    let mut correction = Mat::<f64>::zeros(n, n);
    let mut iterations = 0;
    loop {
        iterations += 1;
        let r = &y - &correction;
        let x = eigen_clamped(&r, min_eigenvalue_floor)?;
        correction = &x - &r;
        let mut next = x.clone();
        for i in 0..n {
            next[(i, i)] = 1.0;
        }
        let diff = (&next - &x).norm_l2() / next.norm_l2().max(f64::MIN_POSITIVE);
        y = next;
        if diff < tolerance || iterations >= max_iterations {
            break;
        }
    }
    // The unit-diagonal iterate may sit just below the floor: one more clamp, then rescale to a
    // unit diagonal (a congruence, which keeps it positive definite).
    let x = eigen_clamped(&y, min_eigenvalue_floor)?;
    let d: Vec<f64> = (0..n).map(|i| x[(i, i)].sqrt()).collect();
    let out = Mat::from_fn(n, n, |i, j| if i == j { 1.0 } else { x[(i, j)] / (d[i] * d[j]) });
    let change = &out - a;
    let mut max_abs_change = 0.0f64;
    for j in 0..n {
        for i in 0..n {
            max_abs_change = max_abs_change.max(change[(i, j)].abs());
        }
    }
    Ok((
        out,
        Projection {
            was_positive_definite: false,
            min_eigenvalue_before: before,
            iterations,
            frobenius_change: change.norm_l2(),
            max_abs_change,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invalid_correlation_matrix_is_projected_to_a_valid_one() {
        // Pairwise plausible, jointly impossible: 1 and 2 anti-correlated, both strongly
        // correlated with 0.
        let v = [[1.0, 0.9, 0.9], [0.9, 1.0, -0.9], [0.9, -0.9, 1.0]];
        let a = Mat::from_fn(3, 3, |i, j| v[i][j]);
        assert!(min_eigenvalue(&a).unwrap() < 0.0);
        let (b, p) = nearest_correlation(&a, 1e-8, 1e-12, 1000).unwrap();
        assert!(!p.was_positive_definite && p.frobenius_change > 0.1);
        assert!(min_eigenvalue(&b).unwrap() >= 1e-9);
        assert!(b.llt(Side::Lower).is_ok());
        for i in 0..3 {
            assert_eq!(b[(i, i)], 1.0);
            for j in 0..3 {
                assert!((b[(i, j)] - b[(j, i)]).abs() < 1e-12);
                assert!(b[(i, j)].abs() <= 1.0);
            }
        }
        // The classic example (Higham 2002; NAG g02aa): the nearest correlation matrix to
        // tridiag(-1, 2, -1) of order 4, to the 4 decimals published.
        let h = Mat::from_fn(4, 4, |i, j| match i.abs_diff(j) {
            0 => 2.0,
            1 => -1.0,
            _ => 0.0,
        });
        let (x, _) = nearest_correlation(&h, 0.0, 1e-13, 10_000).unwrap();
        let expect = [
            [1.0, -0.8084, 0.1916, 0.1068],
            [-0.8084, 1.0, -0.6562, 0.1916],
            [0.1916, -0.6562, 1.0, -0.8084],
            [0.1068, 0.1916, -0.8084, 1.0],
        ];
        for i in 0..4 {
            for j in 0..4 {
                assert!((x[(i, j)] - expect[i][j]).abs() < 1e-4, "({i},{j}) {}", x[(i, j)]);
            }
        }
    }

    #[test]
    fn a_valid_matrix_is_returned_unchanged() {
        let a = Mat::from_fn(3, 3, |i, j| if i == j { 1.0 } else { 0.2 });
        let (b, p) = nearest_correlation(&a, 1e-8, 1e-12, 100).unwrap();
        assert!(p.was_positive_definite);
        assert_eq!(b, a);
    }
}
