//! Kernels: pure functions over slices that write into buffers the caller owns.
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

/// Dequantizes one int8 row: `out[j] = row[j] * scale`.
///
/// `out: [n]`, `row: [n]`.
pub fn dequant_i8(out: &mut [f32], row: &[i8], scale: f32) {
    for (o, &q) in out.iter_mut().zip(row) {
        *o = f32::from(q) * scale;
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

/// Linear layer with int8 weights and f32 activations:
/// `out[i] = scale[i] * sum_j w[i, j] * x[j] + b[i]`.
///
/// `out: [n_out]`, `x: [n_in]`, `w: [n_out, n_in]` row-major, `scales: [n_out]`, `b: [n_out]`.
pub fn linear_i8(out: &mut [f32], x: &[f32], w: &[i8], scales: &[F32Le], b: &[F32Le]) {
    if x.is_empty() {
        for (o, b) in out.iter_mut().zip(b) {
            *o = f32_le(b);
        }
        return;
    }
    for (((o, row), scale), b) in out.iter_mut().zip(w.chunks_exact(x.len())).zip(scales).zip(b) {
        let mut acc = 0.0f32;
        for (&q, x) in row.iter().zip(x) {
            acc += f32::from(q) * x;
        }
        *o = acc * f32_le(scale) + f32_le(b);
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

/// [`linear_i8`], four output rows at a time; bit-identical to it (see [`linear_f32_x4`]).
pub fn linear_i8_x4(out: &mut [f32], x: &[f32], w: &[i8], scales: &[F32Le], b: &[F32Le]) {
    let n_in = x.len();
    let done = w.len().checked_div(n_in).map_or(0, |rows| out.len().min(rows).min(b.len()).min(scales.len()) / 4 * 4);
    let chunks = out.chunks_exact_mut(4).zip(w.chunks_exact(4 * n_in.max(1))).zip(scales.chunks_exact(4));
    for (((o, rows), s), b) in chunks.zip(b.chunks_exact(4)) {
        let (r0, rest) = rows.split_at(n_in);
        let (r1, rest) = rest.split_at(n_in);
        let (r2, r3) = rest.split_at(n_in);
        let (mut a0, mut a1, mut a2, mut a3) = (0.0f32, 0.0f32, 0.0f32, 0.0f32);
        for ((((x, &q0), &q1), &q2), &q3) in x.iter().zip(r0).zip(r1).zip(r2).zip(r3) {
            a0 += f32::from(q0) * x;
            a1 += f32::from(q1) * x;
            a2 += f32::from(q2) * x;
            a3 += f32::from(q3) * x;
        }
        if let ([o0, o1, o2, o3], [s0, s1, s2, s3], [b0, b1, b2, b3]) = (o, s, b) {
            *o0 = a0 * f32_le(s0) + f32_le(b0);
            *o1 = a1 * f32_le(s1) + f32_le(b1);
            *o2 = a2 * f32_le(s2) + f32_le(b2);
            *o3 = a3 * f32_le(s3) + f32_le(b3);
        }
    }
    if let (Some(o), Some(w), Some(s), Some(b)) =
        (out.get_mut(done..), w.get(done * n_in..), scales.get(done..), b.get(done..))
    {
        linear_i8(o, x, w, s, b);
    }
}

/// [`linear_f32`] over a batch in feature-major layout: `out_t[i][k] = sum_j w[i, j] *
/// x_t[j][k] + b[i]`. The inner loop runs over the batch (independent lanes, so it
/// vectorises), and each output is still summed over `j` in order from 0.0 and then offset by
/// its bias: column `k` is bit-identical to [`linear_f32`] on example `k`.
///
/// `out_t: [n_out * n_batch]`, `x_t: [n_in * n_batch]`, `w: [n_out, n_in]`, `b: [n_out]`.
pub fn linear_f32_batch(out_t: &mut [f32], x_t: &[f32], n_batch: usize, w: &[F32Le], b: &[F32Le]) {
    let Some(n_in) = x_t.len().checked_div(n_batch) else { return };
    if n_in == 0 {
        // As the reference: no inputs, the output is the bias.
        for (o, bias) in out_t.chunks_exact_mut(n_batch).zip(b) {
            o.fill(f32_le(bias));
        }
        return;
    }
    for ((o, row), bias) in out_t.chunks_exact_mut(n_batch).zip(w.chunks_exact(n_in)).zip(b) {
        o.fill(0.0);
        for (wj, xj) in row.iter().zip(x_t.chunks_exact(n_batch)) {
            let wj = f32_le(wj);
            for (ok, xk) in o.iter_mut().zip(xj) {
                *ok += wj * xk;
            }
        }
        let bias = f32_le(bias);
        for ok in o.iter_mut() {
            *ok += bias;
        }
    }
}

/// [`linear_i8`] over a batch in feature-major layout; column `k` is bit-identical to
/// [`linear_i8`] on example `k` (see [`linear_f32_batch`]).
///
/// `out_t: [n_out * n_batch]`, `x_t: [n_in * n_batch]`, `w: [n_out, n_in]`, `scales, b: [n_out]`.
pub fn linear_i8_batch(out_t: &mut [f32], x_t: &[f32], n_batch: usize, w: &[i8], scales: &[F32Le], b: &[F32Le]) {
    let Some(n_in) = x_t.len().checked_div(n_batch) else { return };
    if n_in == 0 {
        for (o, bias) in out_t.chunks_exact_mut(n_batch).zip(b) {
            o.fill(f32_le(bias));
        }
        return;
    }
    let rows = out_t.chunks_exact_mut(n_batch).zip(w.chunks_exact(n_in)).zip(scales);
    for (((o, row), scale), bias) in rows.zip(b) {
        o.fill(0.0);
        for (&q, xj) in row.iter().zip(x_t.chunks_exact(n_batch)) {
            let q = f32::from(q);
            for (ok, xk) in o.iter_mut().zip(xj) {
                *ok += q * xk;
            }
        }
        let (scale, bias) = (f32_le(scale), f32_le(bias));
        for ok in o.iter_mut() {
            *ok = *ok * scale + bias;
        }
    }
}

/// `x[i] = tanh(x[i])` with `libm::tanhf`.
pub fn tanh(x: &mut [f32]) {
    for v in x {
        *v = libm::tanhf(*v);
    }
}

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
    let mut sum = 0.0f32;
    for v in x.iter_mut() {
        // exp(v - m) <= 1, and the max itself contributes exactly 1, so sum >= 1.
        let e = if v.is_nan() { 0.0 } else { libm::expf(*v - m) };
        *v = e;
        sum += e;
    }
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
