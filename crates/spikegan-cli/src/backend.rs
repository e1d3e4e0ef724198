//! The one place that maps `--backend` to a Burn device.

use anyhow::bail;
use burn::tensor::Device;

/// Compute backends this binary can use.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// CPU: Burn's flex backend (SIMD, rayon threads; RAYON_NUM_THREADS sets how many).
    Flex,
    /// NVIDIA GPU 0 (needs a build with `--features cuda`).
    Cuda,
}

/// The device for `backend`, without autodiff.
pub fn device(backend: Backend) -> anyhow::Result<Device> {
    match backend {
        Backend::Flex => Ok(Device::flex()),
        #[cfg(feature = "cuda")]
        Backend::Cuda => Ok(Device::cuda(0)),
        #[cfg(not(feature = "cuda"))]
        Backend::Cuda => {
            bail!("this spikegan was built without CUDA: rebuild with `cargo build --release --features cuda`")
        }
    }
}
