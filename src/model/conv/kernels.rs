//! Direct 1-D convolution kernels for the small channel counts of pim's encoder (32 to 96
//! filters), where im2col and a general matrix product spend more time packing than
//! multiplying (docs/benchmarks.md).
//!
//! Tensors are time-major, `[batch, time, channels]`: channels are contiguous, so a kernel
//! loads the weights of 16 consecutive output channels as one vector and multiplies them by
//! one input sample broadcast to every lane. Every load is whole (vectorising over time
//! instead needs a load straddling two cache lines at every tap, and measured 1.6 times
//! slower). Only the weight gradient copies its input channels-first, so that a task,
//! which reads one input channel, reads contiguous samples.
//!
//! Two kernels cover every pass of a convolution and of a transposed convolution:
//! - [`correlate`]: `y[b, t, o] = sum_i sum_k w[o, i, k] * x~[b, t + k, i]`, where `x~` is
//!   `x` with `pad` zero samples before and after, then `+ bias[o]` and an optional ReLU.
//!   With `pad = 0` it is a convolution's forward pass; with swapped, flipped weights and
//!   `pad = kernel - 1` it is the gradient with respect to the input, or a transposed
//!   convolution's forward pass.
//! - [`weight_grad`]: `dw[o, i, k] = sum_b sum_t g[b, t, o] * x[b, t + k, i]`.
//!
//! A correlation of 4 or more taps runs as three half-size correlations joined by
//! elementwise sums ([`SplitPlan`]), each split again while it has 4 or more taps: three
//! quarters of the multiplications per level (the encoder's 24, 16 and 8 taps split three,
//! three and two levels deep). [`encode`], the fused inference pass, stacks such
//! correlations one window at a time.
//!
//! Each direct correlation's output, and each weight gradient, is accumulated in one lane
//! by one chain of fused multiply-adds in a fixed order (tap, then input channel; or
//! window, then time), whatever the instruction set, the register tiling or the thread
//! count, and the split's sums around its parts are elementwise adds, one rounding each.
//! So results are identical on every CPU and for any number of threads. Work is split
//! across rayon's threads by window (correlate, encode) or by input channel and output
//! channels (weight_grad), never by summation index.

use std::borrow::Cow;
use std::ops::Range;

use rayon::prelude::*;

#[cfg(target_arch = "x86_64")]
use super::simd::{Avx2, Avx512};
use super::simd::{LANES, Lanes, Portable, SimdLevel};

/// The shape of a [`correlate`] call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Correlation {
    /// Windows.
    pub batch: usize,
    /// Channels of the input.
    pub in_channels: usize,
    /// Samples of each input channel.
    pub in_len: usize,
    /// Channels of the output.
    pub out_channels: usize,
    /// Taps of the kernel.
    pub kernel: usize,
    /// Zero samples added before and after the input.
    pub pad: usize,
}

impl Correlation {
    /// Samples of each output channel: `in_len + 2 pad - kernel + 1`.
    pub fn out_len(&self) -> usize {
        self.in_len + 2 * self.pad + 1 - self.kernel
    }
}

/// Time steps and 16-channel output vectors per register tile of [`correlate`], for a
/// level and the number of 16-channel vectors the output has: up to 24 accumulators on
/// AVX-512, 6 pairs of AVX2 registers, 4 portable vectors.
fn correlate_tile(level: SimdLevel, channel_vectors: usize) -> (usize, usize) {
    match (level, channel_vectors) {
        (SimdLevel::Avx512, 1) => (24, 1),
        (SimdLevel::Avx512, 2) => (12, 2),
        (SimdLevel::Avx512, 3 | 6 | 9) => (8, 3),
        (SimdLevel::Avx512, _) => (6, 4),
        (SimdLevel::Avx2, _) => (6, 1),
        (SimdLevel::Portable, _) => (4, 1),
    }
}

/// `relu?(bias + correlate(input, weight))` on `level`: `input` is `[batch, in_len,
/// in_channels]`, `weight` `[out_channels, in_channels, kernel]`, `bias` `[out_channels]`;
/// returns `[batch, out_len, out_channels]`, all row-major. Kernels of at least
/// [`SPLIT_MIN_KERNEL`] taps are split ([`SplitPlan`]; values within f32 rounding of the
/// direct sum, which shorter kernels get). Split, an odd kernel's output also reads the
/// sample just past its window (through a zero tap, or two weights that cancel), so a
/// non-finite sample there makes it NaN; inputs are finite (the readers refuse or fill
/// non-finite samples).
pub fn correlate(
    level: SimdLevel,
    input: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    relu: bool,
    shape: Correlation,
) -> Vec<f32> {
    let s = shape;
    assert_eq!(input.len(), s.batch * s.in_channels * s.in_len, "correlate: input of {s:?}");
    // The plan checks the shape before anything is sized by it.
    let plan = LayerPlan::new(level, weight, bias, relu, s);
    let out_len = s.out_len();
    let mut output = vec![0f32; s.batch * out_len * s.out_channels];
    let windows = output.par_chunks_mut(out_len * s.out_channels).zip(input.par_chunks(s.in_len * s.in_channels));
    match &plan {
        LayerPlan::Split(split) => windows.for_each_init(
            || vec![0f32; split.scratch_len()],
            |scratch, (out, window)| split.run(window, scratch, out),
        ),
        LayerPlan::Direct(direct) => windows.for_each_init(
            || vec![0f32; direct.rows * s.in_channels],
            |scratch, (out, window)| {
                let start = s.pad * s.in_channels;
                scratch[..start].fill(0.0);
                scratch[start..start + window.len()].copy_from_slice(window);
                scratch[start + window.len()..].fill(0.0);
                direct.run(scratch, out);
            },
        ),
    }
    output
}

/// One layer of [`encode`]: `[out_channels, in_channels, kernel]` weights and a bias.
pub struct Layer<'a> {
    /// Weights, row-major.
    pub weight: &'a [f32],
    /// Bias, one per output channel.
    pub bias: &'a [f32],
    /// Output channels.
    pub out_channels: usize,
    /// Taps.
    pub kernel: usize,
}

/// The embedding of each window under a stack of `layers` (each a valid correlation, bias
/// and ReLU) and a max over time, one window at a time so that its activations stay in
/// cache: `windows` is `[batch, channels, time]` (channels first, as data arrive); returns
/// `[batch, last out_channels]`, the same bits as [`correlate`] layer by layer. A NaN
/// anywhere in a channel's last layer makes that channel's embedding NaN; so can an
/// infinite input, which the split may turn into inf - inf (inputs are finite: the
/// readers refuse or fill non-finite samples).
pub fn encode(level: SimdLevel, windows: &[f32], channels: usize, time: usize, layers: &[Layer]) -> Vec<f32> {
    let batch = windows.len() / (channels * time);
    assert_eq!(windows.len(), batch * channels * time, "encode: windows of {channels} x {time}");
    let mut plans = Vec::with_capacity(layers.len());
    let (mut in_channels, mut in_len) = (channels, time);
    for layer in layers {
        assert!(in_len >= layer.kernel, "encode: windows of {time} samples are too short for the kernels");
        let shape =
            Correlation { batch, in_channels, in_len, out_channels: layer.out_channels, kernel: layer.kernel, pad: 0 };
        plans.push(LayerPlan::new(level, layer.weight, Some(layer.bias), true, shape));
        (in_channels, in_len) = (layer.out_channels, shape.out_len());
    }
    // Buffer l holds layer l's input, time-major, with the rows its plan reads; buffer
    // l + 1 is written by plan l. Rows past an input's end are read only for padded steps,
    // whose outputs are never written, so they need not be zero.
    let sizes: Vec<usize> = plans.iter().map(LayerPlan::input_len).chain([in_len * in_channels]).collect();
    let scratch = plans.iter().map(LayerPlan::scratch_len).max().unwrap_or(0);
    let mut embeddings = vec![0f32; batch * in_channels];
    embeddings.par_chunks_mut(in_channels).zip(windows.par_chunks(channels * time)).for_each_init(
        || (sizes.iter().map(|&n| vec![0f32; n]).collect::<Vec<_>>(), vec![0f32; scratch]),
        |(buffers, scratch), (embedding, window)| {
            // Channels-first to time-major, reading the window in order (it comes from memory).
            for (c, row) in window.chunks_exact(time).enumerate() {
                for (&v, to) in row.iter().zip(buffers[0][c..].iter_mut().step_by(channels)) {
                    *to = v;
                }
            }
            for (l, plan) in plans.iter().enumerate() {
                let (input, rest) = buffers[l..].split_first_mut().expect("one buffer per layer and the output");
                let shape = plan.shape();
                plan.run(input, scratch, &mut rest[0][..shape.out_len() * shape.out_channels]);
            }
            embedding.fill(f32::NEG_INFINITY);
            for row in buffers[plans.len()].chunks_exact(in_channels) {
                for (m, &v) in embedding.iter_mut().zip(row) {
                    // NaN wins, as in Burn's max; a select without branches, which vectorises.
                    *m = if (v > *m) | v.is_nan() { v } else { *m };
                }
            }
        },
    );
    embeddings
}

/// Taps from which a correlation is split: below, the half-size correlations are too
/// short for the saved multiplications to pay for the sums around them (splitting from 3
/// or 5 taps instead measured 5-15% slower inference on the encoder).
pub const SPLIT_MIN_KERNEL: usize = 4;

/// One correlation (a layer of [`encode`] or [`correlate`], or a part of a split one):
/// computed directly, or split.
enum LayerPlan {
    Direct(Plan),
    Split(Box<SplitPlan>),
}

impl LayerPlan {
    /// A split plan for kernels of at least [`SPLIT_MIN_KERNEL`] taps, else a direct one.
    fn new(level: SimdLevel, weight: &[f32], bias: Option<&[f32]>, relu: bool, shape: Correlation) -> Self {
        if shape.kernel >= SPLIT_MIN_KERNEL {
            LayerPlan::Split(Box::new(SplitPlan::new(level, weight, bias, relu, shape)))
        } else {
            LayerPlan::Direct(Plan::new(level, weight, bias, relu, shape))
        }
    }

    fn shape(&self) -> Correlation {
        match self {
            LayerPlan::Direct(plan) => plan.shape,
            LayerPlan::Split(split) => split.shape,
        }
    }

    /// Values of the layer's input buffer.
    fn input_len(&self) -> usize {
        match self {
            LayerPlan::Direct(plan) => plan.rows * plan.shape.in_channels,
            LayerPlan::Split(split) => split.shape.in_len * split.shape.in_channels,
        }
    }

    /// Values of working memory a window needs.
    fn scratch_len(&self) -> usize {
        match self {
            LayerPlan::Direct(_) => 0,
            LayerPlan::Split(split) => split.scratch_len(),
        }
    }

    fn run(&self, input: &[f32], scratch: &mut [f32], out: &mut [f32]) {
        match self {
            LayerPlan::Direct(plan) => plan.run(input, out),
            LayerPlan::Split(split) => split.run(input, scratch, out),
        }
    }
}

/// A correlation with bias and optional ReLU by the two-parallel fast FIR algorithm: with
/// `x` the padded input, `e[n] = x[2n]`, `u[n] = x[2n + 1]`, `v[n] = x[2n + 2]` and the
/// even and odd taps `w_e`,
/// `w_o` (an odd kernel gets a zero tap), the correlation `y = x * w` is
/// `y[2s] = M1[s] + M3[s]` and `y[2s + 1] = M2[s] - M3[s]`, where
/// `M1 = (e + u) * w_e`, `M2 = (u + v) * w_o` and `M3 = u * (w_o - w_e)`: three correlations
/// of half the taps over half the steps, where the direct one costs four.
struct SplitPlan {
    level: SimdLevel,
    /// The layer.
    shape: Correlation,
    /// M1, M2 and M3, without bias or ReLU (each split again if long enough).
    parts: [LayerPlan; 3],
    /// The layer's bias (zeros if it has none).
    bias: Vec<f32>,
    relu: bool,
    /// One time step of zeros, for the padding and the samples past the input's end.
    zeros: Vec<f32>,
}

impl SplitPlan {
    fn new(level: SimdLevel, weight: &[f32], bias: Option<&[f32]>, relu: bool, shape: Correlation) -> Self {
        let (cout, cin, kernel) = (shape.out_channels, shape.in_channels, shape.kernel);
        assert_eq!(weight.len(), cout * cin * kernel, "correlate: weight of {shape:?}");
        assert!(shape.in_len + 2 * shape.pad >= kernel, "correlate: kernel {shape:?} longer than its input");
        let taps = kernel.div_ceil(2);
        let half = shape.out_len().div_ceil(2);
        let size = cout * cin * taps;
        let (mut even, mut odd, mut difference) =
            (Vec::with_capacity(size), Vec::with_capacity(size), Vec::with_capacity(size));
        for taps_of_pair in weight.chunks_exact(kernel) {
            for pair in taps_of_pair.chunks(2) {
                let (e, d) = (pair[0], pair.get(1).copied().unwrap_or(0.0));
                even.push(e);
                odd.push(d);
                difference.push(d - e);
            }
        }
        let part = Correlation { in_len: half + taps - 1, kernel: taps, pad: 0, ..shape };
        let parts = [even, odd, difference].map(|w| LayerPlan::new(level, &w, None, false, part));
        let bias = bias.map_or_else(|| vec![0.0; cout], <[f32]>::to_vec);
        assert_eq!(bias.len(), cout, "correlate: bias of {shape:?}");
        Self { level, shape, parts, bias, relu, zeros: vec![0.0; cin] }
    }

    /// The three parts' inputs, then their outputs (`ceil(out_len / 2)` steps each), then
    /// the parts' own working memory.
    fn scratch_len(&self) -> usize {
        let (part, p) = (&self.parts[0], self.parts[0].shape());
        3 * (part.input_len() + p.out_len() * p.out_channels) + part.scratch_len()
    }

    /// One window: `input` is `[in_len, in_channels]`; `out` `[out_len, out_channels]`.
    fn run(&self, input: &[f32], scratch: &mut [f32], out: &mut [f32]) {
        match self.level {
            // SAFETY: `level` is one this CPU supports: every split ends in direct plans,
            // whose Plan::new asserts it.
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx512 => unsafe { self.run_avx512(input, scratch, out) },
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx2 => unsafe { self.run_avx2(input, scratch, out) },
            _ => self.run_on_any(input, scratch, out),
        }
    }

    /// [`SplitPlan::run`] with the sums around the parts vectorised for AVX-512 (plain
    /// adds: the same bits as on any level).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn run_avx512(&self, input: &[f32], scratch: &mut [f32], out: &mut [f32]) {
        self.run_on_any(input, scratch, out)
    }

    /// As [`SplitPlan::run_avx512`], for AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn run_avx2(&self, input: &[f32], scratch: &mut [f32], out: &mut [f32]) {
        self.run_on_any(input, scratch, out)
    }

    #[inline(always)]
    fn run_on_any(&self, input: &[f32], scratch: &mut [f32], out: &mut [f32]) {
        let s = self.shape;
        debug_assert!(input.len() == s.in_len * s.in_channels && out.len() == s.out_len() * s.out_channels);
        let (cin, cout, part) = (s.in_channels, s.out_channels, self.parts[0].shape());
        let part_input = self.parts[0].input_len();
        let (inputs, rest) = scratch[..self.scratch_len()].split_at_mut(3 * part_input);
        let (outputs, deeper) = rest.split_at_mut(3 * part.out_len() * cout);
        let (sums_even, rest) = inputs.split_at_mut(part_input);
        let (sums_odd, odd) = rest.split_at_mut(part_input);
        // Samples past the input's end must be zero, not stale: they reach outputs past
        // out_len, and, for an odd kernel, valid outputs through the zero tap (M2) or through
        // M1 and M3 with weights that cancel.
        let sample = |t: usize| match t.checked_sub(s.pad).filter(|&u| u < s.in_len) {
            Some(u) => &input[u * cin..(u + 1) * cin],
            None => &self.zeros[..],
        };
        let rows = sums_even.chunks_exact_mut(cin).zip(sums_odd.chunks_exact_mut(cin)).zip(odd.chunks_exact_mut(cin));
        for (n, ((a, b), c)) in rows.take(part.in_len).enumerate() {
            let (x0, x1, x2) = (sample(2 * n), sample(2 * n + 1), sample(2 * n + 2));
            for (((a, b), (&e, &u)), &v) in a.iter_mut().zip(b.iter_mut()).zip(x0.iter().zip(x1)).zip(x2) {
                *a = e + u;
                *b = u + v;
            }
            c.copy_from_slice(x1);
        }
        let mut products = outputs.chunks_exact_mut(part.out_len() * cout);
        let mut next = || products.next().expect("three part outputs");
        let (m1, m2, m3) = (next(), next(), next());
        self.parts[0].run(sums_even, deeper, m1);
        self.parts[1].run(sums_odd, deeper, m2);
        self.parts[2].run(odd, deeper, m3);
        let relu = |v: f32| if self.relu && v <= 0.0 { 0.0 } else { v };
        let parts = m1.chunks_exact(cout).zip(m2.chunks_exact(cout)).zip(m3.chunks_exact(cout));
        for (pair, ((m1, m2), m3)) in out.chunks_mut(2 * cout).zip(parts) {
            let (even, odd) = pair.split_at_mut(cout);
            for (((y, &a), &c), &b) in even.iter_mut().zip(m1).zip(m3).zip(&self.bias) {
                *y = relu(a + c + b);
            }
            for (((y, &a), &c), &b) in odd.iter_mut().zip(m2).zip(m3).zip(&self.bias) {
                *y = relu(a - c + b);
            }
        }
    }
}

/// One correlation, prepared for any number of windows: weights packed, bias padded, tile
/// chosen.
struct Plan {
    level: SimdLevel,
    /// The shape (its batch is not used).
    shape: Correlation,
    /// Output channels rounded up to whole tiles of vectors.
    channels_padded: usize,
    /// Time rows of the scratch input a window needs: the output steps rounded up to whole
    /// tiles, plus the kernel's reach.
    rows: usize,
    /// (time steps, channel vectors) per tile.
    tile: (usize, usize),
    /// The bias, zero-padded to `channels_padded`.
    bias: Vec<f32>,
    relu: bool,
    /// Weights as `[kernel, in_channels, channels_padded]`.
    packed: Vec<f32>,
}

impl Plan {
    fn new(level: SimdLevel, weight: &[f32], bias: Option<&[f32]>, relu: bool, shape: Correlation) -> Self {
        let s = shape;
        assert!(level.is_supported(), "correlate: {level:?} is not supported by this CPU");
        assert!(s.in_channels * s.in_len * s.out_channels * s.kernel > 0, "correlate: empty {s:?}");
        assert!(s.in_len + 2 * s.pad >= s.kernel, "correlate: kernel {s:?} longer than its input");
        assert_eq!(weight.len(), s.out_channels * s.in_channels * s.kernel, "correlate: weight of {s:?}");
        assert!(bias.is_none_or(|b| b.len() == s.out_channels), "correlate: bias of {s:?}");
        let channel_vectors = s.out_channels.div_ceil(LANES);
        let (steps, vectors) = correlate_tile(level, channel_vectors);
        let channels_padded = channel_vectors.div_ceil(vectors) * vectors * LANES;
        let steps_padded = s.out_len().div_ceil(steps) * steps;
        let mut bias_padded = vec![0f32; channels_padded];
        if let Some(bias) = bias {
            bias_padded[..s.out_channels].copy_from_slice(bias);
        }
        Plan {
            level,
            shape: s,
            channels_padded,
            // The padded input, then zeros up to the last sample a tile reads.
            rows: steps_padded + s.kernel - 1,
            tile: (steps, vectors),
            bias: bias_padded,
            relu,
            packed: pack_taps(weight, s.out_channels, s.in_channels, s.kernel, channels_padded),
        }
    }

    /// One window: `scratch` is its input, `[rows, in_channels]`, padding included; `out` its
    /// output, `[out_len, out_channels]`.
    fn run(&self, scratch: &[f32], out: &mut [f32]) {
        assert!(
            scratch.len() >= self.rows * self.shape.in_channels
                && out.len() == self.shape.out_len() * self.shape.out_channels
        );
        match self.level {
            // SAFETY: `level` is only ever a level this CPU supports (simd::level checks), and
            // the buffers hold what the plan reads and writes (asserted above).
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx512 => unsafe { correlate_window_avx512(self, scratch, out) },
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx2 => unsafe { correlate_window_avx2(self, scratch, out) },
            // SAFETY: as above; portable lanes need no special instructions.
            _ => unsafe { correlate_window_with::<Portable, 4, 1, 4>(self, scratch, out) },
        }
    }
}

/// `[out, in, kernel]` weights as `[kernel, in, out_to]`, outputs past `out` zero, so a tile
/// loads the weights of consecutive output channels as one vector, and reads them in order.
fn pack_taps(weight: &[f32], out: usize, inputs: usize, kernel: usize, out_to: usize) -> Vec<f32> {
    let mut packed = vec![0f32; kernel * inputs * out_to];
    for (ki, row) in packed.chunks_exact_mut(out_to).enumerate() {
        let (k, i) = (ki / inputs, ki % inputs);
        for (o, to) in row[..out].iter_mut().enumerate() {
            *to = weight[(o * inputs + i) * kernel + k];
        }
    }
    packed
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn correlate_window_avx512(plan: &Plan, scratch: &[f32], out: &mut [f32]) {
    // SAFETY: this function only runs where AVX-512F is available; the tile shapes are the
    // ones correlate_tile gives.
    unsafe {
        match plan.tile {
            (24, 1) => correlate_window_with::<Avx512, 24, 1, 4>(plan, scratch, out),
            (12, 2) => correlate_window_with::<Avx512, 12, 2, 4>(plan, scratch, out),
            (8, 3) => correlate_window_with::<Avx512, 8, 3, 4>(plan, scratch, out),
            (6, 4) => correlate_window_with::<Avx512, 6, 4, 2>(plan, scratch, out),
            tile => unreachable!("correlate_tile gives no tile {tile:?}"),
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn correlate_window_avx2(plan: &Plan, scratch: &[f32], out: &mut [f32]) {
    // SAFETY: this function only runs where AVX2 and FMA are available.
    unsafe { correlate_window_with::<Avx2, 6, 1, 2>(plan, scratch, out) }
}

/// One window in tiles of `NT` time steps by `NO` vectors of output channels, and the
/// steps left over in tiles of `TAIL` steps (`NT` a multiple of `TAIL`), so that at most
/// `TAIL - 1` steps are computed for nothing. Each output sums in the same order either way.
#[inline(always)]
unsafe fn correlate_window_with<V: Lanes, const NT: usize, const NO: usize, const TAIL: usize>(
    plan: &Plan,
    scratch: &[f32],
    out: &mut [f32],
) {
    const { assert!(NT.is_multiple_of(TAIL), "the tail tiles end within the padded steps") };
    debug_assert_eq!(plan.tile.0, NT, "the plan's rows were sized for tiles of its own steps");
    let out_len = plan.shape.out_len();
    let whole = out_len / NT * NT;
    // SAFETY: as for correlate_tile_at; the tail's last tile ends at or before the output
    // steps rounded up to whole tiles of NT.
    unsafe {
        for o0 in (0..plan.channels_padded).step_by(NO * LANES) {
            for t0 in (0..whole).step_by(NT) {
                correlate_tile_at::<V, NT, NO>(plan, scratch, out, o0, t0);
            }
            for t0 in (whole..out_len).step_by(TAIL) {
                correlate_tile_at::<V, TAIL, NO>(plan, scratch, out, o0, t0);
            }
        }
    }
}

/// The tile of `NT` steps from `t0` by `NO` vectors of output channels from `o0`.
#[inline(always)]
unsafe fn correlate_tile_at<V: Lanes, const NT: usize, const NO: usize>(
    plan: &Plan,
    scratch: &[f32],
    out: &mut [f32],
    o0: usize,
    t0: usize,
) {
    const { assert!(NT * NO <= 24, "a tile must fit the register file") };
    let s = plan.shape;
    let (cp, cin) = (plan.channels_padded, s.in_channels);
    let out_len = s.out_len();
    // SAFETY: scratch holds rows = (output steps rounded up to whole tiles) + kernel - 1 rows
    // of in_channels, and the tile ends within those steps; packed holds channels_padded weights per (channel,
    // tap); bias holds channels_padded values; stores stay within out (whole vectors only
    // where they fit).
    unsafe {
        let mut acc = [[V::zero(); NO]; NT];
        for k in 0..s.kernel {
            let x = scratch.as_ptr().add((t0 + k) * cin);
            let w = plan.packed.as_ptr().add(k * cin * cp + o0);
            for i in 0..cin {
                let mut ws = [V::zero(); NO];
                for (n, wv) in ws.iter_mut().enumerate() {
                    *wv = V::load(w.add(i * cp + n * LANES));
                }
                for (t, acc_step) in acc.iter_mut().enumerate() {
                    let xb = V::splat(*x.add(t * cin + i));
                    for (a, &wv) in acc_step.iter_mut().zip(&ws) {
                        *a = a.mul_add(wv, xb);
                    }
                }
            }
        }
        let mut lanes = [0f32; LANES];
        for (t, acc_step) in acc.iter().enumerate().take(out_len.saturating_sub(t0)) {
            let row = out.as_mut_ptr().add((t0 + t) * s.out_channels);
            for (n, a) in acc_step.iter().enumerate() {
                let o = o0 + n * LANES;
                let v = a.add(V::load(plan.bias.as_ptr().add(o)));
                let v = if plan.relu { v.relu() } else { v };
                if o + LANES <= s.out_channels {
                    v.store(row.add(o));
                } else if o < s.out_channels {
                    v.store(lanes.as_mut_ptr());
                    std::ptr::copy_nonoverlapping(lanes.as_ptr(), row.add(o), s.out_channels - o);
                }
            }
        }
    }
}

/// The shape of a [`weight_grad`] call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeightGrad {
    /// Windows.
    pub batch: usize,
    /// Channels of `g`: the weight gradient's first dimension.
    pub out_channels: usize,
    /// Samples of `g`.
    pub grad_len: usize,
    /// Channels of `x`: the weight gradient's second dimension.
    pub in_channels: usize,
    /// Samples of `x`, at least `grad_len + kernel - 1`.
    pub x_len: usize,
    /// Taps: the weight gradient's last dimension.
    pub kernel: usize,
}

/// Windows per pass of [`weight_grad`]: at the encoder's largest layer, 8 windows of g and
/// x take about 0.4 MiB, well inside a 2 MiB L2 cache.
const GRAD_WINDOWS_PER_PASS: usize = 8;

/// [`weight_grad`] of a one-tap convolution (the dense layers): `dw[o, i] = sum_r g[r, o] *
/// x[r, i]` over every sample `r` of every window, in order, which is a correlation of
/// `x` transposed (time: input channel; channels: samples) by `g` transposed. The direct
/// correlation's register tiles fit this shape; the general kernel's taps do not (it
/// ran at a tenth of the forward pass's rate).
fn one_tap_weight_grad(level: SimdLevel, x: &[f32], grad: &[f32], s: WeightGrad) -> Vec<f32> {
    let samples = s.batch * s.grad_len;
    let x_by_channel = transpose_rows(x, samples, s.in_channels);
    let grad_by_channel = transpose_rows(grad, samples, s.out_channels);
    let shape = Correlation {
        batch: 1,
        in_channels: samples,
        in_len: s.in_channels,
        out_channels: s.out_channels,
        kernel: 1,
        pad: 0,
    };
    // [in_channels, out_channels] -> [out_channels, in_channels, 1]
    let by_input = correlate(level, &x_by_channel, &grad_by_channel, None, false, shape);
    transpose_rows(&by_input, s.in_channels, s.out_channels)
}

/// `values` `[rows, columns]` as `[columns, rows]`.
fn transpose_rows(values: &[f32], rows: usize, columns: usize) -> Vec<f32> {
    let mut out = vec![0f32; values.len()];
    for r in 0..rows {
        for c in 0..columns {
            out[c * rows + r] = values[r * columns + c];
        }
    }
    out
}

/// Vectors of output channels and taps per register tile of [`weight_grad`], for a level
/// and the number of 16-channel vectors the output has: up to 24 accumulators on AVX-512,
/// 6 pairs of AVX2 registers elsewhere.
fn weight_grad_tile(level: SimdLevel, channel_vectors: usize) -> (usize, usize) {
    match (level, channel_vectors) {
        (SimdLevel::Avx512, 1 | 2) => (channel_vectors, 12),
        (SimdLevel::Avx512, 3 | 6 | 9) => (3, 8),
        (SimdLevel::Avx512, _) => (4, 6),
        _ => (1, 6),
    }
}

/// `dw[o, i, k] = sum_b sum_t g[b, t, o] * x[b, t + k, i]` on `level`: `x` is `[batch, x_len,
/// in_channels]`, `grad` `[batch, grad_len, out_channels]`; returns `[out_channels,
/// in_channels, kernel]`.
pub fn weight_grad(level: SimdLevel, x: &[f32], grad: &[f32], shape: WeightGrad) -> Vec<f32> {
    let s = shape;
    assert!(s.batch * s.out_channels * s.grad_len * s.in_channels * s.kernel > 0, "weight_grad: empty {s:?}");
    assert!(s.x_len + 1 >= s.grad_len + s.kernel, "weight_grad: x too short for {s:?}");
    assert_eq!(x.len(), s.batch * s.in_channels * s.x_len, "weight_grad: x of {s:?}");
    assert_eq!(grad.len(), s.batch * s.out_channels * s.grad_len, "weight_grad: grad of {s:?}");
    if s.kernel == 1 && s.x_len == s.grad_len {
        return one_tap_weight_grad(level, x, grad, s);
    }
    let channel_vectors = s.out_channels.div_ceil(LANES);
    let (vectors, taps) = weight_grad_tile(level, channel_vectors);
    let channel_tiles = channel_vectors.div_ceil(vectors);
    let channels_padded = channel_tiles * vectors * LANES;
    let kernel_padded = s.kernel.div_ceil(taps) * taps;
    // g with whole tiles of channels, x with the samples the last tap tile reads (zeros add
    // exact zeros; the padded taps are dropped), channels first: a task reads one input
    // channel, so its samples are contiguous instead of one per cache line.
    let rows = s.grad_len + kernel_padded - 1;
    let operands = GradOperands {
        g: pad_channels(grad, s.out_channels, channels_padded),
        x: channels_first(x, s.batch, s.x_len, s.in_channels, rows),
        shape: s,
        channels_padded,
        rows,
        kernel_padded,
    };
    let tasks: Vec<(usize, usize)> = (0..s.in_channels).flat_map(|i| (0..channel_tiles).map(move |t| (i, t))).collect();
    let mut values = vec![vec![0f32; kernel_padded * vectors * LANES]; tasks.len()];
    // A few windows at a time, so that their g and x stay in L2 cache while every task reads
    // them; each task's sums carry over from one group of windows to the next.
    for first in (0..s.batch).step_by(GRAD_WINDOWS_PER_PASS) {
        let windows = first..(first + GRAD_WINDOWS_PER_PASS).min(s.batch);
        tasks.par_iter().zip(values.par_iter_mut()).for_each(|(&(i, tile), values)| {
            weight_grad_task(level, &operands, (vectors, taps), (i, tile), windows.clone(), values);
        });
    }
    let mut dw = vec![0f32; s.out_channels * s.in_channels * s.kernel];
    let width = vectors * LANES;
    for (&(i, tile), values) in tasks.iter().zip(values) {
        for lane in 0..width.min(s.out_channels.saturating_sub(tile * width)) {
            let o = tile * width + lane;
            for k in 0..s.kernel {
                dw[(o * s.in_channels + i) * s.kernel + k] = values[k * width + lane];
            }
        }
    }
    dw
}

/// Rows of `channels` values as rows of `channels_to`, zero-padded; borrowed when the
/// widths match.
fn pad_channels(source: &[f32], channels: usize, channels_to: usize) -> Cow<'_, [f32]> {
    if channels == channels_to {
        return Cow::Borrowed(source);
    }
    let mut padded = vec![0f32; source.len() / channels * channels_to];
    padded.par_chunks_mut(channels_to).zip(source.par_chunks(channels)).for_each(|(row, samples)| {
        row[..channels].copy_from_slice(samples);
    });
    Cow::Owned(padded)
}

/// `[batch, len, channels]` as `[batch, channels, rows]`: cut or zero-padded in time.
fn channels_first(source: &[f32], batch: usize, len: usize, channels: usize, rows: usize) -> Vec<f32> {
    let mut out = vec![0f32; batch * channels * rows];
    out.par_chunks_mut(channels * rows).zip(source.par_chunks(len * channels)).for_each(|(out, window)| {
        for (t, samples) in window.chunks(channels).take(rows).enumerate() {
            for (c, &v) in samples.iter().enumerate() {
                out[c * rows + t] = v;
            }
        }
    });
    out
}

/// The padded operands of a [`weight_grad`] call.
struct GradOperands<'a> {
    /// `[batch, grad_len, channels_padded]`.
    g: Cow<'a, [f32]>,
    /// `[batch, in_channels, rows]`.
    x: Vec<f32>,
    shape: WeightGrad,
    channels_padded: usize,
    rows: usize,
    kernel_padded: usize,
}

/// Add windows `windows` to the sums `values` of input channel `task.0` and channel tile
/// `task.1`.
fn weight_grad_task(
    level: SimdLevel,
    operands: &GradOperands,
    tile: (usize, usize),
    task: (usize, usize),
    windows: Range<usize>,
    values: &mut [f32],
) {
    let p = TaskPart { operands, i: task.0, channel_tile: task.1, windows };
    match level {
        // SAFETY: `level` is only ever a level this CPU supports (simd::level checks).
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx512 => unsafe { weight_grad_task_avx512(&p, tile, values) },
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx2 => unsafe { weight_grad_task_avx2(&p, values) },
        // SAFETY: portable lanes need no special instructions.
        _ => unsafe { weight_grad_task_with::<Portable, 1, 6>(&p, values) },
    }
}

/// One [`weight_grad`] task's share of one pass: an input channel, a tile of output
/// channels, some windows.
struct TaskPart<'a> {
    operands: &'a GradOperands<'a>,
    i: usize,
    channel_tile: usize,
    windows: Range<usize>,
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn weight_grad_task_avx512(part: &TaskPart, tile: (usize, usize), values: &mut [f32]) {
    // SAFETY: this function only runs where AVX-512F is available; the tile shapes are the
    // ones weight_grad_tile gives.
    unsafe {
        match tile {
            (1, 12) => weight_grad_task_with::<Avx512, 1, 12>(part, values),
            (2, 12) => weight_grad_task_with::<Avx512, 2, 12>(part, values),
            (3, 8) => weight_grad_task_with::<Avx512, 3, 8>(part, values),
            (4, 6) => weight_grad_task_with::<Avx512, 4, 6>(part, values),
            _ => unreachable!("weight_grad_tile gives no tile {tile:?}"),
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn weight_grad_task_avx2(part: &TaskPart, values: &mut [f32]) {
    // SAFETY: this function only runs where AVX2 and FMA are available.
    unsafe { weight_grad_task_with::<Avx2, 1, 6>(part, values) }
}

/// `values[k, lane] += dw[channel_tile * NV * 16 + lane, i, k]` over the part's windows, for
/// every tap, `KT` taps at a time. The sums are reloaded exactly, so each value is one
/// chain of fused multiply-adds in (window, step) order, however the windows are grouped.
#[inline(always)]
unsafe fn weight_grad_task_with<V: Lanes, const NV: usize, const KT: usize>(part: &TaskPart, values: &mut [f32]) {
    let (p, i) = (part.operands, part.i);
    const { assert!(NV * KT <= 24, "a tile must fit the register file") };
    let s = p.shape;
    let (cp, cin) = (p.channels_padded, s.in_channels);
    let o0 = part.channel_tile * NV * LANES;
    // SAFETY: g holds channels_padded >= o0 + NV * LANES values per (window, step); x holds
    // rows = grad_len + kernel_padded - 1 steps per (window, channel), the last one read; values holds
    // NV * LANES per tap of kernel_padded.
    unsafe {
        for k0 in (0..p.kernel_padded).step_by(KT) {
            let mut acc = [[V::zero(); NV]; KT];
            for (kt, acc_tap) in acc.iter_mut().enumerate() {
                for (v, a) in acc_tap.iter_mut().enumerate() {
                    *a = V::load(values.as_ptr().add((k0 + kt) * NV * LANES + v * LANES));
                }
            }
            for b in part.windows.clone() {
                let g = p.g.as_ptr().add(b * s.grad_len * cp + o0);
                let x = p.x.as_ptr().add((b * cin + i) * p.rows + k0);
                for t in 0..s.grad_len {
                    let mut gs = [V::zero(); NV];
                    for (v, gv) in gs.iter_mut().enumerate() {
                        *gv = V::load(g.add(t * cp + v * LANES));
                    }
                    for (kt, acc_tap) in acc.iter_mut().enumerate() {
                        let xb = V::splat(*x.add(t + kt));
                        for (a, &gv) in acc_tap.iter_mut().zip(&gs) {
                            *a = a.mul_add(gv, xb);
                        }
                    }
                }
            }
            for (kt, acc_tap) in acc.iter().enumerate() {
                for (v, a) in acc_tap.iter().enumerate() {
                    a.store(values.as_mut_ptr().add((k0 + kt) * NV * LANES + v * LANES));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;

    /// Every output of a correlation without its bias, summed tap, then channel, in the
    /// kernels' layouts (time-major), each term added by `step(sum, weight, x)`.
    fn correlate_sums<T: Copy>(
        input: &[f32],
        weight: &[f32],
        s: Correlation,
        zero: T,
        step: impl Fn(T, f32, f32) -> T,
    ) -> Vec<T> {
        let out_len = s.out_len();
        let mut out = vec![zero; s.batch * out_len * s.out_channels];
        for b in 0..s.batch {
            for t in 0..out_len {
                for o in 0..s.out_channels {
                    let mut sum = zero;
                    for k in 0..s.kernel {
                        for i in 0..s.in_channels {
                            let u = (t + k).checked_sub(s.pad).filter(|&u| u < s.in_len);
                            let x = u.map_or(0.0, |u| input[(b * s.in_len + u) * s.in_channels + i]);
                            sum = step(sum, weight[(o * s.in_channels + i) * s.kernel + k], x);
                        }
                    }
                    out[(b * out_len + t) * s.out_channels + o] = sum;
                }
            }
        }
        out
    }

    /// Every weight gradient, summed window, then step, each term added by `step(sum, g, x)`.
    fn weight_grad_sums<T: Copy>(
        x: &[f32],
        g: &[f32],
        s: WeightGrad,
        zero: T,
        step: impl Fn(T, f32, f32) -> T,
    ) -> Vec<T> {
        let mut dw = vec![zero; s.out_channels * s.in_channels * s.kernel];
        for o in 0..s.out_channels {
            for i in 0..s.in_channels {
                for k in 0..s.kernel {
                    let mut sum = zero;
                    for b in 0..s.batch {
                        for t in 0..s.grad_len {
                            let x = x[(b * s.x_len + t + k) * s.in_channels + i];
                            sum = step(sum, g[(b * s.grad_len + t) * s.out_channels + o], x);
                        }
                    }
                    dw[(o * s.in_channels + i) * s.kernel + k] = sum;
                }
            }
        }
        dw
    }

    /// The definition, summed in f64: the slow oracle.
    fn correlate_naive(input: &[f32], weight: &[f32], bias: &[f32], relu: bool, s: Correlation) -> Vec<f64> {
        let sums = correlate_sums(input, weight, s, 0f64, |sum, w, x| sum + f64::from(w) * f64::from(x));
        let with_bias = sums.iter().enumerate().map(|(n, sum)| sum + f64::from(bias[n % s.out_channels]));
        with_bias.map(|v| if relu { v.max(0.0) } else { v }).collect()
    }

    fn weight_grad_naive(x: &[f32], g: &[f32], s: WeightGrad) -> Vec<f64> {
        weight_grad_sums(x, g, s, 0f64, |sum, g, x| sum + f64::from(g) * f64::from(x))
    }

    fn random(rng: &mut ChaCha8Rng, n: usize) -> Vec<f32> {
        (0..n).map(|_| rng.random_range(-1.0f32..1.0)).collect()
    }

    /// Fail with the first index where `got` and `want` differ by more than `tolerance`
    /// times the number of terms summed (each adds at most one f32 rounding of a term
    /// below 1 in magnitude).
    fn assert_close(got: &[f32], want: &[f64], terms: usize, what: &str) {
        assert_eq!(got.len(), want.len(), "{what}: length");
        let tolerance = 1e-6 * terms as f64;
        for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
            assert!(
                (f64::from(g) - w).abs() <= tolerance,
                "{what}: index {i}: {g} against {w} (tolerance {tolerance:e})"
            );
        }
    }

    fn levels() -> Vec<SimdLevel> {
        SimdLevel::ALL.into_iter().filter(|l| l.is_supported()).collect()
    }

    /// Shapes with the edge cases: one channel, batch 1, kernel as long as the input,
    /// lengths that are and are not whole vectors, rows that are not whole tiles.
    const SHAPES: [(usize, usize, usize, usize, usize, usize); 8] = [
        (2, 45, 125, 32, 24, 0),
        (3, 32, 102, 64, 16, 0),
        (1, 64, 87, 96, 8, 7),
        (1, 1, 5, 1, 5, 0),
        (2, 3, 16, 7, 1, 0),
        (1, 5, 33, 13, 17, 16),
        (4, 2, 40, 3, 40, 0),
        (2, 6, 9, 45, 4, 3),
    ];

    #[test]
    fn correlate_matches_the_definition_on_every_level() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for (batch, in_channels, in_len, out_channels, kernel, pad) in SHAPES {
            let s = Correlation { batch, in_channels, in_len, out_channels, kernel, pad };
            let input = random(&mut rng, batch * in_channels * in_len);
            let weight = random(&mut rng, out_channels * in_channels * kernel);
            let bias = random(&mut rng, out_channels);
            for relu in [false, true] {
                let want = correlate_naive(&input, &weight, &bias, relu, s);
                for level in levels() {
                    let got = correlate(level, &input, &weight, Some(&bias), relu, s);
                    assert_close(&got, &want, in_channels * kernel + 1, &format!("{level:?} {s:?} relu {relu}"));
                }
            }
        }
    }

    /// [`encode`] by its definition, in f64: each layer's correlation, bias and ReLU, then
    /// the max over time.
    fn encode_naive(windows: &[f32], channels: usize, time: usize, layers: &[Layer]) -> Vec<f64> {
        let mut embeddings = Vec::new();
        for window in windows.chunks_exact(channels * time) {
            // [time][channel]
            let mut x: Vec<Vec<f64>> =
                (0..time).map(|t| (0..channels).map(|c| f64::from(window[c * time + t])).collect()).collect();
            for layer in layers {
                let cin = x[0].len();
                let out_len = x.len() + 1 - layer.kernel;
                x = (0..out_len)
                    .map(|t| {
                        (0..layer.out_channels)
                            .map(|o| {
                                let mut sum = f64::from(layer.bias[o]);
                                for k in 0..layer.kernel {
                                    for (i, &v) in x[t + k].iter().enumerate() {
                                        sum += f64::from(layer.weight[(o * cin + i) * layer.kernel + k]) * v;
                                    }
                                }
                                sum.max(0.0)
                            })
                            .collect()
                    })
                    .collect();
            }
            let width = x[0].len();
            embeddings.extend((0..width).map(|o| x.iter().map(|row| row[o]).fold(f64::NEG_INFINITY, f64::max)));
        }
        embeddings
    }

    /// A layer's output channels and kernel.
    type Shape = (usize, usize);

    /// A layer's weights and bias.
    type Parameters = (Vec<f32>, Vec<f32>);

    /// (batch, channels, time, layers as (out channels, kernel)): the encoder; a kernel as
    /// long as its input with one channel; odd kernels (split with a zero tap) and a direct
    /// one below SPLIT_MIN_KERNEL; odd and even output lengths.
    const STACKS: [(usize, usize, usize, &[Shape]); 6] = [
        (2, 45, 125, &[(32, 24), (64, 16), (96, 8)]),
        (1, 1, 5, &[(1, 5)]),
        (3, 3, 20, &[(7, 5), (5, 3), (17, 4)]),
        (1, 2, 9, &[(3, 9)]),
        (2, 5, 12, &[(16, 6), (2, 2)]),
        (2, 4, 15, &[(8, 5)]),
    ];

    /// Random windows and layers of a stack, with the layers' weights and biases.
    fn stack(
        rng: &mut ChaCha8Rng,
        batch: usize,
        channels: usize,
        time: usize,
        shapes: &[(usize, usize)],
    ) -> (Vec<f32>, Vec<Parameters>) {
        let windows = random(rng, batch * channels * time);
        let mut cin = channels;
        let parameters = shapes
            .iter()
            .map(|&(out, kernel)| {
                let p = (random(rng, out * cin * kernel), random(rng, out));
                cin = out;
                p
            })
            .collect();
        (windows, parameters)
    }

    fn layers<'a>(shapes: &[(usize, usize)], parameters: &'a [Parameters]) -> Vec<Layer<'a>> {
        shapes
            .iter()
            .zip(parameters)
            .map(|(&(out_channels, kernel), (weight, bias))| Layer { weight, bias, out_channels, kernel })
            .collect()
    }

    #[test]
    fn encode_matches_the_definition_on_every_level_and_gives_the_same_bits() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        for (batch, channels, time, shapes) in STACKS {
            let (windows, parameters) = stack(&mut rng, batch, channels, time, shapes);
            let layers = layers(shapes, &parameters);
            let want = encode_naive(&windows, channels, time, &layers);
            // f32 sums of up to about a thousand products, through three layers: about 1e-6
            // of the largest value; 1e-5 leaves room.
            let tolerance = 1e-5 * want.iter().fold(1f64, |m, v| m.max(v.abs()));
            let first = encode(SimdLevel::Portable, &windows, channels, time, &layers);
            for level in levels() {
                let got = encode(level, &windows, channels, time, &layers);
                let what = format!("{level:?} {batch} x {channels} x {time} {shapes:?}");
                for (i, (&g, &w)) in got.iter().zip(&want).enumerate() {
                    assert!((f64::from(g) - w).abs() <= tolerance, "{what}: index {i}: {g} against {w}");
                }
                assert!(got == first, "{what}: not the portable path's bits");
            }
        }
    }

    #[test]
    fn a_split_layer_matches_the_definition_at_every_step() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        // (in channels, length, out channels, kernel, pad): even and odd kernels and output
        // lengths, a kernel as long as the input, one channel, and the padding of an input
        // gradient (kernel - 1) and of less.
        for (in_channels, in_len, out_channels, kernel, pad) in [
            (45, 125, 32, 24, 0),
            (32, 102, 64, 16, 0),
            (4, 15, 8, 5, 0),
            (3, 14, 17, 7, 0),
            (1, 5, 1, 5, 0),
            (2, 40, 3, 40, 0),
            (32, 102, 45, 24, 23),
            (5, 6, 3, 7, 6),
            (2, 9, 4, 4, 1),
        ] {
            let s = Correlation { batch: 1, in_channels, in_len, out_channels, kernel, pad };
            let input = random(&mut rng, in_channels * in_len);
            let weight = random(&mut rng, out_channels * in_channels * kernel);
            let bias = random(&mut rng, out_channels);
            for (bias, relu) in [(Some(&bias[..]), true), (None, false)] {
                let want = correlate_naive(&input, &weight, bias.unwrap_or(&vec![0.0; out_channels]), relu, s);
                for level in levels() {
                    let split = SplitPlan::new(level, &weight, bias, relu, s);
                    let mut scratch = vec![f32::NAN; split.scratch_len()];
                    let mut got = vec![f32::NAN; s.out_len() * out_channels];
                    split.run(&input, &mut scratch, &mut got);
                    // The three parts sum half the terms each, plus the sums around them.
                    let what = format!("{level:?} {s:?} relu {relu}");
                    assert_close(&got, &want, 2 * (in_channels * kernel + 1), &what);
                }
            }
        }
    }

    #[test]
    fn a_split_layer_by_hand() {
        // x = 1..5, w = [1, 0, -1, 2], bias 0.5: y[0] = 1 - 3 + 8 + 0.5 = 6.5,
        // y[1] = 2 - 4 + 10 + 0.5 = 8.5; the max over time is 8.5. Negated weights give
        // -5.5 and -7.5 before the ReLU, so 0.
        let layer = |weight| Layer { weight, bias: &[0.5], out_channels: 1, kernel: 4 };
        let x = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(encode(SimdLevel::Portable, &x, 1, 5, &[layer(&[1.0, 0.0, -1.0, 2.0])]), vec![8.5]);
        assert_eq!(encode(SimdLevel::Portable, &x, 1, 5, &[layer(&[-1.0, 0.0, 1.0, -2.0])]), vec![0.0]);
    }

    #[test]
    fn weight_grad_matches_the_definition_on_every_level() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        for (batch, in_channels, in_len, out_channels, kernel, _) in SHAPES {
            let grad_len = in_len + 1 - kernel;
            let s = WeightGrad { batch, out_channels, grad_len, in_channels, x_len: in_len, kernel };
            let x = random(&mut rng, batch * in_channels * in_len);
            let g = random(&mut rng, batch * out_channels * grad_len);
            let want = weight_grad_naive(&x, &g, s);
            for level in levels() {
                let got = weight_grad(level, &x, &g, s);
                assert_close(&got, &want, batch * grad_len, &format!("{level:?} {s:?}"));
            }
        }
    }

    #[test]
    fn every_level_gives_the_same_bits() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let s = Correlation { batch: 3, in_channels: 45, in_len: 125, out_channels: 32, kernel: 24, pad: 0 };
        let (input, weight) = (random(&mut rng, 3 * 45 * 125), random(&mut rng, 32 * 45 * 24));
        let g = random(&mut rng, 3 * 32 * 102);
        let w = WeightGrad { batch: 3, out_channels: 32, grad_len: 102, in_channels: 45, x_len: 125, kernel: 24 };
        let reference = (
            correlate(SimdLevel::Portable, &input, &weight, None, true, s),
            weight_grad(SimdLevel::Portable, &input, &g, w),
        );
        for level in levels() {
            let got = (correlate(level, &input, &weight, None, true, s), weight_grad(level, &input, &g, w));
            assert!(got == reference, "{level:?} differs from the portable kernels");
        }
        // The heads' dense layers: one window of `batch` samples, one tap.
        for (batch, inputs, outputs) in [(64, 96, 256), (64, 256, 165), (7, 1024, 19)] {
            let s =
                Correlation { batch: 1, in_channels: inputs, in_len: batch, out_channels: outputs, kernel: 1, pad: 0 };
            let (input, weight) = (random(&mut rng, batch * inputs), random(&mut rng, outputs * inputs));
            let g = random(&mut rng, batch * outputs);
            let w = WeightGrad {
                batch: 1,
                out_channels: outputs,
                grad_len: batch,
                in_channels: inputs,
                x_len: batch,
                kernel: 1,
            };
            let reference = (
                correlate(SimdLevel::Portable, &input, &weight, None, false, s),
                weight_grad(SimdLevel::Portable, &input, &g, w),
            );
            for level in levels() {
                let got = (correlate(level, &input, &weight, None, false, s), weight_grad(level, &input, &g, w));
                assert!(
                    got == reference,
                    "{level:?} differs from the portable kernels on a {inputs} -> {outputs} layer"
                );
            }
        }
    }

    /// The documented summation order, in f32 with one rounding per term, as the kernels'
    /// fused multiply-adds: a direct correlation adds the bias last; a split one (kernel
    /// at least SPLIT_MIN_KERNEL) sums its three parts so, then joins them and the bias.
    fn correlate_in_order(input: &[f32], weight: &[f32], bias: &[f32], s: Correlation) -> Vec<f32> {
        if s.kernel >= SPLIT_MIN_KERNEL {
            split_in_order(input, weight, bias, s)
        } else {
            chain_in_order(input, weight, bias, s)
        }
    }

    /// A direct correlation's order: one chain per output, bias last.
    fn chain_in_order(input: &[f32], weight: &[f32], bias: &[f32], s: Correlation) -> Vec<f32> {
        let sums = correlate_sums(input, weight, s, 0f32, |sum, w, x| w.mul_add(x, sum));
        sums.iter().enumerate().map(|(n, sum)| sum + bias[n % s.out_channels]).collect()
    }

    /// [`SplitPlan`]'s order: the parts' inputs `e + u`, `u + v` and `u`, their weights
    /// `w_e`, `w_o` and `w_o - w_e` (an odd kernel's last odd tap zero), each part a direct
    /// correlation in order, then `y[2s] = (M1 + M3) + bias`, `y[2s + 1] = (M2 - M3) + bias`.
    fn split_in_order(input: &[f32], weight: &[f32], bias: &[f32], s: Correlation) -> Vec<f32> {
        let (cin, cout, out_len) = (s.in_channels, s.out_channels, s.out_len());
        let (taps, half) = (s.kernel.div_ceil(2), out_len.div_ceil(2));
        let part = Correlation { in_len: half + taps - 1, kernel: taps, pad: 0, ..s };
        let x = |b: usize, t: usize, i: usize| {
            t.checked_sub(s.pad).filter(|&u| u < s.in_len).map_or(0.0, |u| input[(b * s.in_len + u) * cin + i])
        };
        let mut inputs = [vec![], vec![], vec![]];
        for b in 0..s.batch {
            for n in 0..part.in_len {
                for i in 0..cin {
                    let (e, u, v) = (x(b, 2 * n, i), x(b, 2 * n + 1, i), x(b, 2 * n + 2, i));
                    inputs[0].push(e + u);
                    inputs[1].push(u + v);
                    inputs[2].push(u);
                }
            }
        }
        let w = |o: usize, i: usize, k: usize| if k < s.kernel { weight[(o * cin + i) * s.kernel + k] } else { 0.0 };
        let mut weights = [vec![], vec![], vec![]];
        for o in 0..cout {
            for i in 0..cin {
                for j in 0..taps {
                    weights[0].push(w(o, i, 2 * j));
                    weights[1].push(w(o, i, 2 * j + 1));
                    weights[2].push(w(o, i, 2 * j + 1) - w(o, i, 2 * j));
                }
            }
        }
        let zeros = vec![0.0; cout];
        let [m1, m2, m3] = [0, 1, 2].map(|p| correlate_in_order(&inputs[p], &weights[p], &zeros, part));
        let mut out = Vec::with_capacity(s.batch * out_len * cout);
        for b in 0..s.batch {
            for t in 0..out_len {
                let at = (b * half + t / 2) * cout;
                for o in 0..cout {
                    let sum = if t % 2 == 0 { m1[at + o] + m3[at + o] } else { m2[at + o] - m3[at + o] };
                    out.push(sum + bias[o]);
                }
            }
        }
        out
    }

    fn weight_grad_in_order(x: &[f32], g: &[f32], s: WeightGrad) -> Vec<f32> {
        weight_grad_sums(x, g, s, 0f32, |sum, g, x| g.mul_add(x, sum))
    }

    #[test]
    fn kernels_sum_in_the_documented_order_to_the_bit() {
        // Batches across several weight-gradient passes of 8 windows; direct and split
        // correlations (odd and even kernels, odd output lengths), padded and not.
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        for (batch, in_channels, in_len, out_channels, kernel, pad) in [
            (19, 5, 30, 40, 7, 0),
            (9, 3, 12, 17, 4, 3),
            (3, 6, 20, 33, 3, 0),
            (2, 4, 11, 18, 2, 1),
            (3, 7, 19, 20, 8, 7),
        ] {
            let s = Correlation { batch, in_channels, in_len, out_channels, kernel, pad };
            let input = random(&mut rng, batch * in_channels * in_len);
            let weight = random(&mut rng, out_channels * in_channels * kernel);
            let bias = random(&mut rng, out_channels);
            let grad_len = in_len + 1 - kernel;
            let w = WeightGrad { batch, out_channels, grad_len, in_channels, x_len: in_len, kernel };
            let g = random(&mut rng, batch * out_channels * grad_len);
            let want = (correlate_in_order(&input, &weight, &bias, s), weight_grad_in_order(&input, &g, w));
            for level in levels() {
                let got = (correlate(level, &input, &weight, Some(&bias), false, s), weight_grad(level, &input, &g, w));
                assert!(got.0 == want.0, "{level:?} correlate {s:?}");
                assert!(got.1 == want.1, "{level:?} weight_grad {w:?}");
            }
        }
    }

    #[test]
    fn one_tap_one_channel_by_hand() {
        // y = 2 x + 1 with a 1-tap kernel; ReLU cuts the negative ones.
        let s = Correlation { batch: 1, in_channels: 1, in_len: 3, out_channels: 1, kernel: 1, pad: 0 };
        for level in levels() {
            assert_eq!(correlate(level, &[1.0, -2.0, 0.5], &[2.0], Some(&[1.0]), true, s), vec![3.0, 0.0, 2.0]);
        }
        // x = [1, 2, 3], w = [1, -1], pad 1: [0 1 2 3 0] -> [-1, -1, -1, 3].
        let s = Correlation { batch: 1, in_channels: 1, in_len: 3, out_channels: 1, kernel: 2, pad: 1 };
        for level in levels() {
            assert_eq!(correlate(level, &[1.0, 2.0, 3.0], &[1.0, -1.0], None, false, s), vec![-1.0, -1.0, -1.0, 3.0]);
        }
    }
}
