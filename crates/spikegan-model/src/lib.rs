//! Spike-GAN: a WGAN-GP with a semi-convolutional critic and generator, in Burn.
//!
//! Not implemented yet (issue 4): this crate currently exports nothing.
