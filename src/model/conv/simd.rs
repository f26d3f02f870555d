//! Sixteen f32 lanes, three ways: one AVX-512 register, two AVX2 registers, or a portable
//! array. Every convolution kernel is written once against [`Lanes`] and compiled for each.
//! All three perform the same fused multiply-adds in the same order, each lane on its own,
//! so they give bit-identical results (a test checks this); the portable one, whose
//! `f32::mul_add` rounds once like the FMA instructions, is the fallback for CPUs without
//! AVX2 and FMA.
//!
//! Which one runs is detected once per process; [`pin_level`] pins it (the command line
//! reads `PIM_SIMD=avx512|avx2|portable`), for tests and for comparing machines, and is
//! refused where the CPU lacks it.

use std::sync::OnceLock;

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// Lanes per logical vector.
pub const LANES: usize = 16;

/// A vector of [`LANES`] f32 values.
///
/// # Safety
/// The methods use CPU instructions of the implementing type: call them only from code
/// compiled for (and running on) a CPU that has them, and give pointers to at least
/// [`LANES`] valid values.
pub(crate) trait Lanes: Copy {
    /// All lanes 0.
    unsafe fn zero() -> Self;
    /// All lanes `value`.
    unsafe fn splat(value: f32) -> Self;
    /// Load 16 values from `ptr` (no alignment needed).
    unsafe fn load(ptr: *const f32) -> Self;
    /// Store 16 values to `ptr` (no alignment needed).
    unsafe fn store(self, ptr: *mut f32);
    /// `self + a * b` in every lane, rounded once.
    unsafe fn mul_add(self, a: Self, b: Self) -> Self;
    /// `self + other` in every lane.
    unsafe fn add(self, other: Self) -> Self;
    /// ReLU in every lane: `+0` where the value is `<= 0`, the value elsewhere (NaN stays
    /// NaN, as in Burn's ReLU).
    unsafe fn relu(self) -> Self;
}

/// The instruction set a kernel runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimdLevel {
    /// AVX-512F: one 512-bit register per vector.
    Avx512,
    /// AVX2 with FMA: two 256-bit registers per vector.
    Avx2,
    /// Plain Rust arrays and `f32::mul_add`.
    Portable,
}

impl SimdLevel {
    /// The name `PIM_SIMD` takes.
    pub fn name(self) -> &'static str {
        match self {
            SimdLevel::Avx512 => "avx512",
            SimdLevel::Avx2 => "avx2",
            SimdLevel::Portable => "portable",
        }
    }

    /// Whether this CPU can run kernels of this level.
    pub fn is_supported(self) -> bool {
        match self {
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx512 => is_x86_feature_detected!("avx512f"),
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx2 => is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"),
            #[cfg(not(target_arch = "x86_64"))]
            SimdLevel::Avx512 | SimdLevel::Avx2 => false,
            SimdLevel::Portable => true,
        }
    }

    /// Every level, fastest first.
    pub const ALL: [SimdLevel; 3] = [SimdLevel::Avx512, SimdLevel::Avx2, SimdLevel::Portable];
}

static LEVEL: OnceLock<SimdLevel> = OnceLock::new();

/// The level this process uses: the one [`pin_level`] chose, else the fastest the CPU has.
pub fn level() -> SimdLevel {
    *LEVEL.get_or_init(|| SimdLevel::ALL.into_iter().find(|l| l.is_supported()).expect("portable is always supported"))
}

/// Run every convolution of this process at `level` (to compare levels, or to check that
/// they give the same bits): before the first convolution, and on a CPU that has it.
pub fn pin_level(level: SimdLevel) -> Result<(), String> {
    if !level.is_supported() {
        return Err(format!("SIMD level {} is not supported by this CPU", level.name()));
    }
    LEVEL.set(level).ok();
    match *LEVEL.get().expect("set above") == level {
        true => Ok(()),
        false => Err(format!("the SIMD level was already chosen ({})", self::level().name())),
    }
}

impl std::str::FromStr for SimdLevel {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        SimdLevel::ALL.into_iter().find(|l| l.name() == name).ok_or_else(|| format!("{name:?} is not a SIMD level"))
    }
}

/// Portable lanes: `f32::mul_add` is a correctly rounded fused multiply-add, as the
/// hardware instructions are.
#[derive(Clone, Copy)]
pub(crate) struct Portable([f32; LANES]);

impl Lanes for Portable {
    #[inline(always)]
    unsafe fn zero() -> Self {
        Portable([0.0; LANES])
    }

    #[inline(always)]
    unsafe fn splat(value: f32) -> Self {
        Portable([value; LANES])
    }

    #[inline(always)]
    unsafe fn load(ptr: *const f32) -> Self {
        // SAFETY: the caller guarantees LANES readable values at ptr.
        Portable(unsafe { std::ptr::read_unaligned(ptr.cast::<[f32; LANES]>()) })
    }

    #[inline(always)]
    unsafe fn store(self, ptr: *mut f32) {
        // SAFETY: the caller guarantees LANES writable values at ptr.
        unsafe { std::ptr::write_unaligned(ptr.cast::<[f32; LANES]>(), self.0) }
    }

    #[inline(always)]
    unsafe fn mul_add(self, a: Self, b: Self) -> Self {
        Portable(std::array::from_fn(|i| a.0[i].mul_add(b.0[i], self.0[i])))
    }

    #[inline(always)]
    unsafe fn add(self, other: Self) -> Self {
        Portable(std::array::from_fn(|i| self.0[i] + other.0[i]))
    }

    #[inline(always)]
    unsafe fn relu(self) -> Self {
        Portable(self.0.map(|v| if v <= 0.0 { 0.0 } else { v }))
    }
}

/// AVX-512 lanes.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
pub(crate) struct Avx512(__m512);

#[cfg(target_arch = "x86_64")]
impl Lanes for Avx512 {
    #[inline(always)]
    unsafe fn zero() -> Self {
        // SAFETY (all methods): the caller runs this only where AVX-512F is available.
        Avx512(unsafe { _mm512_setzero_ps() })
    }

    #[inline(always)]
    unsafe fn splat(value: f32) -> Self {
        Avx512(unsafe { _mm512_set1_ps(value) })
    }

    #[inline(always)]
    unsafe fn load(ptr: *const f32) -> Self {
        Avx512(unsafe { _mm512_loadu_ps(ptr) })
    }

    #[inline(always)]
    unsafe fn store(self, ptr: *mut f32) {
        unsafe { _mm512_storeu_ps(ptr, self.0) }
    }

    #[inline(always)]
    unsafe fn mul_add(self, a: Self, b: Self) -> Self {
        Avx512(unsafe { _mm512_fmadd_ps(a.0, b.0, self.0) })
    }

    #[inline(always)]
    unsafe fn add(self, other: Self) -> Self {
        Avx512(unsafe { _mm512_add_ps(self.0, other.0) })
    }

    #[inline(always)]
    unsafe fn relu(self) -> Self {
        unsafe {
            let zero = _mm512_setzero_ps();
            Avx512(_mm512_mask_blend_ps(_mm512_cmp_ps_mask::<_CMP_LE_OQ>(self.0, zero), self.0, zero))
        }
    }
}

/// AVX2 lanes: a low and a high half of eight.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
pub(crate) struct Avx2(__m256, __m256);

#[cfg(target_arch = "x86_64")]
impl Lanes for Avx2 {
    #[inline(always)]
    unsafe fn zero() -> Self {
        // SAFETY (all methods): the caller runs this only where AVX2 and FMA are available.
        unsafe { Avx2(_mm256_setzero_ps(), _mm256_setzero_ps()) }
    }

    #[inline(always)]
    unsafe fn splat(value: f32) -> Self {
        unsafe { Avx2(_mm256_set1_ps(value), _mm256_set1_ps(value)) }
    }

    #[inline(always)]
    unsafe fn load(ptr: *const f32) -> Self {
        unsafe { Avx2(_mm256_loadu_ps(ptr), _mm256_loadu_ps(ptr.add(8))) }
    }

    #[inline(always)]
    unsafe fn store(self, ptr: *mut f32) {
        unsafe {
            _mm256_storeu_ps(ptr, self.0);
            _mm256_storeu_ps(ptr.add(8), self.1);
        }
    }

    #[inline(always)]
    unsafe fn mul_add(self, a: Self, b: Self) -> Self {
        unsafe { Avx2(_mm256_fmadd_ps(a.0, b.0, self.0), _mm256_fmadd_ps(a.1, b.1, self.1)) }
    }

    #[inline(always)]
    unsafe fn add(self, other: Self) -> Self {
        unsafe { Avx2(_mm256_add_ps(self.0, other.0), _mm256_add_ps(self.1, other.1)) }
    }

    #[inline(always)]
    unsafe fn relu(self) -> Self {
        unsafe {
            let zero = _mm256_setzero_ps();
            let half = |v| _mm256_blendv_ps(v, zero, _mm256_cmp_ps::<_CMP_LE_OQ>(v, zero));
            Avx2(half(self.0), half(self.1))
        }
    }
}
