//! Limited-memory BFGS with a weak Wolfe line search (bisection/expansion, Lewis & Overton),
//! shared by the exact maximum entropy fit and the dichotomized Gaussian's moment fit. The
//! curvature condition matters: with sufficient decrease alone the steps can shrink for good on
//! a non-convex objective (the Rosenbrock test below stalls that way).

/// Memory of the quasi-Newton approximation (pairs of steps and gradient changes).
const MEMORY: usize = 10;

/// One evaluated point: parameters, objective, gradient, and what the caller computed with them.
pub(crate) struct Point<T> {
    pub x: Vec<f64>,
    pub f: f64,
    pub g: Vec<f64>,
    pub extra: T,
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Minimise from `x0`. `evaluate(x)` returns the objective, its gradient and anything else the
/// caller wants to keep from that point; `keep_in_bounds` maps a trial point into the feasible
/// box (identity when unconstrained; a safeguard for bounds that are rarely active, not a
/// bound-constrained method); `done(point, iteration)` stops the search. Also stops after
/// `max_iterations` or when the line search cannot decrease the objective any more. Returns the
/// last point and the iterations made.
pub(crate) fn minimize<T>(
    x0: Vec<f64>,
    max_iterations: usize,
    mut evaluate: impl FnMut(&[f64]) -> (f64, Vec<f64>, T),
    keep_in_bounds: impl Fn(&mut [f64]),
    mut done: impl FnMut(&Point<T>, usize) -> bool,
) -> (Point<T>, usize) {
    let (f, g, extra) = evaluate(&x0);
    let mut point = Point { x: x0, f, g, extra };
    let mut history: std::collections::VecDeque<(Vec<f64>, Vec<f64>, f64)> = Default::default();
    let mut iterations = 0;
    while !done(&point, iterations) && iterations < max_iterations {
        iterations += 1;
        // Two-loop recursion: d = -H g.
        let mut q = point.g.clone();
        let mut alphas = Vec::with_capacity(history.len());
        for (s, y, rho) in history.iter().rev() {
            let a = rho * dot(s, &q);
            q.iter_mut().zip(y).for_each(|(qi, yi)| *qi -= a * yi);
            alphas.push(a);
        }
        // First step: scaled so that it moves about one unit.
        let norm = dot(&point.g, &point.g).sqrt();
        let gamma = history.back().map_or(1.0 / norm.max(1.0), |(s, y, _)| {
            dot(s, y) / dot(y, y).max(f64::MIN_POSITIVE)
        });
        q.iter_mut().for_each(|v| *v *= gamma);
        for ((s, y, rho), a) in history.iter().zip(alphas.into_iter().rev()) {
            let b = rho * dot(y, &q);
            q.iter_mut().zip(s).for_each(|(qi, si)| *qi += (a - b) * si);
        }
        let mut d: Vec<f64> = q.iter().map(|v| -v).collect();
        if dot(&d, &point.g) >= 0.0 {
            d = point.g.iter().map(|v| -v).collect();
            history.clear();
        }
        let slope = dot(&d, &point.g);
        let (mut lo, mut hi, mut step) = (0.0f64, f64::INFINITY, 1.0f64);
        let mut accepted: Option<Point<T>> = None;
        for _ in 0..60 {
            let mut x: Vec<f64> = point.x.iter().zip(&d).map(|(t, di)| t + step * di).collect();
            keep_in_bounds(&mut x);
            let (f, g, extra) = evaluate(&x);
            let trial = Point { x, f, g, extra };
            if trial.f > point.f + 1e-4 * step * slope || !trial.f.is_finite() {
                hi = step;
            } else if dot(&trial.g, &d) < 0.9 * slope {
                lo = step;
                accepted = Some(trial);
            } else {
                accepted = Some(trial);
                break;
            }
            step = if hi.is_finite() { 0.5 * (lo + hi) } else { 2.0 * step };
        }
        // No point with sufficient decrease: nothing left to gain along any direction we have.
        let Some(trial) = accepted else { break };
        let s: Vec<f64> = trial.x.iter().zip(&point.x).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = trial.g.iter().zip(&point.g).map(|(a, b)| a - b).collect();
        let sy = dot(&s, &y);
        if sy > 1e-300 {
            history.push_back((s, y, 1.0 / sy));
            if history.len() > MEMORY {
                history.pop_front();
            }
        }
        let stalled = (point.f - trial.f).abs() <= 1e-16 * point.f.abs().max(1.0);
        point = trial;
        if stalled {
            break;
        }
    }
    (point, iterations)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimises_the_rosenbrock_function_and_respects_bounds() {
        let rosenbrock = |x: &[f64]| {
            let (a, b) = (x[0], x[1]);
            let f = (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2);
            let g = vec![-2.0 * (1.0 - a) - 400.0 * a * (b - a * a), 200.0 * (b - a * a)];
            (f, g, ())
        };
        let (p, iterations) = minimize(vec![-1.2, 1.0], 500, rosenbrock, |_| {}, |p, _| p.f < 1e-20);
        assert!((p.x[0] - 1.0).abs() < 1e-8 && (p.x[1] - 1.0).abs() < 1e-8, "{:?}", p.x);
        assert!(iterations < 200, "{iterations} iterations");
        // Every iterate stays in the box x <= 0.5, and the objective still goes down.
        let clamp = |x: &mut [f64]| x.iter_mut().for_each(|v| *v = v.min(0.5));
        let (p, _) = minimize(vec![-1.2, 0.0], 500, rosenbrock, clamp, |_, _| false);
        assert!(p.x.iter().all(|v| *v <= 0.5), "{:?}", p.x);
        assert!(p.f < rosenbrock(&[-1.2, 0.0]).0 / 10.0, "{}", p.f);
    }
}
