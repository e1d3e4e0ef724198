//! Moment matching for the generator: an option beyond the paper (`moment_weight`).
//!
//! With a weight λ, the generator's loss gains λ times the mean squared z-score of its batch's
//! spike moments against those of the training windows, the constraints the maximum-entropy and
//! dichotomized-Gaussian baselines are fitted to:
//!
//! - the time course: P(s_n(t) = 1) for every neuron n and bin t (N x T values; these include
//!   the firing rates);
//! - pair moments E[s_i(t) s_j(t)], i < j (N(N-1)/2), which with the rates fix the covariances;
//! - lag-1 moments E[s_i(t) s_j(t+1)], all i, j (N²), which fix the lag covariances;
//! - each neuron's autocorrelation E[s_n(t) s_n(t+k)] for k = 2..=10 (lag 1 is in the previous
//!   item), bounded by T - 1;
//! - the population count distribution P(K = k), k = 0..=N, of single bins (the k-pairwise
//!   model's constraint);
//! - optionally (`autocorrelogram_weight` a > 0), the pooled autocorrelogram: for each lag
//!   k = 1..=10, the neurons' average of E[s_n(t) s_n(t+k)], the numerator of the paper's
//!   autocorrelogram. Per-neuron moments let a lag that is off by the same fraction in every
//!   neuron hide in each neuron's noise; pooled, it stands out (z about √N larger), and busy
//!   neurons count as much as they do in the paper's statistic. Its squared z-scores enter the
//!   sum with weight a (the mean stays over the other moments' count).
//! - optionally (`rate_weight` r > 0), the pooled firing rates: each neuron's P(s_n(t) = 1)
//!   averaged over the window's bins. A neuron's rate is in its N x T time-course moments,
//!   but spread over T of them it is seen with about √T less z than pooled; the phase that fits
//!   the moment term alone ([`crate::config::Polish`]) otherwise leaves the rates a few percent
//!   off, and calibrating them afterwards moves the fitted pair moments. Weight r as for a.
//! - optionally (`count_weight` c > 0), the count distribution again: each P(K = k) is one
//!   group of its own, so its squared z-score counts 1 + c times. Its N + 1 values are a small
//!   share of the term's moments (51 of 5826 on the retina). On the retina it did not lower the
//!   samples' k-probability error, which comes mostly from the weight average that is sampled
//!   rather than from the fitted generator (docs/benchmarks.md, session 23).
//!
//! With `moment_split` each squared z-score is replaced by the product of the z-scores of the
//! batch's two halves ([`MomentTargets::loss_and_gradient`]): unbiased for the squared misfit,
//! without the plain square's floor of about 1 per moment from the batch's own noise. With a
//! running average (`polish_moment_decay`, the moment-only phase) each misfit is taken from an
//! exponential average of the batches' moments instead
//! ([`MomentTargets::averaged_loss_and_gradient`]): the floor and the gradient's noise from the
//! misfit shrink to about (1 - decay) / (1 + decay) of one batch's.
//!
//! Expectations are over windows and over the bins where both times fall inside the window. The
//! generator's moments are those of its Bernoulli samples, computed exactly from its spike
//! probabilities p: bins of one sample are drawn independently given z, so
//! E[s_i(t) s_j(t')] = E_z[p_i(t) p_j(t')] for (i, t) != (j, t'), and a bin's count K is
//! Poisson-binomial given z (computed by the usual recursion over neurons). The z-score of a
//! moment m with data value m̂, estimated on a batch of c (window, bin) terms, is
//! (m - m̂) / sqrt(v / c) with v = max(m̂ (1 - m̂), 1 / c): the batch's own sampling noise, so a
//! generator that matches the data scores about 1 per moment. Measured effect on the retina:
//! docs/benchmarks.md (issue 7).
//!
//! Cost: the pair and lag-1 sums are matrix products; the count distributions (N² / 2 steps per
//! bin, forward and reverse) run 16 bins at a time on the CPU's widest vectors, bit-identical on
//! every instruction set (module `count`); the sums over bins add fixed blocks in order, and the
//! time-course and autocorrelation sums run one neuron per task, each in a fixed order, so
//! results do not depend on the thread count either.

use faer::{MatMut, MatRef};
use rayon::prelude::*;

mod count;

use count::{CountLanes, LANES};

use crate::host::{matmul, recycle, scratch, to_batch_major, to_channel_major};
use crate::train::TrainingData;

/// Largest autocorrelation lag matched, in bins (the paper's autocorrelogram goes to 10).
pub const MAX_AUTO_LAG: usize = 10;

/// Columns (window bins) per block of the parallel count-distribution sums (a multiple of
/// [`LANES`]).
const COUNT_BLOCK: usize = 256;

/// Weights of the pooled groups within the moment term (module docs); 0 leaves a group out.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PooledWeights {
    /// The pooled autocorrelogram, lags 1..=K.
    pub autocorrelogram: f64,
    /// Each neuron's firing rate over the window's bins.
    pub rate: f64,
    /// The count distribution P(K = k), each k a group of its own.
    pub count: f64,
}

/// The training windows' moments (see the module docs), each an average over its terms.
#[derive(Clone, Debug, PartialEq)]
pub struct MomentTargets {
    neurons: usize,
    bins: usize,
    /// `[N, T]` P(s_n(t) = 1).
    time_course: Vec<f64>,
    /// `[N, N]` E[s_i(t) s_j(t)] (symmetric; the diagonal is not used).
    pair: Vec<f64>,
    /// `[N, N]` E[s_i(t) s_j(t+1)].
    lag: Vec<f64>,
    /// `[N, K - 1]` E[s_n(t) s_n(t+k)] for k = 2..=K, K = min(10, T - 1).
    auto: Vec<f64>,
    /// `[N + 1]` P(K = k).
    count: Vec<f64>,
}

/// Integer counts behind [`MomentTargets`] (but its time course, which [`TrainingData`]
/// has), summed over windows.
struct Counts {
    pair: Vec<u64>,
    lag: Vec<u64>,
    auto: Vec<u64>,
    count: Vec<u64>,
}

impl Counts {
    fn new(n: usize, lags: usize) -> Self {
        Counts {
            pair: vec![0; n * n],
            lag: vec![0; n * n],
            auto: vec![0; n * lags],
            count: vec![0; n + 1],
        }
    }

    fn merge(mut self, o: Counts) -> Counts {
        for (a, b) in [
            (&mut self.pair, &o.pair),
            (&mut self.lag, &o.lag),
            (&mut self.auto, &o.auto),
            (&mut self.count, &o.count),
        ] {
            a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
        }
        self
    }
}

/// `row` moved `k` bins earlier: bit t of the result is bit t + k of `row`.
fn shifted(row: &[u64], k: usize, out: &mut [u64]) {
    let (q, r) = (k / 64, k % 64);
    for (w, o) in out.iter_mut().enumerate() {
        let lo = row.get(w + q).map_or(0, |&x| x >> r);
        let hi = if r == 0 {
            0
        } else {
            row.get(w + q + 1).map_or(0, |&x| x << (64 - r))
        };
        *o = lo | hi;
    }
}

fn and_count(a: &[u64], b: &[u64]) -> u64 {
    a.iter().zip(b).map(|(x, y)| u64::from((x & y).count_ones())).sum()
}

impl MomentTargets {
    /// Largest autocorrelation lag for windows of `bins`.
    fn max_lag(bins: usize) -> usize {
        MAX_AUTO_LAG.min(bins.saturating_sub(1))
    }

    /// Moments of the training windows of `data` (not its dev windows).
    pub fn from_training(data: &TrainingData) -> Self {
        let packed = data.packed();
        let (n, t) = (data.neurons(), data.bins());
        let lags = Self::max_lag(t).saturating_sub(1);
        let words = packed.words_per_sample();
        let counts = (0..data.train_len())
            .into_par_iter()
            .fold(
                || {
                    (
                        Counts::new(n, lags),
                        vec![0u64; n * words],
                        vec![0u64; words],
                        vec![0usize; t],
                    )
                },
                |(mut c, mut rows, mut shift, mut active), s| {
                    active.fill(0);
                    for (i, row) in rows.chunks_mut(words).enumerate() {
                        packed.sample_row(s, i, row);
                        for (k, &word) in row.iter().enumerate() {
                            let mut bits = word;
                            while bits != 0 {
                                active[k * 64 + bits.trailing_zeros() as usize] += 1;
                                bits &= bits - 1;
                            }
                        }
                    }
                    for &k in &active {
                        c.count[k] += 1;
                    }
                    for j in 0..n {
                        let rj = &rows[j * words..][..words];
                        for i in 0..j {
                            c.pair[i * n + j] += and_count(&rows[i * words..][..words], rj);
                        }
                        shifted(rj, 1, &mut shift);
                        for i in 0..n {
                            c.lag[i * n + j] += and_count(&rows[i * words..][..words], &shift);
                        }
                        for k in 2..=lags + 1 {
                            shifted(rj, k, &mut shift);
                            c.auto[j * lags + k - 2] += and_count(rj, &shift);
                        }
                    }
                    (c, rows, shift, active)
                },
            )
            .map(|(c, ..)| c)
            .reduce(|| Counts::new(n, lags), Counts::merge);
        let w = data.train_len() as f64;
        let per = |v: &[u64], terms: f64| v.iter().map(|&c| c as f64 / terms).collect::<Vec<f64>>();
        let mut pair = per(&counts.pair, w * t as f64);
        for i in 0..n {
            for j in 0..i {
                pair[i * n + j] = pair[j * n + i];
            }
        }
        let mut auto = vec![0.0; n * lags];
        for (l, k) in (2..=lags + 1).enumerate() {
            for i in 0..n {
                auto[i * lags + l] = counts.auto[i * lags + l] as f64 / (w * (t - k) as f64);
            }
        }
        MomentTargets {
            neurons: n,
            bins: t,
            time_course: data.time_course().to_vec(),
            pair,
            lag: per(&counts.lag, w * (t - 1).max(1) as f64),
            auto,
            count: per(&counts.count, w * t as f64),
        }
    }

    /// Number of matched moments.
    pub fn len(&self) -> usize {
        let n = self.neurons;
        self.time_course.len() + n * (n - 1) / 2 + self.lag.len() + self.auto.len() + self.count.len()
    }

    /// Always false: a target has at least the time course of one neuron and bin.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The loss `weight * mean z²` of the spike probabilities `p` (`[B, N, T]`, batch-major) and
    /// its gradient with respect to `p` (same layout); the pooled groups of `pooled` with a
    /// weight above zero join the sum with that weight (module docs).
    ///
    /// With `split` (and at least two windows) each z² is estimated without the batch's own
    /// noise: as the product of the z-scores of the batch's two halves (first and last windows),
    /// whose expectation is the squared misfit alone. The plain square adds the estimate's
    /// variance, which a generator lowers by making its windows vary less than the data's.
    pub fn loss_and_gradient(&self, p: &[f32], weight: f64, pooled: PooledWeights, split: bool) -> (f64, Vec<f32>) {
        let scale = weight / self.len() as f64;
        let targets = self.flat();
        let groups = self.pooled_groups(pooled);
        let window = self.neurons * self.bins;
        let windows = p.len() / window;
        if !split || windows < 2 {
            let batch = BatchMoments::new(self, p);
            return squared_z_scores(&batch, &batch.values, &targets, &groups, scale);
        }
        let (first, last) = p.split_at(windows / 2 * window);
        let (a, b) = (BatchMoments::new(self, first), BatchMoments::new(self, last));
        let (ra, rb) = (
            Residuals::new(&a.values, &targets, &groups),
            Residuals::new(&b.values, &targets, &groups),
        );
        let terms: Vec<f64> = a.terms.iter().zip(&b.terms).map(|(x, y)| x + y).collect();
        let v = ra.noise(&targets, &groups, &terms);
        let z2 = ra.products(&rb, &v, &groups);
        let mut grad = a.backward(&rb.gradient(&v, &groups, &a.terms, scale));
        grad.extend(b.backward(&ra.gradient(&v, &groups, &b.terms, scale)));
        (scale * z2, grad)
    }

    /// [`Self::loss_and_gradient`] with each moment's misfit taken from `average`, a running
    /// average of the batches' moments, instead of from this batch alone: first
    /// `average = decay * average + (1 - decay) * batch` (the batch itself when `average` is
    /// empty or of another length), then the loss is the average's mean z² and the gradient is
    /// 2 (average - target) / v times the batch moments' gradient (stochastic compositional
    /// gradient descent, Wang, Fang and Liu 2017). The misfit then carries about
    /// (1 - decay) / (1 + decay) of one batch's noise variance, and a generator that changes
    /// slowly moves the average little between updates.
    pub fn averaged_loss_and_gradient(
        &self,
        p: &[f32],
        weight: f64,
        pooled: PooledWeights,
        average: &mut Vec<f64>,
        decay: f64,
    ) -> (f64, Vec<f32>) {
        let scale = weight / self.len() as f64;
        let targets = self.flat();
        let groups = self.pooled_groups(pooled);
        let batch = BatchMoments::new(self, p);
        if average.len() == batch.values.len() {
            average
                .iter_mut()
                .zip(&batch.values)
                .for_each(|(a, &m)| *a = decay * *a + (1.0 - decay) * m);
        } else {
            average.clone_from(&batch.values);
        }
        squared_z_scores(&batch, average, &targets, &groups, scale)
    }

    /// The pooled groups with a weight above zero: positions in [`Self::flat`] and weight.
    fn pooled_groups(&self, pooled: PooledWeights) -> Vec<(Vec<usize>, f64)> {
        let mut groups = Vec::new();
        for (indices, w) in [
            (self.autocorrelation_indices(), pooled.autocorrelogram),
            (self.rate_indices(), pooled.rate),
            (self.count_indices(), pooled.count),
        ] {
            if w > 0.0 {
                groups.extend(indices.into_iter().map(|g| (g, w)));
            }
        }
        groups
    }

    /// For each neuron, the positions in [`Self::flat`] of its T time-course moments.
    fn rate_indices(&self) -> Vec<Vec<usize>> {
        let t = self.bins;
        (0..self.neurons).map(|i| (i * t..(i + 1) * t).collect()).collect()
    }

    /// The position in [`Self::flat`] of each P(K = k), one group each (the last values).
    fn count_indices(&self) -> Vec<Vec<usize>> {
        let start = self.len() - self.count.len();
        (start..self.len()).map(|k| vec![k]).collect()
    }

    /// For each lag 1..=K, the positions in [`Self::flat`] of the N neurons' E[s_n(t) s_n(t+k)]:
    /// lag 1 is the diagonal of the lag-1 group, later lags are the autocorrelation group.
    fn autocorrelation_indices(&self) -> Vec<Vec<usize>> {
        let n = self.neurons;
        let lag_start = self.time_course.len() + n * (n - 1) / 2;
        let auto_start = lag_start + n * n;
        let lags = self.auto.len() / n;
        let mut out = vec![(0..n).map(|i| lag_start + i * (n + 1)).collect::<Vec<_>>()];
        out.extend((0..lags).map(|l| (0..n).map(|i| auto_start + i * lags + l).collect()));
        out
    }

    /// The targets in the order of [`BatchMoments::values`].
    fn flat(&self) -> Vec<f64> {
        let n = self.neurons;
        let mut out = self.time_course.clone();
        out.extend(
            (0..n)
                .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
                .map(|(i, j)| self.pair[i * n + j]),
        );
        out.extend(&self.lag);
        out.extend(&self.auto);
        out.extend(&self.count);
        out
    }
}

/// `scale` times the sum of squared z-scores of `values` (the batch's moments or a running
/// average of them) against `targets`, with the noise variances of `batch`'s term counts, and
/// its gradient with respect to the batch's probabilities through `batch`'s moments.
fn squared_z_scores(
    batch: &BatchMoments,
    values: &[f64],
    targets: &[f64],
    groups: &[(Vec<usize>, f64)],
    scale: f64,
) -> (f64, Vec<f32>) {
    let r = Residuals::new(values, targets, groups);
    let v = r.noise(targets, groups, &batch.terms);
    let z2 = r.products(&r, &v, groups);
    let g = r.gradient(&v, groups, &batch.terms, 2.0 * scale);
    (scale * z2, batch.backward(&g))
}

/// Moments' differences from the targets (one batch's or a running average's): each moment's,
/// then each pooled group's (the groups' moments have equal term counts, so a group's average
/// is its moment over all of its terms).
struct Residuals {
    moments: Vec<f64>,
    groups: Vec<f64>,
}

impl Residuals {
    fn new(values: &[f64], targets: &[f64], groups: &[(Vec<usize>, f64)]) -> Self {
        let moments: Vec<f64> = values.iter().zip(targets).map(|(m, t)| m - t).collect();
        let groups = groups
            .iter()
            .map(|(g, _)| g.iter().map(|&k| moments[k]).sum::<f64>() / g.len() as f64)
            .collect();
        Residuals { moments, groups }
    }

    /// Noise variances of the moments, then of the groups, for estimates over `terms`.
    fn noise(&self, targets: &[f64], groups: &[(Vec<usize>, f64)], terms: &[f64]) -> Vec<f64> {
        let mut v: Vec<f64> = targets.iter().zip(terms).map(|(&t, &c)| noise_variance(t, c)).collect();
        v.extend(groups.iter().map(|(g, _)| {
            let target = g.iter().map(|&k| targets[k]).sum::<f64>() / g.len() as f64;
            noise_variance(target, g.iter().map(|&k| terms[k]).sum())
        }));
        v
    }

    /// Σ d·d'/v over the moments plus Σ w·d·d'/v over the groups, d from `self`, d' from
    /// `other`: the sum of squared z-scores when `other` is `self`.
    fn products(&self, other: &Residuals, v: &[f64], groups: &[(Vec<usize>, f64)]) -> f64 {
        let (vm, vg) = v.split_at(self.moments.len());
        let moments: f64 = (self.moments.iter().zip(&other.moments).zip(vm))
            .map(|((a, b), v)| a * b / v)
            .sum();
        let pooled: f64 = (self.groups.iter().zip(&other.groups).zip(vg).zip(groups))
            .map(|(((a, b), v), (_, w))| w * a * b / v)
            .sum();
        moments + pooled
    }

    /// `factor` times the derivative of [`Self::products`] with respect to the other batch's
    /// values, divided by each value's number of `terms` in that batch (as
    /// [`BatchMoments::backward`] takes it).
    fn gradient(&self, v: &[f64], groups: &[(Vec<usize>, f64)], terms: &[f64], factor: f64) -> Vec<f64> {
        let (vm, vg) = v.split_at(self.moments.len());
        let mut g: Vec<f64> = self.moments.iter().zip(vm).map(|(d, v)| d / v).collect();
        for ((d, v), (group, w)) in self.groups.iter().zip(vg).zip(groups) {
            for &k in group {
                g[k] += w * d / v / group.len() as f64;
            }
        }
        g.iter_mut().zip(terms).for_each(|(g, c)| *g *= factor / c);
        g
    }
}

/// Sampling variance of a batch's estimate of a moment with data value `target` from `terms`
/// indicator terms: target (1 - target) / terms, at least 1 / terms².
fn noise_variance(target: f64, terms: f64) -> f64 {
    (target * (1.0 - target)).max(1.0 / terms) / terms
}

/// One batch's moments (the module docs' five groups, in that order, pairs as i < j) and what
/// their gradient needs.
struct BatchMoments {
    neurons: usize,
    bins: usize,
    /// Number of autocorrelation lags (2..=K).
    lags: usize,
    /// p channel-major, `[N, B*T]`.
    x: Vec<f32>,
    /// x one bin later (0 in each window's last bin).
    xs: Vec<f32>,
    values: Vec<f64>,
    /// Number of (window, bin) terms of each value.
    terms: Vec<f64>,
}

impl BatchMoments {
    fn new(targets: &MomentTargets, p: &[f32]) -> Self {
        let (n, t) = (targets.neurons, targets.bins);
        let b = p.len() / (n * t);
        let lags = targets.auto.len() / n;
        let x = to_channel_major(p, n, t);
        let mut xs = vec![0f32; x.len()];
        for (dst, src) in xs.chunks_mut(t).zip(x.chunks(t)) {
            dst[..t - 1].copy_from_slice(&src[1..]);
        }
        let cols = b * t;
        let product = |lhs: &[f32], rhs: &[f32]| {
            let mut out = vec![0f32; n * n];
            matmul(
                MatMut::from_row_major_slice_mut(&mut out, n, n),
                false,
                MatRef::from_row_major_slice(lhs, n, cols),
                MatRef::from_row_major_slice(rhs, n, cols).transpose(),
            );
            out
        };
        let (pair_sum, lag_sum) = (product(&x, &x), product(&x, &xs));
        // Per neuron (in parallel, each neuron's sums in a fixed order): the time course and the
        // autocorrelations at lags 2..=lags+1, accumulated per bin position over windows.
        let per_neuron: Vec<(Vec<f64>, Vec<f64>)> = x
            .par_chunks(cols)
            .map(|rows| {
                let mut time_course = vec![0f64; t];
                let mut auto = vec![0f64; lags * t];
                for r in rows.chunks(t) {
                    time_course.iter_mut().zip(r).for_each(|(a, &v)| *a += f64::from(v));
                    for (k, acc) in (2..=lags + 1).zip(auto.chunks_mut(t)) {
                        acc[..t - k]
                            .iter_mut()
                            .zip(r.iter().zip(&r[k..]))
                            .for_each(|(a, (&u, &v))| *a += f64::from(u * v));
                    }
                }
                let auto = (2..=lags + 1)
                    .zip(auto.chunks(t))
                    .map(|(k, acc)| acc.iter().sum::<f64>() / (b * (t - k)) as f64)
                    .collect();
                (time_course, auto)
            })
            .collect();
        let mut values = Vec::with_capacity(targets.len());
        let mut terms = Vec::with_capacity(targets.len());
        for (time_course, _) in &per_neuron {
            values.extend(time_course.iter().map(|&v| v / b as f64));
            terms.extend(std::iter::repeat_n(b as f64, t));
        }
        let (pair_terms, lag_terms) = ((b * t) as f64, (b * (t - 1)).max(1) as f64);
        for i in 0..n {
            for j in i + 1..n {
                values.push(f64::from(pair_sum[i * n + j]) / pair_terms);
                terms.push(pair_terms);
            }
        }
        for v in &lag_sum {
            values.push(f64::from(*v) / lag_terms);
            terms.push(lag_terms);
        }
        for (_, auto) in &per_neuron {
            values.extend(auto);
            terms.extend((2..=lags + 1).map(|k| (b * (t - k)) as f64));
        }
        // Blocks of columns summed in parallel, the blocks' sums added in order: the same result
        // whatever the threads (a parallel fold would split, hence round, differently each run).
        let block_sums: Vec<Vec<f64>> = (0..cols.div_ceil(COUNT_BLOCK))
            .into_par_iter()
            .map(|block| {
                let (mut lanes, mut sum) = (CountLanes::new(n), vec![0f64; n + 1]);
                for c0 in (block * COUNT_BLOCK..cols.min((block + 1) * COUNT_BLOCK)).step_by(LANES) {
                    let q = lanes.distributions(&x, cols, c0);
                    for l in 0..LANES.min(cols - c0) {
                        sum.iter_mut().zip(q).for_each(|(a, q)| *a += q[l]);
                    }
                }
                sum
            })
            .collect();
        let mut count_sum = vec![0f64; n + 1];
        for block in &block_sums {
            count_sum.iter_mut().zip(block).for_each(|(a, b)| *a += b);
        }
        values.extend(count_sum.iter().map(|&v| v / cols as f64));
        terms.extend(std::iter::repeat_n(cols as f64, n + 1));
        BatchMoments {
            neurons: n,
            bins: t,
            lags,
            x,
            xs,
            values,
            terms,
        }
    }

    /// Gradient with respect to p (`[B, N, T]`) of `sum_k g[k] * terms[k] * values[k]`, i.e. of
    /// the loss when `g` is d loss / d value divided by the value's number of terms.
    fn backward(&self, g: &[f64]) -> Vec<f32> {
        let (n, t, lags) = (self.neurons, self.bins, self.lags);
        let cols = self.x.len() / n;
        let mut dx = scratch(self.x.len());
        let (tc, rest) = g.split_at(n * t);
        let (pair, rest) = rest.split_at(n * (n - 1) / 2);
        let (lag, rest) = rest.split_at(n * n);
        let (auto, count) = rest.split_at(n * lags);
        dx.par_chunks_mut(cols).zip(tc.par_chunks(t)).for_each(|(row, tc)| {
            let tc: Vec<f32> = tc.iter().map(|&v| v as f32).collect();
            row.chunks_mut(t).for_each(|d| d.copy_from_slice(&tc));
        });
        let mut g_pair = vec![0f32; n * n];
        let mut pairs = pair.iter();
        for i in 0..n {
            for j in i + 1..n {
                let v = pairs.next().copied().unwrap_or(0.0) as f32;
                g_pair[i * n + j] = v;
                g_pair[j * n + i] = v;
            }
        }
        let g_lag: Vec<f32> = lag.iter().map(|&v| v as f32).collect();
        let mut g_lag_t = vec![0f32; n * n];
        for i in 0..n {
            for j in 0..n {
                g_lag_t[j * n + i] = g_lag[i * n + j];
            }
        }
        let gmat = |g: &[f32], rhs: &[f32], dst: &mut [f32]| {
            matmul(
                MatMut::from_row_major_slice_mut(dst, n, cols),
                true,
                MatRef::from_row_major_slice(g, n, n),
                MatRef::from_row_major_slice(rhs, n, cols),
            );
        };
        // d/dx_i of x_i x_j (pairs) and of x_i(t) x_j(t+1) (lag 1, both factors).
        gmat(&g_pair, &self.x, &mut dx);
        gmat(&g_lag, &self.xs, &mut dx);
        let mut dxs = vec![0f32; self.x.len()];
        gmat(&g_lag_t, &self.x, &mut dxs);
        dx.par_chunks_mut(t).zip(dxs.par_chunks(t)).for_each(|(dst, src)| {
            dst[1..].iter_mut().zip(src).for_each(|(d, &v)| *d += v);
        });
        dx.par_chunks_mut(cols)
            .zip(self.x.par_chunks(cols))
            .zip(auto.par_chunks(lags.max(1)))
            .for_each(|((dx, rows), auto)| {
                for (l, k) in (2..=lags + 1).enumerate() {
                    let g = auto[l] as f32;
                    for (d, r) in dx.chunks_mut(t).zip(rows.chunks(t)) {
                        // d[s + k] += g r[s] before d[s] += g r[s + k], the order of one loop over
                        // s doing both (as two loops, each vectorises).
                        d[k..].iter_mut().zip(&r[..t - k]).for_each(|(d, &r)| *d += g * r);
                        d[..t - k].iter_mut().zip(&r[k..]).for_each(|(d, &r)| *d += g * r);
                    }
                }
            });
        // The count distribution: reverse-mode through each bin's recursion, LANES bins at a time.
        let mut d_count = vec![[0f32; LANES]; cols.div_ceil(LANES) * n];
        d_count.par_chunks_mut(n).enumerate().for_each_init(
            || CountLanes::new(n),
            |lanes, (group, out)| lanes.gradients(&self.x, cols, group * LANES, count, out),
        );
        dx.par_chunks_mut(cols).enumerate().for_each(|(i, row)| {
            for (group, bins) in row.chunks_mut(LANES).enumerate() {
                bins.iter_mut().zip(&d_count[group * n + i]).for_each(|(a, &d)| *a += d);
            }
        });
        let out = to_batch_major(&dx, n, t);
        recycle([dx]);
        out
    }
}

#[cfg(test)]
mod tests;
