//! A tiny simulated data set shared by the training tests.

use spike_data::SampleSet;
use spike_data::simulate::{UniformParams, simulate_uniform};

/// 512 windows of 4 neurons x 16 bins: rate 0.25 per bin, pairs of neurons correlated 0.3.
pub fn tiny_data(seed: u64) -> SampleSet<'static> {
    let p = UniformParams {
        neurons: 4,
        bins: 16,
        samples: 512,
        rate: 0.25,
        corr: 0.3,
        group: 2,
        refractory: 0.0,
    };
    simulate_uniform(&p, seed, 0).unwrap().samples
}
