//! Backend choice: CPU with flex (default) or ndarray, or CUDA; each behind its cargo feature.

use clap::ValueEnum;

/// The CPU backend. Measured here (`cargo bench -p trainer --features ndarray`): flex runs the
/// default MLP at 13,598 steps/s at batch 32, ndarray at 6,873 (flex 2.0x; flex gains most
/// from the fused ops of `model::fused`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CpuBackend {
    Flex,
    Ndarray,
}

impl Default for CpuBackend {
    /// flex when it is compiled in (the default feature), else ndarray.
    fn default() -> Self {
        if cfg!(feature = "flex") {
            CpuBackend::Flex
        } else {
            CpuBackend::Ndarray
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Device {
    #[default]
    Cpu,
    Cuda,
}

/// Runs `$body` with `B` bound to the chosen autodiff backend and `$device` to its device.
#[macro_export]
macro_rules! with_backend {
    ($backend:expr, $device_choice:expr, |$b:ident, $device:ident| $body:expr) => {{
        use $crate::backend::{CpuBackend, Device};
        match ($device_choice, $backend) {
            #[cfg(feature = "flex")]
            (Device::Cpu, CpuBackend::Flex) => {
                type $b = burn::backend::Autodiff<burn::backend::Flex>;
                let $device = burn::backend::flex::FlexDevice;
                $body
            }
            #[cfg(not(feature = "flex"))]
            (Device::Cpu, CpuBackend::Flex) => {
                anyhow::bail!("this trainer was built without flex; rebuild with `--features flex`")
            }
            #[cfg(feature = "ndarray")]
            (Device::Cpu, CpuBackend::Ndarray) => {
                type $b = burn::backend::Autodiff<burn::backend::NdArray>;
                let $device = burn::backend::ndarray::NdArrayDevice::Cpu;
                $body
            }
            #[cfg(not(feature = "ndarray"))]
            (Device::Cpu, CpuBackend::Ndarray) => {
                anyhow::bail!("this trainer was built without ndarray; rebuild with `--features ndarray`")
            }
            #[cfg(feature = "cuda")]
            (Device::Cuda, _) => {
                type $b = burn::backend::Autodiff<burn::backend::Cuda>;
                let $device = burn::backend::cuda::CudaDevice::default();
                $body
            }
            #[cfg(not(feature = "cuda"))]
            (Device::Cuda, _) => anyhow::bail!("this trainer was built without CUDA; rebuild with `--features cuda`"),
        }
    }};
}
