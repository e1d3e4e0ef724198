//! The moment term's count distributions: the Poisson-binomial distribution of a window bin's
//! population count and its gradient, [`LANES`] bins at a time, one per vector lane, in code
//! that [`pulp`] dispatches to the CPU's widest vectors. Each lane does the scalar recursion's
//! operations in the same order (Rust never fuses a multiply and an add), so results are the
//! same bit for bit on every instruction set.

/// Bins whose count distributions are computed together, one per SIMD lane.
pub(super) const LANES: usize = 16;

/// Values of [`LANES`] bins, one per lane.
pub(super) type Lanes = [f64; LANES];

/// Buffers of the count-distribution kernels for one group of [`LANES`] bins.
pub(super) struct CountLanes {
    /// `[N]` the bins' spike probabilities (lanes past the last bin 0).
    column: Vec<Lanes>,
    /// `[N + 1]` the bins' count distributions.
    q: Vec<Lanes>,
    /// The distribution of the first i neurons (support 0..=i) at offset i (i + 1) / 2.
    steps: Vec<Lanes>,
    /// `[N + 1]` the adjoint of the partial distributions (reverse mode).
    adjoint: Vec<Lanes>,
    /// The instruction set the kernels run with.
    simd: pulp::Arch,
}

impl CountLanes {
    pub(super) fn new(n: usize) -> Self {
        CountLanes {
            column: vec![[0.0; LANES]; n],
            q: vec![[0.0; LANES]; n + 1],
            steps: vec![[0.0; LANES]; n * (n + 1) / 2],
            adjoint: vec![[0.0; LANES]; n + 1],
            simd: pulp::Arch::new(),
        }
    }

    /// The count distributions (`[N + 1]`, one lane per bin) of bins `c0..c0 + LANES` of
    /// channel-major `x` (`[N, cols]`); lanes past the last bin hold a bin with no neuron's
    /// probability.
    pub(super) fn distributions(&mut self, x: &[f32], cols: usize, c0: usize) -> &[Lanes] {
        self.load(x, cols, c0);
        self.simd.dispatch(CountKernel::Distribution(self));
        &self.q
    }

    /// For bins `c0..c0 + LANES` of channel-major `x` (`[N, cols]`), the gradient of
    /// `sum_k count[k] P(K = k)` with respect to each probability, into `out` (`[N]`).
    pub(super) fn gradients(&mut self, x: &[f32], cols: usize, c0: usize, count: &[f64], out: &mut [[f32; LANES]]) {
        self.load(x, cols, c0);
        self.simd.dispatch(CountKernel::Gradient {
            lanes: self,
            count,
            out,
        });
    }

    /// Loads bins `c0..c0 + LANES` of channel-major `x` (`[N, cols]`).
    fn load(&mut self, x: &[f32], cols: usize, c0: usize) {
        let width = LANES.min(cols - c0);
        for (i, lanes) in self.column.iter_mut().enumerate() {
            *lanes = [0.0; LANES];
            lanes
                .iter_mut()
                .zip(&x[i * cols + c0..][..width])
                .for_each(|(a, &v)| *a = f64::from(v));
        }
    }

    /// The count distribution (Poisson-binomial) of the loaded bins into `q`, keeping the
    /// partial distributions in `steps` when `keep_steps`.
    #[inline(always)]
    fn distribution(&mut self, keep_steps: bool) {
        let q = &mut self.q;
        q.fill([0.0; LANES]);
        q[0] = [1.0; LANES];
        for (i, pi) in self.column.iter().enumerate() {
            if keep_steps {
                self.steps[i * (i + 1) / 2..][..i + 1].copy_from_slice(&q[..i + 1]);
            }
            let stay = pi.map(|p| 1.0 - p);
            for k in (1..=i + 1).rev() {
                let (cur, below) = (q[k], q[k - 1]);
                q[k] = std::array::from_fn(|l| cur[l] * stay[l] + below[l] * pi[l]);
            }
            q[0] = std::array::from_fn(|l| q[0][l] * stay[l]);
        }
    }

    /// Gradient of `sum_k count[k] q[k]` with respect to each loaded probability, into `out`
    /// (`[N]`), by reverse mode through the recursion.
    #[inline(always)]
    fn gradient(&mut self, count: &[f64], out: &mut [[f32; LANES]]) {
        self.distribution(true);
        let adjoint = &mut self.adjoint;
        adjoint.iter_mut().zip(count).for_each(|(a, &g)| *a = [g; LANES]);
        for i in (0..self.column.len()).rev() {
            let (prev, p) = (&self.steps[i * (i + 1) / 2..][..i + 1], &self.column[i]);
            let mut d: Lanes = std::array::from_fn(|l| adjoint[0][l] * -prev[0][l]);
            for k in 1..=i + 1 {
                let (a, lower) = (adjoint[k], prev[k - 1]);
                let upper = if k <= i { prev[k] } else { [0.0; LANES] };
                d = std::array::from_fn(|l| d[l] + a[l] * (lower[l] - upper[l]));
            }
            out[i] = d.map(|v| v as f32);
            let stay = p.map(|p| 1.0 - p);
            for k in 0..=i {
                let (a, next) = (adjoint[k], adjoint[k + 1]);
                adjoint[k] = std::array::from_fn(|l| a[l] * stay[l] + next[l] * p[l]);
            }
        }
    }
}

/// A count-distribution kernel, run by [`pulp::Arch::dispatch`] with the CPU's widest vectors
/// (its body is inlined into the dispatched function, so the lane loops vectorise for it).
enum CountKernel<'a> {
    Distribution(&'a mut CountLanes),
    Gradient {
        lanes: &'a mut CountLanes,
        count: &'a [f64],
        out: &'a mut [[f32; LANES]],
    },
}

impl pulp::WithSimd for CountKernel<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        match self {
            CountKernel::Distribution(lanes) => lanes.distribution(false),
            CountKernel::Gradient { lanes, count, out } => lanes.gradient(count, out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// The lane kernel's count distributions (fractional probabilities, a last group with
    /// fewer bins than lanes) against the sum over all 2^N patterns.
    #[test]
    fn count_distributions_match_the_sum_over_patterns() {
        let (n, cols) = (6, LANES + 3);
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let x: Vec<f32> = (0..n * cols).map(|_| rng.random::<f32>()).collect();
        let mut lanes = CountLanes::new(n);
        for c0 in (0..cols).step_by(LANES) {
            let got = lanes.distributions(&x, cols, c0).to_vec();
            for l in 0..LANES.min(cols - c0) {
                let p = |i: usize| f64::from(x[i * cols + c0 + l]);
                let mut q = vec![0.0; n + 1];
                for pattern in 0u32..1 << n {
                    let probability: f64 = (0..n)
                        .map(|i| if pattern >> i & 1 == 1 { p(i) } else { 1.0 - p(i) })
                        .product();
                    q[pattern.count_ones() as usize] += probability;
                }
                for (k, q) in q.iter().enumerate() {
                    assert!((got[k][l] - q).abs() < 1e-12, "bin {} count {k}", c0 + l);
                }
            }
        }
    }
}
