//! Float kernels (the f32 files' path): pure functions over slices that write into buffers
//! the caller owns. The integer model's kernels are in [`crate::int_kernels`].
//!
//! They know nothing of the file format and never allocate, log or panic: shapes are checked
//! once when a model is loaded, and the loops zip their slices, so a mismatched length is
//! treated as the shorter one rather than indexed out of bounds. Every floating-point step
//! is in a fixed order and transcendental functions come from `libm`, so the same inputs
//! give bit-identical outputs on every platform (x86, Cortex-M4F, soft-float Cortex-M0).

use crate::tensor::{f32_le, F32Le};

/// Copies one stored f32 row into `out`.
///
/// `out: [n]`, `row: [n]`.
pub fn dequant_f32(out: &mut [f32], row: &[F32Le]) {
    for (o, w) in out.iter_mut().zip(row) {
        *o = f32_le(w);
    }
}

/// Linear layer with f32 weights: `out[i] = sum_j w[i, j] * x[j] + b[i]`.
///
/// `out: [n_out]`, `x: [n_in]`, `w: [n_out, n_in]` row-major, `b: [n_out]`.
pub fn linear_f32(out: &mut [f32], x: &[f32], w: &[F32Le], b: &[F32Le]) {
    if x.is_empty() {
        for (o, b) in out.iter_mut().zip(b) {
            *o = f32_le(b);
        }
        return;
    }
    for ((o, row), b) in out.iter_mut().zip(w.chunks_exact(x.len())).zip(b) {
        let mut acc = 0.0f32;
        for (w, x) in row.iter().zip(x) {
            acc += f32_le(w) * x;
        }
        *o = acc + f32_le(b);
    }
}

/// [`linear_f32`], four output rows at a time: four independent sums in flight hide the
/// floating-point add latency, and each `x[j]` is loaded once for four rows. Every output is
/// still summed over `j` in order from 0.0 and then offset by its bias, so the results are
/// bit-identical to [`linear_f32`] (the tests check it, on the host and under QEMU).
pub fn linear_f32_x4(out: &mut [f32], x: &[f32], w: &[F32Le], b: &[F32Le]) {
    let n_in = x.len();
    // Rows handled four at a time below (0 when n_in is 0: the reference copies the biases).
    let done = w.len().checked_div(n_in).map_or(0, |rows| out.len().min(rows).min(b.len()) / 4 * 4);
    for ((o, rows), b) in out.chunks_exact_mut(4).zip(w.chunks_exact(4 * n_in.max(1))).zip(b.chunks_exact(4)) {
        let (r0, rest) = rows.split_at(n_in);
        let (r1, rest) = rest.split_at(n_in);
        let (r2, r3) = rest.split_at(n_in);
        let (mut a0, mut a1, mut a2, mut a3) = (0.0f32, 0.0f32, 0.0f32, 0.0f32);
        for ((((x, w0), w1), w2), w3) in x.iter().zip(r0).zip(r1).zip(r2).zip(r3) {
            a0 += f32_le(w0) * x;
            a1 += f32_le(w1) * x;
            a2 += f32_le(w2) * x;
            a3 += f32_le(w3) * x;
        }
        if let ([o0, o1, o2, o3], [b0, b1, b2, b3]) = (o, b) {
            *o0 = a0 + f32_le(b0);
            *o1 = a1 + f32_le(b1);
            *o2 = a2 + f32_le(b2);
            *o3 = a3 + f32_le(b3);
        }
    }
    // The last `n_out % 4` rows (and any degenerate shape) through the reference kernel.
    if let (Some(o), Some(w), Some(b)) = (out.get_mut(done..), w.get(done * n_in..), b.get(done..)) {
        linear_f32(o, x, w, b);
    }
}

/// [`linear_f32`] over a batch in feature-major layout: `out_t[i][k] = sum_j w[i, j] *
/// x_t[j][k] + b[i]`. Each output is still summed over `j` in order from 0.0 and then offset
/// by its bias: column `k` is bit-identical to [`linear_f32`] on example `k`.
///
/// `out_t: [n_out * n_batch]`, `x_t: [n_in * n_batch]`, `w: [n_out, n_in]`, `b: [n_out]`.
pub fn linear_f32_batch(out_t: &mut [f32], x_t: &[f32], n_batch: usize, w: &[F32Le], b: &[F32Le]) {
    linear_batch(out_t, x_t, n_batch, w, b, f32_le, |row, acc| acc + b.get(row).map_or(0.0, f32_le));
}

/// Output rows computed together by [`linear_batch`].
const TILE_ROWS: usize = 8;
/// Batch lanes computed together by [`linear_batch`]: `TILE_ROWS x TILE_LANES` sums stay in
/// registers while the inputs stream past, so each input is loaded once per eight rows and
/// no partial sum goes through memory.
const TILE_LANES: usize = 16;

/// The batched linear layers' loop nest: tiles of rows x lanes; the rows and lanes left over
/// go through tiles of 4, 2 and 1. `weight` reads one stored weight; `finish(i, acc)` turns
/// row `i`'s sum into the output (bias, scale) as the reference kernel does; with no inputs
/// the output is the bias `b`, as in the reference.
#[inline(always)]
fn linear_batch<T>(
    out_t: &mut [f32],
    x_t: &[f32],
    n_batch: usize,
    w: &[T],
    b: &[F32Le],
    weight: impl Fn(&T) -> f32 + Copy,
    finish: impl Fn(usize, f32) -> f32 + Copy,
) {
    let Some(n_in) = x_t.len().checked_div(n_batch) else { return };
    if n_in == 0 {
        // As the reference: no inputs, the output is the bias.
        for (o, bias) in out_t.chunks_exact_mut(n_batch).zip(b) {
            o.fill(f32_le(bias));
        }
        return;
    }
    let n_out = (out_t.len() / n_batch).min(w.len() / n_in);
    let mut row0 = 0;
    for r in [TILE_ROWS, 4, 2, 1] {
        while n_out - row0 >= r {
            let (Some(out_rows), Some(w_rows)) =
                (out_t.get_mut(row0 * n_batch..(row0 + r) * n_batch), w.get(row0 * n_in..(row0 + r) * n_in))
            else {
                return;
            };
            let mut band = Band { out_rows, x_t, n_batch, w_rows, row0, weight, finish };
            match r {
                TILE_ROWS => band.lanes::<TILE_ROWS>(),
                4 => band.lanes::<4>(),
                2 => band.lanes::<2>(),
                _ => band.lanes::<1>(),
            }
            row0 += r;
        }
    }
}

/// A band of rows of a batched linear layer: `out_rows: [R * n_batch]`, `w_rows: [R * n_in]`.
struct Band<'a, T, W, F> {
    out_rows: &'a mut [f32],
    x_t: &'a [f32],
    n_batch: usize,
    w_rows: &'a [T],
    row0: usize,
    weight: W,
    finish: F,
}

impl<T, W: Fn(&T) -> f32, F: Fn(usize, f32) -> f32> Band<'_, T, W, F> {
    /// Every lane of the band's `R` rows: tiles of `TILE_LANES`, then of 8, 4, 2 and 1.
    #[inline(always)]
    fn lanes<const R: usize>(&mut self) {
        let n_batch = self.n_batch;
        let mut lane0 = 0;
        while n_batch - lane0 >= TILE_LANES {
            self.tile::<R, TILE_LANES>(lane0);
            lane0 += TILE_LANES;
        }
        for l in [8, 4, 2, 1] {
            if n_batch - lane0 >= l {
                match l {
                    8 => self.tile::<R, 8>(lane0),
                    4 => self.tile::<R, 4>(lane0),
                    2 => self.tile::<R, 2>(lane0),
                    _ => self.tile::<R, 1>(lane0),
                }
                lane0 += l;
            }
        }
    }

    /// Rows `row0..row0 + R` for the lanes `lane0..lane0 + L`: each sum starts at 0.0 and
    /// adds `w[i, j] * x[j]` for `j` in order.
    #[inline(always)]
    fn tile<const R: usize, const L: usize>(&mut self, lane0: usize) {
        let n_in = self.w_rows.len() / R;
        let mut acc = [[0.0f32; L]; R];
        for (j, x_j) in self.x_t.chunks_exact(self.n_batch).enumerate() {
            let Some(x) = x_j.get(lane0..lane0 + L) else { return };
            for (r, acc_r) in acc.iter_mut().enumerate() {
                let w_rj = self.w_rows.get(r * n_in + j).map_or(0.0, &self.weight);
                for (a, x) in acc_r.iter_mut().zip(x) {
                    *a += w_rj * x;
                }
            }
        }
        for ((r, acc_r), o) in acc.iter().enumerate().zip(self.out_rows.chunks_exact_mut(self.n_batch)) {
            if let Some(o) = o.get_mut(lane0..lane0 + L) {
                for (o, &a) in o.iter_mut().zip(acc_r) {
                    *o = (self.finish)(self.row0 + r, a);
                }
            }
        }
    }
}

/// `x[i] = tanh(x[i])`: `libm::tanhf`'s bits on every platform. Where the build has
/// 8-wide vectors (AVX2, e.g. `-C target-cpu=native` on a recent x86), [`crate::lanes::tanh`]
/// computes the same bits about 3x faster; elsewhere (Cortex-M, baseline x86-64 with 4-wide
/// SSE2) libm's branchy code is the faster of the two and runs as it is.
pub fn tanh(x: &mut [f32]) {
    if WIDE_VECTORS {
        crate::lanes::tanh(x);
    } else {
        tanh_libm(x);
    }
}

/// `x[i] = libm::tanhf(x[i])`, one value at a time: the reference for [`tanh`].
pub fn tanh_libm(x: &mut [f32]) {
    for v in x {
        *v = libm::tanhf(*v);
    }
}

/// Whether the target has vectors of 8 f32 or more, so that the branch-free [`crate::lanes`]
/// functions beat libm's.
const WIDE_VECTORS: bool = cfg!(target_feature = "avx2");

/// Largest value, ignoring NaN; `-inf` for an empty slice or one that is all NaN.
pub fn max(x: &[f32]) -> f32 {
    x.iter().fold(f32::NEG_INFINITY, |m, &v| if v > m { v } else { m })
}

/// Index of the largest value (the first one on ties, NaN ignored); 0 for an empty slice.
pub fn argmax(x: &[f32]) -> usize {
    let mut best = 0;
    let mut best_v = f32::NEG_INFINITY;
    for (i, &v) in x.iter().enumerate() {
        if v > best_v {
            best = i;
            best_v = v;
        }
    }
    best
}

/// Numerically stable softmax in place: `x[i] = exp(x[i] - max) / sum_j exp(x[j] - max)`.
///
/// Defined for every input: NaN entries get probability 0; if some entries are `+inf`, they
/// share the mass equally; if every entry is `-inf` (or NaN), the result is uniform.
pub fn softmax(x: &mut [f32]) {
    let m = max(x);
    if m.is_infinite() {
        // Degenerate input: split the mass over the entries equal to the max (all of them
        // when nothing is finite), which is the limit of the finite case.
        let at_max = |v: f32| m == f32::NEG_INFINITY || v == m;
        let n = x.iter().filter(|&&v| at_max(v)).count();
        let p = 1.0 / n as f32;
        for v in x.iter_mut() {
            *v = if at_max(*v) { p } else { 0.0 };
        }
        return;
    }
    // exp(v - m) <= 1, and the max itself contributes exactly 1, so sum >= 1.
    let sum = if WIDE_VECTORS {
        for v in x.iter_mut() {
            *v = if v.is_nan() { f32::NEG_INFINITY } else { *v - m }; // exp(-inf) = 0
        }
        crate::lanes::exp(x);
        x.iter().fold(0.0f32, |sum, &e| sum + e)
    } else {
        // One pass, the fewest instructions on a microcontroller; the same bits.
        let mut sum = 0.0f32;
        for v in x.iter_mut() {
            *v = if v.is_nan() { 0.0 } else { libm::expf(*v - m) };
            sum += *v;
        }
        sum
    };
    for v in x.iter_mut() {
        *v /= sum;
    }
}

/// Stable `log(sum_j exp(x[j]))`; `-inf` for an empty slice.
pub fn logsumexp(x: &[f32]) -> f32 {
    let m = max(x);
    if !m.is_finite() {
        return m;
    }
    let mut sum = 0.0f32;
    for &v in x {
        if !v.is_nan() {
            sum += libm::expf(v - m);
        }
    }
    m + libm::logf(sum)
}
