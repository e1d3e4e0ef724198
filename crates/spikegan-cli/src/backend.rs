//! The one place that maps `--backend` to a Burn device.

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
        Backend::Cuda => cuda_device(),
        #[cfg(not(feature = "cuda"))]
        Backend::Cuda => {
            anyhow::bail!("this spikegan was built without CUDA: rebuild with `cargo build --release --features cuda`")
        }
    }
}

/// GPU 0, checked with one tiny operation: without a driver or a GPU, Burn's CUDA runtime
/// panics on its device thread, which is turned into an error here.
#[cfg(feature = "cuda")]
fn cuda_device() -> anyhow::Result<Device> {
    use std::sync::{Arc, Mutex};
    let device = Device::cuda(0);
    let first_panic = Arc::new(Mutex::new(None::<String>));
    let previous_hook = std::panic::take_hook();
    let record = first_panic.clone();
    std::panic::set_hook(Box::new(move |info| {
        if let Ok(mut slot) = record.lock()
            && slot.is_none()
        {
            let payload = info.payload();
            let text = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()));
            *slot = Some(text.unwrap_or_else(|| "unknown error".into()));
        }
    }));
    let probe = std::panic::catch_unwind(|| burn::tensor::Tensor::<1>::zeros([1], &device).into_data());
    std::panic::set_hook(previous_hook);
    match probe {
        Ok(_) => Ok(device),
        Err(_) => {
            let cause = first_panic.lock().ok().and_then(|m| m.clone()).unwrap_or_default();
            let cause = cause.split(" - searched for").next().unwrap_or_default();
            anyhow::bail!("CUDA GPU 0 is not usable (is the NVIDIA driver installed and a GPU visible?): {cause}")
        }
    }
}
