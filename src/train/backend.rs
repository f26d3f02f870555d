//! Where tensors live: Burn's `flex` CPU backend, or `wgpu` on a GPU (cargo feature
//! `wgpu`). Chosen at run time; the device is always named explicitly, because with `wgpu`
//! compiled in, Burn's default device would pick a software Vulkan driver on a machine
//! without a GPU.

use std::fmt;
use std::str::FromStr;

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Compute backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// Burn's flex backend on the CPU (measured fastest of Burn 0.22's CPU backends here).
    #[default]
    Cpu,
    /// Burn's wgpu backend on the first GPU adapter.
    Gpu,
}

impl FromStr for Backend {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, Self::Err> {
        match text {
            "cpu" => Ok(Backend::Cpu),
            "gpu" => Ok(Backend::Gpu),
            _ => Err(format!("{text:?} is not a backend: use `cpu` or `gpu`")),
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Cpu => "cpu",
            Backend::Gpu => "gpu",
        })
    }
}

impl Backend {
    /// The (non-autodiff) device, seeded with `seed`.
    pub fn device(self, seed: u64) -> Result<Device> {
        let device = match self {
            Backend::Cpu => Device::flex(),
            Backend::Gpu => gpu_device()?,
        };
        device.seed(seed);
        Ok(device)
    }
}

#[cfg(feature = "wgpu")]
fn gpu_device() -> Result<Device> {
    let device = Device::wgpu(burn::tensor::DeviceKind::DefaultDevice);
    // wgpu looks for an adapter lazily and panics if it finds none: probe with a tiny
    // tensor so the user gets one line instead of a backtrace.
    let probe = std::panic::catch_unwind(|| {
        let ones = Tensor::<1>::ones([1], &device);
        ones.into_data();
    });
    match probe {
        Ok(()) => Ok(device),
        Err(_) => Err(Error::Device {
            problem: "the gpu backend found no usable GPU adapter (wgpu)".into(),
            fix: "install a GPU driver with Vulkan, Metal or DX12 support, or use --backend cpu".into(),
        }),
    }
}

#[cfg(not(feature = "wgpu"))]
fn gpu_device() -> Result<Device> {
    Err(Error::Device {
        problem: "this pim was built without the gpu backend".into(),
        fix: "rebuild with `cargo build --release --features wgpu`, or use --backend cpu".into(),
    })
}
