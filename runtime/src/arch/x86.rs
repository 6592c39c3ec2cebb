//! x86-64 with SSE2 (the baseline of every x86-64 CPU): the batched integer layer on
//! `pmaddwd`, which multiplies eight i16 pairs and adds each pair, four names' worth of one
//! weight pair in one instruction. Through `safe_arch`'s safe wrappers of the SSE2
//! intrinsics (this crate allows `unsafe` only for the DSP assembly), because LLVM does not
//! form `pmaddwd` from the portable loops (measured: it multiplies with `pmullw`/`pmulhw`
//! and shuffles). Equal to
//! [`int_kernels::linear_batch`](crate::int_kernels::linear_batch): integer sums, tested
//! against it.

use super::avx2;
use crate::int_kernels::{groups, pair_weights, Group, GROUP, LANES};
use crate::quant;
use crate::tables::TANH_Q15;
use crate::tensor::{i32_le, I32Le};
use safe_arch::{
    add_i32_m128i, add_i64_m128i, bitand_m128i, bitor_m128i, bitxor_m128i, m128i, mul_i16_horizontal_add_m128i,
    mul_widen_u32_odd_m128i, pack_i32_to_i16_m128i, set_i64_m128i_s, set_splat_i16_m128i, set_splat_i32_m128i,
    set_splat_i64_m128i, shl_imm_u32_m128i, shr_imm_i16_m128i, shr_imm_i32_m128i, shr_imm_u16_m128i, shr_imm_u64_m128i,
    shuffle_ai_f32_all_m128i, shuffle_ai_i16_h64all_m128i, shuffle_ai_i16_l64all_m128i, sub_i32_m128i,
    unpack_high_i16_m128i, unpack_high_i32_m128i, unpack_high_i64_m128i, unpack_low_i16_m128i, unpack_low_i32_m128i,
    unpack_low_i64_m128i, unpack_low_i8_m128i,
};

/// Column pairs whose weights [`linear_batch`] expands once per group (layers with up to
/// twice as many inputs); wider layers expand them again for every tile.
const MAX_PAIRS: usize = 64;

/// [`int_kernels::linear_batch`](crate::int_kernels::linear_batch) on SSE2, and AVX2 where
/// the CPU has it ([`avx2::available`]), same arguments.
#[inline(always)]
pub fn linear_batch(
    x_t: &[i16],
    stride: usize,
    w: &[i8],
    n_in: usize,
    b: &[I32Le],
    emit: impl FnMut(usize, usize, &[[i32; LANES]]),
) {
    linear_batch_on(avx2::available(), x_t, stride, w, n_in, b, emit);
}

/// [`linear_batch`] on SSE2 alone (`avx2` false), or with [`avx2::quad16`] for the row quads
/// (the CPU must have AVX2 for it to run the assembly: [`avx2::available`]). The sums are the
/// same either way (tested).
pub fn linear_batch_on(
    avx2: bool,
    x_t: &[i16],
    stride: usize,
    w: &[i8],
    n_in: usize,
    b: &[I32Le],
    mut emit: impl FnMut(usize, usize, &[[i32; LANES]]),
) {
    // A group's weights as `pmaddwd` multiplies them, expanded once and read by every tile:
    // when the layer is narrow enough and the batch has more than one tile to share them
    // (one buffer for the whole layer, made only then; a `heapless::Vec`, so that nothing
    // is written before the weights: zeroing 4 KB per layer call cost 2.5% of a batch).
    let expand = n_in.div_ceil(2) <= MAX_PAIRS && stride / LANES >= 2;
    let mut splat = expand.then(heapless::Vec::<[m128i; 4], MAX_PAIRS>::new);
    for (rows, g) in groups(w, b, n_in) {
        let lent = splat.as_mut().map(|v| (v, avx2));
        let mut emit = |r: usize, lane0: usize, s: &[[i32; LANES]]| emit(g.first + r, lane0, s);
        match rows {
            GROUP => group::<GROUP>(x_t, stride, &g, n_in, lent, &mut emit),
            2 => group::<2>(x_t, stride, &g, n_in, lent, &mut emit),
            _ => group::<1>(x_t, stride, &g, n_in, lent, &mut emit),
        }
    }
}

/// One group of `R` rows (weights `w` in the row-quad layout) over every tile of the batch:
/// `R x 8` sums in eight registers or fewer while the inputs stream. The weights are
/// expanded into `splat` first when [`linear_batch_on`] lends one, with whether the row quads
/// may take AVX2 ([`avx2::quad16`]; only with expanded weights).
#[inline(always)]
fn group<const R: usize>(
    x_t: &[i16],
    stride: usize,
    g: &Group,
    n_in: usize,
    splat: Option<(&mut heapless::Vec<[m128i; 4], MAX_PAIRS>, bool)>,
    emit: &mut impl FnMut(usize, usize, &[[i32; LANES]]),
) {
    let (w, b) = (g.w, g.b);
    let pairs = n_in.div_ceil(2);
    let bias: [m128i; R] = core::array::from_fn(|r| set_splat_i32_m128i(b.get(r).map_or(0, i32_le)));
    let Some((expanded, avx2)) = splat.filter(|_| pairs <= MAX_PAIRS) else {
        // Too wide to expand, or one tile (nothing to share): the weights of each column
        // pair again for every tile.
        for lane0 in (0..stride / LANES).map(|t| t * LANES) {
            let mut acc = bias.map(|v| [v, v]);
            for c in 0..pairs {
                let Some(x) = x_t.get((c * stride + lane0) * 2..).and_then(|x| x.first_chunk::<{ 2 * LANES }>()) else {
                    break;
                };
                mac::<R>(&mut acc, x, &splats::<R>(w, n_in, c));
            }
            emit_tile(acc, lane0, emit);
        }
        return;
    };
    expanded.clear();
    for c in 0..pairs {
        let mut s = [set_splat_i32_m128i(0); 4];
        for (s, v) in s.iter_mut().zip(splats::<R>(w, n_in, c)) {
            *s = v;
        }
        // `pairs <= MAX_PAIRS`: every push fits.
        let _ = expanded.push(s);
    }
    let expanded = expanded.as_slice();
    // With AVX2, four rows take sixteen lanes (two tiles) at a time; a last odd tile and
    // the groups of fewer rows run the SSE2 loop below.
    let mut done = 0;
    if R == 4 && avx2 {
        let w: &[[[i32; 4]; 4]] = bytemuck::cast_slice(expanded);
        let bias: [i32; 4] = core::array::from_fn(|r| b.get(r).map_or(0, i32_le));
        while done + avx2::LANES16 <= stride / LANES * LANES {
            let sums = avx2::quad16(x_t, 2 * stride, done * 2, w, pairs);
            for half in 0..2 {
                let rows: [[i32; LANES]; 4] = core::array::from_fn(|r| {
                    let s = sums.get(r).and_then(|s| s.get(half * LANES..)).unwrap_or(&[]);
                    let bias = bias.get(r).copied().unwrap_or(0);
                    core::array::from_fn(|l| s.get(l).map_or(bias, |v| v.wrapping_add(bias)))
                });
                emit(0, done + half * LANES, &rows);
            }
            done += avx2::LANES16;
        }
    }
    for lane0 in (done / LANES..stride / LANES).map(|t| t * LANES) {
        let mut acc = bias.map(|v| [v, v]);
        // Column pair c of the tile: `2 * LANES` values at `(c * stride + lane0) * 2`, in
        // row c of `x_t` read as rows of `2 * stride` values; the tile's place in a row is the
        // same in every row, so its bounds check leaves the loop.
        let at = lane0 * 2;
        for (row, ws) in x_t.chunks_exact(2 * stride.max(1)).zip(expanded) {
            let Some(x) = row.get(at..).and_then(|x| x.first_chunk::<{ 2 * LANES }>()) else { break };
            let Some(ws) = ws.first_chunk::<R>() else { break };
            mac::<R>(&mut acc, x, ws);
        }
        emit_tile(acc, lane0, emit);
    }
}

/// One column pair of a tile: `acc[r] += x * ws[r]` by `pmaddwd`, the tile's eight lanes in
/// two vectors (`x`: lane l's pair at `2l`).
#[inline(always)]
fn mac<const R: usize>(acc: &mut [[m128i; 2]; R], x: &[i16; 2 * LANES], ws: &[m128i; R]) {
    let (lo, hi) = x.split_at(LANES);
    let x0 = m128i::from(lo.first_chunk::<8>().copied().unwrap_or_default());
    let x1 = m128i::from(hi.first_chunk::<8>().copied().unwrap_or_default());
    for (a, &w) in acc.iter_mut().zip(ws) {
        a[0] = add_i32_m128i(a[0], mul_i16_horizontal_add_m128i(x0, w));
        a[1] = add_i32_m128i(a[1], mul_i16_horizontal_add_m128i(x1, w));
    }
}

/// A tile's sums to `emit`.
#[inline(always)]
fn emit_tile<const R: usize>(acc: [[m128i; 2]; R], lane0: usize, emit: &mut impl FnMut(usize, usize, &[[i32; LANES]])) {
    let rows: [[i32; LANES]; R] = acc.map(|[lo, hi]| bytemuck::cast([<[i32; 4]>::from(lo), hi.into()]));
    emit(0, lane0, &rows);
}

/// Each row's weight pair for column pair `c`, as `w(r, 2c) | w(r, 2c + 1) << 16` in every
/// i32 lane (what `pmaddwd` multiplies an input pair by).
#[inline(always)]
fn splats<const R: usize>(w: &[i8], n_in: usize, c: usize) -> [m128i; R] {
    if R == 4 && c < n_in / 2 {
        // The quad's eight bytes [a0 b0 a1 b1 c0 d0 c1 d1] (row, column) sign-extended to
        // i16, reordered to [a0 a1 b0 b1 c0 c1 d0 d1]: row r's pair is i32 lane r.
        let bytes = w.get(c * 8..).and_then(|w| w.first_chunk::<8>()).map_or([0; 8], |b| b.map(|v| v as u8));
        let v = set_i64_m128i_s(i64::from_le_bytes(bytes));
        let v = shr_imm_i16_m128i::<8>(unpack_low_i8_m128i(v, v));
        let v = shuffle_ai_i16_h64all_m128i::<0xD8>(shuffle_ai_i16_l64all_m128i::<0xD8>(v));
        let all = [
            shuffle_ai_f32_all_m128i::<0x00>(v),
            shuffle_ai_f32_all_m128i::<0x55>(v),
            shuffle_ai_f32_all_m128i::<0xAA>(v),
            shuffle_ai_f32_all_m128i::<0xFF>(v),
        ];
        core::array::from_fn(|r| all.get(r).copied().unwrap_or(v))
    } else {
        pair_weights::<R>(w, n_in, c).map(|[w0, w1]| set_splat_i32_m128i((w0 & 0xFFFF) | (w1 << 16)))
    }
}

/// `out[l][r] = rows[r][l]`: a tile's four rows as each lane's four values, by two rounds
/// of interleaving.
#[inline(always)]
pub fn transpose_quad(rows: [[i16; LANES]; 4]) -> [[i16; 4]; LANES] {
    let [a, b, c, d] = rows.map(m128i::from);
    let (ab_lo, ab_hi) = (unpack_low_i16_m128i(a, b), unpack_high_i16_m128i(a, b));
    let (cd_lo, cd_hi) = (unpack_low_i16_m128i(c, d), unpack_high_i16_m128i(c, d));
    bytemuck::cast([
        unpack_low_i32_m128i(ab_lo, cd_lo),
        unpack_high_i32_m128i(ab_lo, cd_lo),
        unpack_low_i32_m128i(ab_hi, cd_hi),
        unpack_high_i32_m128i(ab_hi, cd_hi),
    ])
}

/// `out[i][j] = rows[j][i]` for a 4 x 4 block of words, by two rounds of interleaving.
#[inline(always)]
pub fn transpose4(rows: [[u32; 4]; 4]) -> [[u32; 4]; 4] {
    let [a, b, c, d] = rows.map(|r| m128i::from(bytemuck::cast::<[u32; 4], [i32; 4]>(r)));
    let (ab_lo, ab_hi) = (unpack_low_i32_m128i(a, b), unpack_high_i32_m128i(a, b));
    let (cd_lo, cd_hi) = (unpack_low_i32_m128i(c, d), unpack_high_i32_m128i(c, d));
    bytemuck::cast([
        unpack_low_i64_m128i(ab_lo, cd_lo),
        unpack_high_i64_m128i(ab_lo, cd_lo),
        unpack_low_i64_m128i(ab_hi, cd_hi),
        unpack_high_i64_m128i(ab_hi, cd_hi),
    ])
}

/// [`quant::hidden`] of every `acc[i]` with multiplier `m[i]` into `out[i]`, eight at a time:
/// the requantisation's 64-bit products on `pmuludq`, the clamp from `packssdw`'s
/// saturation, the table's interpolation on `pmaddwd`; only the table lookups are scalar.
pub fn hidden_many(acc: &[i32], m: &[I32Le], out: &mut [i16]) {
    let (acc8, _) = acc.as_chunks::<8>();
    let (m8, _) = m.as_chunks::<8>();
    let (out8, _) = out.as_chunks_mut::<8>();
    for ((a, m), o) in acc8.iter().zip(m8).zip(out8.iter_mut()) {
        let [m0, m1]: [[i32; 4]; 2] = bytemuck::cast(m.map(|w| i32_le(&w)));
        *o = hidden8(a, m0.into(), m1.into());
    }
    let done = acc8.len().min(m8.len()).min(out8.len()) * 8;
    for ((&a, m), o) in acc.iter().zip(m).zip(out.iter_mut()).skip(done) {
        *o = quant::hidden(a, i32_le(m));
    }
}

/// [`quant::hidden`] of eight sums with one multiplier (a row's outputs for a tile of the
/// batch).
pub fn hidden_lanes(acc: &[i32; 8], m: i32) -> [i16; 8] {
    let m = set_splat_i32_m128i(m);
    hidden8(acc, m, m)
}

/// [`quant::hidden`] of eight sums, the multipliers of the first four in `m0`, of the last
/// four in `m1`.
#[inline(always)]
fn hidden8(acc: &[i32; 8], m0: m128i, m1: m128i) -> [i16; 8] {
    let [a0, a1]: [[i32; 4]; 2] = bytemuck::cast(*acc);
    tanh8(pack_i32_to_i16_m128i(requant4(a0.into(), m0), requant4(a1.into(), m1))).into()
}

/// [`quant::requant`] of four lanes (`m` in `[0, 2^31)`). `pmuludq` multiplies unsigned, and
/// a negative `a` read unsigned is `a + 2^32`, which adds `m` to the product's high half: so
/// the high half, less `m` where `a < 0`, is the signed result (mod 2^32, as the cast).
#[inline(always)]
fn requant4(a: m128i, m: m128i) -> m128i {
    let half = set_splat_i64_m128i(1 << 31);
    let even = add_i64_m128i(mul_widen_u32_odd_m128i(a, m), half);
    let odd = add_i64_m128i(mul_widen_u32_odd_m128i(shr_imm_u64_m128i::<32>(a), shr_imm_u64_m128i::<32>(m)), half);
    let high = set_splat_i64_m128i(!0xFFFF_FFFF);
    let hi = bitor_m128i(shr_imm_u64_m128i::<32>(even), bitand_m128i(odd, high));
    sub_i32_m128i(hi, bitand_m128i(shr_imm_i32_m128i::<31>(a), m))
}

/// [`quant::tanh_q15`] of eight i16 lanes.
#[inline(always)]
fn tanh8(t: m128i) -> m128i {
    let u = bitxor_m128i(t, set_splat_i16_m128i(i16::MIN)); // t + 32768 as u16
    let idx: [u16; 8] = shr_imm_u16_m128i::<8>(u).into();
    let frac = bitand_m128i(u, set_splat_i16_m128i(0xff));
    let words: [u32; 8] = idx.map(|i| TANH_Q15.get(usize::from(i)).copied().unwrap_or(0));
    let [w0, w1]: [[u32; 4]; 2] = bytemuck::cast(words);
    let zero = set_splat_i16_m128i(0);
    let half = |w: m128i, f: m128i| {
        // Each i32 lane: base | step << 16 from the table, times 0 | frac << 16.
        let step_frac = mul_i16_horizontal_add_m128i(w, f);
        let base = shr_imm_i32_m128i::<16>(shl_imm_u32_m128i::<16>(w));
        add_i32_m128i(base, shr_imm_i32_m128i::<8>(add_i32_m128i(step_frac, set_splat_i32_m128i(128))))
    };
    pack_i32_to_i16_m128i(
        half(w0.into(), unpack_low_i16_m128i(zero, frac)),
        half(w1.into(), unpack_high_i16_m128i(zero, frac)),
    )
}
