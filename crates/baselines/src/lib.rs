//! Baseline generative models for spike patterns: maximum entropy (independent, pairwise,
//! k-pairwise) and the dichotomized Gaussian (spatial, spatio-temporal).
//!
//! Not implemented yet (issue 5): this crate currently exports nothing.
