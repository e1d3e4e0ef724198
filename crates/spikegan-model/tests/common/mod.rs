//! Helpers shared by the f64 gradient tests.

use burn::tensor::{Device, FloatDType, Tensor};

/// The flex device in f64 with autodiff (configured once per test process).
pub fn f64_device() -> Device {
    static DEVICE: std::sync::OnceLock<Device> = std::sync::OnceLock::new();
    DEVICE
        .get_or_init(|| {
            let mut d = Device::flex();
            d.configure(FloatDType::F64).expect("f64 on flex");
            d.autodiff()
        })
        .clone()
}

/// A tensor's values as f64.
pub fn values<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    t.into_data().convert::<f64>().try_to_vec::<f64>().unwrap()
}
