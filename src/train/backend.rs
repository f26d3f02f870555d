//! Where tensors live: Burn's `flex` CPU backend, or `wgpu` on a GPU (cargo feature
//! `wgpu`). Chosen at run time; the device is always named explicitly, because with `wgpu`
//! compiled in, Burn's default device would pick a software Vulkan driver on a machine
//! without a GPU. The GPU device is pinned to Vulkan, Metal or DX12, never wgpu's OpenGL
//! fallback.

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
    /// Burn's wgpu backend on the first adapter of Vulkan, Metal or DX12.
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
    // Each process brings the wgpu runtime up once (wgpu refuses a second initialisation),
    // and every stage of a run then shares that device.
    static DEVICE: std::sync::OnceLock<std::result::Result<Device, String>> = std::sync::OnceLock::new();
    DEVICE.get_or_init(init_gpu).clone().map_err(|found| Error::Device {
        problem: format!("the gpu backend found no usable GPU adapter ({found})"),
        fix: "install a Vulkan driver (Linux: your GPU vendor's, or Mesa's `mesa-vulkan-drivers`), \
              or use --backend cpu"
            .into(),
    })
}

/// The graphics APIs pim's GPU work runs on, tried in this order. OpenGL is left out on
/// purpose: wgpu falls back to it (on Mesa's llvmpipe, say) where no Vulkan driver exists,
/// and there CubeCL's autotuning deadlocks on the GL context lock (gfx-rs/wgpu#5299).
#[cfg(feature = "wgpu")]
const GPU_APIS: [burn::tensor::wgpu::WgpuBackend; 3] = {
    use burn::tensor::wgpu::WgpuBackend;
    [WgpuBackend::Vulkan, WgpuBackend::Metal, WgpuBackend::Dx12]
};

/// The first adapter found on one of [`GPU_APIS`], or what each API answered.
#[cfg(feature = "wgpu")]
fn init_gpu() -> std::result::Result<Device, String> {
    use burn::tensor::wgpu::WgpuInitError;
    let mut found = Vec::new();
    for api in GPU_APIS {
        match Device::wgpu_options().graphics_api(api).init() {
            Ok(device) => return Ok(device),
            Err(WgpuInitError::UnsupportedGraphicsApi { .. }) => {}
            Err(WgpuInitError::AdapterUnavailable { .. }) => found.push(format!("{api:?}: no adapter")),
            Err(other) => found.push(format!("{api:?}: {other}")),
        }
    }
    if found.is_empty() {
        found.push("no graphics API is built in for this platform".into());
    }
    Err(format!("{}; OpenGL is not used", found.join("; ")))
}

#[cfg(not(feature = "wgpu"))]
fn gpu_device() -> Result<Device> {
    Err(Error::Device {
        problem: "this pim was built without the gpu backend".into(),
        fix: "rebuild with `cargo build --release --features wgpu`, or use --backend cpu".into(),
    })
}
