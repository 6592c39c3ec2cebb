//! WebAssembly with SIMD128 (every current browser; the playground's build enables it): the
//! batched integer layer on `i32x4.dot_i16x8_s`, wasm's `pmaddwd`, which multiplies eight
//! i16 pairs and adds each pair: four names' worth of one weight pair in one instruction.
//! wasm32's SIMD intrinsics are safe functions (an engine without SIMD rejects the module
//! instead of running it). Equal to [`int_kernels::linear_batch`](crate::int_kernels::linear_batch):
//! integer sums in the same wrapping arithmetic; the playground's test compares the browser's
//! names with the host's for several models and settings.

use crate::int_kernels::{groups, pair_weights, Group, GROUP, LANES};
use crate::quant;
use crate::tables::TANH_Q15;
use crate::tensor::{i32_le, I32Le};
use core::arch::wasm32::{
    i16x8, i16x8_narrow_i32x4, i16x8_shuffle, i16x8_splat, i32x4, i32x4_add, i32x4_dot_i16x8, i32x4_extract_lane,
    i32x4_shl, i32x4_shr, i32x4_shuffle, i32x4_splat, i64x2_add, i64x2_extmul_high_i32x4, i64x2_extmul_low_i32x4,
    i64x2_shr, i64x2_splat, u16x8_extract_lane, u16x8_shr, v128, v128_and, v128_xor,
};

/// [`int_kernels::linear_batch`](crate::int_kernels::linear_batch) on SIMD128, same arguments.
pub fn linear_batch(
    x_t: &[i16],
    stride: usize,
    w: &[i8],
    n_in: usize,
    b: &[I32Le],
    mut emit: impl FnMut(usize, usize, &[[i32; LANES]]),
) {
    for (rows, g) in groups(w, b, n_in) {
        match rows {
            GROUP => group::<GROUP>(x_t, stride, n_in, &g, &mut emit),
            2 => group::<2>(x_t, stride, n_in, &g, &mut emit),
            _ => group::<1>(x_t, stride, n_in, &g, &mut emit),
        }
    }
}

/// Tiles whose sums one pass of [`group`] keeps (a whole batch of [`crate::MAX_BATCH`]).
const MAX_TILES: usize = crate::MAX_BATCH / LANES;

/// One group's `R` rows over every tile of the batch. The column pairs run outside the tiles,
/// so each weight pair is splat once per pass rather than once per tile (the splats cost more
/// than the dot products when they sat inside); the sums of up to [`MAX_TILES`] tiles wait in
/// an array meanwhile (4 KB of stack for four rows).
#[inline(always)]
fn group<const R: usize>(
    x_t: &[i16],
    stride: usize,
    n_in: usize,
    g: &Group,
    emit: &mut impl FnMut(usize, usize, &[[i32; LANES]]),
) {
    let bias: [v128; R] = core::array::from_fn(|r| i32x4_splat(g.b.get(r).map_or(0, i32_le)));
    let tiles = stride / LANES;
    for first in (0..tiles).step_by(MAX_TILES) {
        let count = (tiles - first).min(MAX_TILES);
        let mut acc = [bias.map(|v| [v, v]); MAX_TILES];
        for c in 0..n_in.div_ceil(2) {
            let ws = pair_weights::<R>(g.w, n_in, c).map(|[w0, w1]| i32x4_splat((w0 & 0xFFFF) | (w1 << 16)));
            let row = x_t.get((c * stride + first * LANES) * 2..).unwrap_or(&[]);
            for (a, x) in acc.iter_mut().take(count).zip(row.chunks_exact(2 * LANES)) {
                let Some(x) = x.first_chunk::<{ 2 * LANES }>() else { break };
                let (x0, x1) = (lanes(x, 0), lanes(x, 8));
                for (a, &w) in a.iter_mut().zip(&ws) {
                    a[0] = i32x4_add(a[0], i32x4_dot_i16x8(x0, w));
                    a[1] = i32x4_add(a[1], i32x4_dot_i16x8(x1, w));
                }
            }
        }
        for (t, a) in acc.iter().take(count).enumerate() {
            let rows: [[i32; LANES]; R] = a.map(|[lo, hi]| {
                [
                    i32x4_extract_lane::<0>(lo),
                    i32x4_extract_lane::<1>(lo),
                    i32x4_extract_lane::<2>(lo),
                    i32x4_extract_lane::<3>(lo),
                    i32x4_extract_lane::<0>(hi),
                    i32x4_extract_lane::<1>(hi),
                    i32x4_extract_lane::<2>(hi),
                    i32x4_extract_lane::<3>(hi),
                ]
            });
            emit(g.first, (first + t) * LANES, &rows);
        }
    }
}

/// Eight i16 of `x` from `at` as one vector (LLVM makes it a single `v128.load`).
#[inline(always)]
fn lanes(x: &[i16; 2 * LANES], at: usize) -> v128 {
    let v = |i: usize| x.get(at + i).copied().unwrap_or(0);
    i16x8(v(0), v(1), v(2), v(3), v(4), v(5), v(6), v(7))
}

/// [`quant::hidden`] of every `acc[i]` with multiplier `m[i]` into `out[i]`, eight at a time:
/// the requantisation's 64-bit products on `i64x2.extmul_*_i32x4_s`, the clamp from
/// `i16x8.narrow_i32x4_s`'s saturation, the table's interpolation on `i32x4.dot_i16x8_s`;
/// only the table lookups are scalar (as in the SSE2 version, `arch::x86`).
pub fn hidden_many(acc: &[i32], m: &[I32Le], out: &mut [i16]) {
    let (acc8, _) = acc.as_chunks::<8>();
    let (m8, _) = m.as_chunks::<8>();
    let (out8, _) = out.as_chunks_mut::<8>();
    for ((a, m), o) in acc8.iter().zip(m8).zip(out8.iter_mut()) {
        let m: [i32; 8] = m.map(|w| i32_le(&w));
        let four = |v: &[i32; 8], at: usize| {
            let l = |i: usize| v.get(at + i).copied().unwrap_or(0);
            i32x4(l(0), l(1), l(2), l(3))
        };
        *o = hidden8(a, four(&m, 0), four(&m, 4));
    }
    let done = acc8.len().min(m8.len()).min(out8.len()) * 8;
    for ((&a, m), o) in acc.iter().zip(m).zip(out.iter_mut()).skip(done) {
        *o = quant::hidden(a, i32_le(m));
    }
}

/// [`quant::hidden`] of eight sums with one multiplier (a row's outputs for a tile of the
/// batch).
pub fn hidden_lanes(acc: &[i32; 8], m: i32) -> [i16; 8] {
    let m = i32x4_splat(m);
    hidden8(acc, m, m)
}

/// [`quant::hidden`] of eight sums, the multipliers of the first four in `m0`, of the last
/// four in `m1`.
#[inline(always)]
fn hidden8(a: &[i32; 8], m0: v128, m1: v128) -> [i16; 8] {
    let l = |i: usize| a.get(i).copied().unwrap_or(0);
    let t =
        i16x8_narrow_i32x4(requant4(i32x4(l(0), l(1), l(2), l(3)), m0), requant4(i32x4(l(4), l(5), l(6), l(7)), m1));
    let t = tanh8(t);
    [
        i16x8_extract(t, 0),
        i16x8_extract(t, 1),
        i16x8_extract(t, 2),
        i16x8_extract(t, 3),
        i16x8_extract(t, 4),
        i16x8_extract(t, 5),
        i16x8_extract(t, 6),
        i16x8_extract(t, 7),
    ]
}

/// Lane `l` of eight i16 lanes.
#[inline(always)]
fn i16x8_extract(v: v128, l: usize) -> i16 {
    let u = match l {
        0 => u16x8_extract_lane::<0>(v),
        1 => u16x8_extract_lane::<1>(v),
        2 => u16x8_extract_lane::<2>(v),
        3 => u16x8_extract_lane::<3>(v),
        4 => u16x8_extract_lane::<4>(v),
        5 => u16x8_extract_lane::<5>(v),
        6 => u16x8_extract_lane::<6>(v),
        _ => u16x8_extract_lane::<7>(v),
    };
    u as i16
}

/// [`quant::requant`] of four lanes: `(a m + 2^31) >> 32` from the exact signed 64-bit
/// products, the low half of each shifted product kept.
#[inline(always)]
fn requant4(a: v128, m: v128) -> v128 {
    let half = i64x2_splat(1 << 31);
    let lo = i64x2_shr(i64x2_add(i64x2_extmul_low_i32x4(a, m), half), 32);
    let hi = i64x2_shr(i64x2_add(i64x2_extmul_high_i32x4(a, m), half), 32);
    i32x4_shuffle::<0, 2, 4, 6>(lo, hi)
}

/// [`quant::tanh_q15`] of eight i16 lanes.
#[inline(always)]
fn tanh8(t: v128) -> v128 {
    let u = v128_xor(t, i16x8_splat(i16::MIN)); // t + 32768 as u16
    let idx = u16x8_shr(u, 8);
    let frac = v128_and(u, i16x8_splat(0xff));
    let word = |l: usize| TANH_Q15.get(usize::from(i16x8_extract(idx, l) as u16)).copied().unwrap_or(0) as i32;
    let w0 = i32x4(word(0), word(1), word(2), word(3));
    let w1 = i32x4(word(4), word(5), word(6), word(7));
    let zero = i16x8_splat(0);
    let half = |w: v128, f: v128| {
        // Each i32 lane: base | step << 16 from the table, times 0 | frac << 16.
        let step_frac = i32x4_dot_i16x8(w, f);
        let base = i32x4_shr(i32x4_shl(w, 16), 16);
        i32x4_add(base, i32x4_shr(i32x4_add(step_frac, i32x4_splat(128)), 8))
    };
    i16x8_narrow_i32x4(
        half(w0, i16x8_shuffle::<8, 0, 9, 1, 10, 2, 11, 3>(frac, zero)),
        half(w1, i16x8_shuffle::<12, 4, 13, 5, 14, 6, 15, 7>(frac, zero)),
    )
}
