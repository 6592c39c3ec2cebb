//! The integer model's arithmetic: every fixed-point format, the requantisation rule, tanh
//! by table and the softmax's weights. An int8 file is an integer model: from the context ids
//! to the sampled symbol nothing here uses floating point, so the same file, seed and settings
//! give the same bits on every platform by construction (and a Cortex-M0 needs no soft-float).
//!
//! Formats (fixed by format version 3; the exporter folds every real scale into the file's
//! multipliers):
//! - **Activations are `i16`.** The embedding of symbol `v` is row `v` of the int8 table
//!   shifted left by 8 ([`EMBED_SHIFT`]); a hidden activation is tanh in Q15 (`h / 32768`).
//! - **A linear layer** sums `acc_i = b_i + sum_j w_ij x_j` in `i32`, with int8 weights and
//!   `i32` biases; the decoder proves no row can overflow (`|b_i| + 32767 sum_j |w_ij|` fits).
//! - **Requantisation** of a row's sum: `y = (acc * m + 2^31) >> 32` with one multiplier
//!   `0 <= m < 2^31` per row ([`requant`]): the real multiplier is `m / 2^32`, rounded half
//!   up (add half, then shift down). One `SMMULR` on a Cortex-M4.
//! - **A hidden layer** clamps `y` to `i16`: tanh's argument in Q12 (`t / 4096`, so `[-8, 8)`),
//!   then [`tanh_q15`] interpolates [`TANH_Q15`] linearly.
//! - **The last layer's** `y` are the logits in Q12 (`z / 4096` nats), never clamped (`|y| < 2^30`).
//! - **Sampling** (see [`Softmax`]): at temperature `T` the weight of symbol `i` is
//!   `2^23 * 2^(-e)` with `e = (z_max - z_i) * round(2^16 * 16 log2(e) / T) / 2^16` (in Q16,
//!   truncated), from [`EXP2_Q23`] interpolated, floored at 1 (so every symbol keeps a
//!   probability of at least about 2^-31); top-k sets the others to 0; the coin is
//!   `(u32 * sum) >> 32` against the running sum.
//!
//! The integer bigram stores int8 log-probabilities per row with one multiplier each; its
//! logits are `requant(q << 16, m)`.

use crate::tables::{EXP2_Q23, TANH_Q15};

/// The int8 embedding is widened to an `i16` activation as `q << EMBED_SHIFT`, so that every
/// layer's inputs span the `i16` range and its multipliers stay below 1/2.
pub const EMBED_SHIFT: u32 = 8;
/// Fraction bits of tanh's argument (Q12) and of the logits (Q12).
pub const PRE_FRAC_BITS: u32 = 12;
/// Fraction bits of a hidden activation (Q15).
pub const ACT_FRAC_BITS: u32 = 15;
/// The integer bigram's int8 log-probabilities are widened as `q << BIGRAM_SHIFT`.
pub const BIGRAM_SHIFT: u32 = 16;
/// Largest magnitude of any layer input: `i16` activations (tanh saturates at 32767, and an
/// embedding `q << 8` is at most 127 * 256).
pub const X_MAX: i64 = 32767;
/// Largest int8 magnitude (the symmetric scheme never stores -128).
pub const Q_MAX: f32 = 127.0;
/// The weight of the most likely symbol (2^23, so that 256 weights sum below 2^31).
pub const WEIGHT_ONE: u32 = 1 << 23;
/// `log2(e)` in Q30.
pub const LOG2E_Q30: u64 = 1_549_082_005;
/// Highest temperature the samplers accept, in thousandths (100.0).
pub const MAX_TEMPERATURE_MILLI: u32 = 100_000;

/// `(acc * m + 2^31) >> 32`: a row's sum times `m / 2^32`, rounded half up. `m` is
/// non-negative (the decoder checks), so the result is below `2^30` in magnitude.
#[inline(always)]
pub fn requant(acc: i32, m: i32) -> i32 {
    if cfg!(no_long_mul) {
        requant_halves(acc, m)
    } else {
        requant_wide(acc, m)
    }
}

/// [`requant`] with one 64-bit product (what cores with `SMULL` or `MULH` run):
/// `(acc m + 2^31) >> 32`. Off Arm it is written as the product's high word plus the top
/// bit of its low word (the carry the `+ 2^31` makes, the same value), which saves RISC-V
/// the 64-bit addition (171 instructions per symbol of the default model); on the
/// Cortex-M4F that form costs 147 more, so Arm keeps the addition.
#[inline(always)]
pub fn requant_wide(acc: i32, m: i32) -> i32 {
    let p = i64::from(acc) * i64::from(m);
    if cfg!(target_arch = "arm") {
        ((p + (1 << 31)) >> 32) as i32
    } else {
        ((p >> 32) as i32).wrapping_add(((p as u32) >> 31) as i32)
    }
}

/// [`requant`] from four 16 x 16-bit products, for cores without a 64-bit multiply (the
/// Cortex-M0 would call a 64 x 64 multiply routine). Equal to [`requant_wide`] for every
/// `acc` and every `m` in `[0, 2^31)` (tested exhaustively on the halves' corners and at
/// random). With `acc = ah 2^16 + al` (`al` in `[0, 2^16)`), `m = mh 2^16 + ml`:
/// `acc m + 2^31 = ah mh 2^32 + (ah ml + al mh) 2^16 + al ml + 2^31`, so the result is
/// `ah mh + floor((ah ml + e) / 2^16)` with `e = al mh + floor(al ml / 2^16) + 2^15`, and
/// `floor((p + e) / 2^16) = floor((p + e mod 2^16) / 2^16) + floor(e / 2^16)`: every step fits
/// 32 bits.
#[inline(always)]
pub fn requant_halves(acc: i32, m: i32) -> i32 {
    let (ah, al) = (acc >> 16, (acc & 0xffff) as u32);
    let (mh, ml) = ((m as u32) >> 16, (m as u32) & 0xffff);
    // al mh < 2^31, al ml / 2^16 < 2^16: e < 2^32.
    let e = (al * mh).wrapping_add((al * ml) >> 16).wrapping_add(1 << 15);
    // |ah ml| < 2^31 and e mod 2^16 < 2^16: p + (e mod 2^16) fits an i32.
    let p = ah * ml as i32 + (e & 0xffff) as i32;
    (ah * mh as i32).wrapping_add(p >> 16).wrapping_add((e >> 16) as i32)
}

/// tanh of `t / 4096` in Q15: [`TANH_Q15`] interpolated linearly, rounded half up.
///
/// `t` saturates the table at +-8, where tanh is within 2^-22 of +-1.
#[inline(always)]
pub fn tanh_q15(t: i16) -> i16 {
    tanh_offset((i32::from(t) + 32768) as u32)
}

/// [`tanh_q15`] of `u - 32768`, for `u` in `[0, 65535]`.
#[inline(always)]
fn tanh_offset(u: u32) -> i16 {
    let word = TANH_Q15.get((u >> 8) as usize).copied().unwrap_or(0);
    let (base, step) = (i32::from(word as u16 as i16), i32::from((word >> 16) as u16 as i16));
    // |step| <= 2048 and the fraction < 256, so nothing overflows, and the result lies
    // between two table entries: an i16.
    (base + ((step * (u & 0xff) as i32 + 128) >> 8)) as i16
}

/// One hidden unit: requantise the row's sum to tanh's Q12 argument, clamp, tanh in Q15.
#[inline(always)]
pub fn hidden(acc: i32, m: i32) -> i16 {
    let t = requant(acc, m);
    if cfg!(target_arch = "riscv32") {
        // The clamp on the offset argument: one unsigned compare and a branch when `t` is in
        // range (most units), against two signed compares and branches (rv32imc has no
        // saturating instruction and no conditional move). Elsewhere the clamp is one
        // instruction (`SSAT` on the M4F) or two conditional moves (x86-64: 12% faster there).
        let u = (t as u32).wrapping_add(32768);
        let u = match (u > 0xffff, t < 0) {
            (false, _) => u,
            (true, true) => 0,
            (true, false) => 0xffff,
        };
        tanh_offset(u)
    } else {
        tanh_q15(t.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16)
    }
}

/// The integer softmax at one temperature: turns Q12 logits into weights for the sampler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Softmax {
    /// `16 log2(e) * 1000 / t` in Q16: a Q12 logit gap times this, over 2^16, is the weight's
    /// exponent of 1/2 in Q16. Below 2^31 for every `t >= 1`.
    factor: u32,
    /// The smallest gap whose exponent reaches 24 (weight 1): `ceil(24 2^32 / factor)`.
    gap_limit: u32,
}

impl Softmax {
    /// The softmax at temperature `milli / 1000`, for `1 <= milli <=` [`MAX_TEMPERATURE_MILLI`].
    pub const fn new(milli: u32) -> Self {
        let t = if milli == 0 { 1 } else { milli as u64 };
        // LOG2E_Q30 * 16000 / t in Q30, to Q16 (rounded).
        let factor = ((LOG2E_Q30 * 16_000 / t + (1 << 13)) >> 14) as u32;
        let f = if factor == 0 { 1 } else { factor as u64 };
        let limit = (24u64 << 32).div_ceil(f);
        Self { factor, gap_limit: if limit > u32::MAX as u64 { u32::MAX } else { limit as u32 } }
    }

    /// The weight of a symbol whose logit is `gap` below the largest: in `[1, 2^23]`.
    #[inline(always)]
    pub fn weight(&self, gap: u32) -> u32 {
        // Q16 exponent of 1/2: `gap * factor / 2^16`, 2^23 / 2^24 < 1 from 24 on.
        if gap >= self.gap_limit {
            return 1;
        }
        let e = if cfg!(no_long_mul) { self.exponent_halves(gap) } else { self.exponent_wide(gap) };
        self.weight_of_exponent(e)
    }

    /// `floor(gap * factor / 2^16)` with one 64-bit product.
    #[inline(always)]
    pub fn exponent_wide(&self, gap: u32) -> u32 {
        ((u64::from(gap) * u64::from(self.factor)) >> 16) as u32
    }

    /// [`Softmax::exponent_wide`] from 16-bit halves, for cores without a 64-bit multiply:
    /// `gap = gh 2^16 + gl`, `factor = fh 2^16 + fl` give `gh factor + gl fh + floor(gl fl /
    /// 2^16)`, each term at most the result. Exact when `gap < gap_limit` (the result is then
    /// below `24 2^16`), which [`Softmax::weight`] checks first.
    #[inline(always)]
    pub fn exponent_halves(&self, gap: u32) -> u32 {
        let (gh, gl) = (gap >> 16, gap & 0xffff);
        let (fh, fl) = (self.factor >> 16, self.factor & 0xffff);
        (gh.wrapping_mul(self.factor)).wrapping_add(gl * fh).wrapping_add((gl * fl) >> 16)
    }

    #[inline(always)]
    fn weight_of_exponent(&self, e: u32) -> u32 {
        let (n, f) = (e >> 16, e & 0xffff);
        let i = (f >> 10) as usize;
        let (hi, lo) = (EXP2_Q23.get(i).copied().unwrap_or(0), EXP2_Q23.get(i + 1).copied().unwrap_or(0));
        // E[i] - E[i + 1] < 2^17 and the fraction < 2^10: no overflow.
        let mant = hi - (((hi - lo) * (f & 0x3ff) + 512) >> 10);
        (mant >> n).max(1)
    }
}

/// The high half of the 64-bit product `a b`: one `UMULL`, or (cores without a 64-bit
/// multiply) four 16-bit products.
#[inline(always)]
pub fn mul_hi(a: u32, b: u32) -> u32 {
    if cfg!(no_long_mul) {
        mul_hi_halves(a, b)
    } else {
        ((u64::from(a) * u64::from(b)) >> 32) as u32
    }
}

/// [`mul_hi`] from 16-bit halves: the four partial products and the carry out of the middle.
#[inline(always)]
pub fn mul_hi_halves(a: u32, b: u32) -> u32 {
    let (ah, al, bh, bl) = (a >> 16, a & 0xffff, b >> 16, b & 0xffff);
    let (hh, hl, lh, ll) = (ah * bh, ah * bl, al * bh, al * bl);
    // The middle column: (hl mod 2^16) + (lh mod 2^16) + (ll >> 16) < 3 2^16, no overflow.
    let mid = (hl & 0xffff) + (lh & 0xffff) + (ll >> 16);
    hh + (hl >> 16) + (lh >> 16) + (mid >> 16)
}

/// Draws an index from integer `weights` with one random `u32`: the first index whose running
/// sum exceeds `coin * sum / 2^32`. Zero weights are never drawn (unless all are zero: 0).
pub fn sample_weights(weights: &[u32], coin: u32) -> usize {
    let total = weights.iter().fold(0u32, |s, &w| s.wrapping_add(w));
    let target = mul_hi(coin, total);
    let mut cdf = 0u32;
    for (i, &w) in weights.iter().enumerate() {
        cdf = cdf.wrapping_add(w);
        if target < cdf {
            return i;
        }
    }
    0
}

#[cfg(feature = "alloc")]
pub use host::*;

/// Host side: quantising trained f32 weights into the integer model (the trainer's export).
#[cfg(feature = "alloc")]
mod host {
    use super::*;
    use alloc::vec::Vec;

    /// Quantizes one row symmetrically into `out` and returns its scale (0 for an all-zero
    /// row): `scale = max|w| / 127`, `q = round(w / scale)`, half away from zero, so `max|w|`
    /// maps to exactly +-127. `row: [n]`, `out: [n]`.
    pub fn quantize_row(row: &[f32], out: &mut [i8]) -> f32 {
        let max_abs = row.iter().fold(0.0f32, |m, &w| m.max(libm::fabsf(w)));
        let scale = max_abs / Q_MAX;
        for (q, &w) in out.iter_mut().zip(row) {
            *q = if scale > 0.0 { libm::roundf(w / scale).clamp(-Q_MAX, Q_MAX) as i8 } else { 0 };
        }
        scale
    }

    /// The requantisation multiplier `round(real * 2^32)` for a real multiplier in
    /// `[0, 1/2)`; `None` when `real` is out of that range (or not finite).
    pub fn multiplier(real: f64) -> Option<i32> {
        let m = libm::round(real * 4_294_967_296.0);
        (real >= 0.0 && m < 2_147_483_648.0).then_some(m as i32)
    }

    /// One integer linear layer quantized from f32 `w: [n_out, n_in]` (row-major) and
    /// `b: [n_out]`, whose inputs are i16 values of real size `x_scale` each, and whose
    /// outputs are wanted in units of `out_scale`.
    #[derive(Clone, Debug, PartialEq)]
    pub struct QuantLinear {
        /// `[n_out, n_in]` row-major int8 weights (the encoder reorders them).
        pub w: Vec<i8>,
        /// `[n_out]` biases in accumulator units (`x_scale * row scale`).
        pub b: Vec<i32>,
        /// `[n_out]` requantisation multipliers.
        pub m: Vec<i32>,
        /// Largest `|w - dequant(q(w))|`, for the export report.
        pub max_error: f32,
    }

    /// Why a layer cannot be represented by the integer model.
    #[derive(Clone, Copy, Debug, PartialEq)]
    pub enum QuantError {
        /// Row `row`'s multiplier `x_scale * row scale / out_scale` is not in `[0, 1/2)`.
        Multiplier {
            /// The row.
            row: usize,
            /// Its multiplier as a real number.
            real: f64,
        },
        /// Row `row`'s bias does not fit the accumulator next to its weights.
        Bias {
            /// The row.
            row: usize,
        },
    }

    /// Quantizes one linear layer (see [`QuantLinear`]). Weight rows are int8 per row
    /// (`scale = max|row| / 127`); an all-zero row gets scale 1 so its bias survives.
    pub fn quantize_linear(
        w: &[f32],
        b: &[f32],
        n_in: usize,
        x_scale: f64,
        out_scale: f64,
    ) -> Result<QuantLinear, QuantError> {
        let n_out = b.len();
        let mut q = alloc::vec![0i8; n_out * n_in];
        let (mut bq, mut mq) = (Vec::with_capacity(n_out), Vec::with_capacity(n_out));
        let mut max_error = 0.0f32;
        for (row, ((w_row, q_row), &bias)) in
            w.chunks_exact(n_in.max(1)).zip(q.chunks_exact_mut(n_in.max(1))).zip(b).enumerate()
        {
            let mut scale = quantize_row(w_row, q_row);
            if scale == 0.0 {
                scale = 1.0;
            }
            for (&wv, &qv) in w_row.iter().zip(q_row.iter()) {
                max_error = max_error.max(libm::fabsf(wv - f32::from(qv) * scale));
            }
            let acc_scale = x_scale * f64::from(scale);
            let bias_q = libm::round(f64::from(bias) / acc_scale);
            let l1: i64 = q_row.iter().map(|&v| i64::from(v).abs()).sum();
            if bias_q.is_nan() || bias_q.abs() + (l1 * X_MAX) as f64 > f64::from(i32::MAX) {
                return Err(QuantError::Bias { row });
            }
            bq.push(bias_q as i32);
            let real = acc_scale / out_scale;
            mq.push(multiplier(real).ok_or(QuantError::Multiplier { row, real })?);
        }
        if n_in == 0 {
            // No weights: only the bias, in accumulator units of scale 1.
            max_error = 0.0;
        }
        Ok(QuantLinear { w: q, b: bq, m: mq, max_error })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requant_rounds_half_up() {
        let quarter = 1 << 30; // m / 2^32 = 1/4
        assert_eq!(requant(6, quarter), 2); // 1.5 -> 2
        assert_eq!(requant(-6, quarter), -1); // -1.5 -> -1
        assert_eq!(requant(5, quarter), 1); // 1.25 -> 1
        assert_eq!(
            requant(i32::MAX, i32::MAX),
            (((i64::from(i32::MAX) * i64::from(i32::MAX)) + (1 << 31)) >> 32) as i32
        );
        assert_eq!(requant(i32::MIN, i32::MAX), -1073741823);
    }

    #[test]
    fn tanh_q15_follows_tanh() {
        for t in i16::MIN..=i16::MAX {
            let want = libm::tanh(f64::from(t) / 4096.0) * 32768.0;
            let got = f64::from(tanh_q15(t));
            // Linear interpolation over steps of 1/16: |error| <= (1/16)^2 / 8 * max|tanh''|
            // (0.77) in Q15 = 12.3, plus the table's rounding.
            assert!((got - want).abs() <= 13.0, "t {t}: {got} vs {want}");
        }
        assert_eq!(tanh_q15(0), 0);
        assert_eq!(tanh_q15(i16::MAX), 32767);
        assert_eq!(tanh_q15(i16::MIN), -32767);
    }

    #[test]
    fn softmax_weights_follow_exp() {
        for milli in [1, 500, 1000, 1500, MAX_TEMPERATURE_MILLI] {
            let s = Softmax::new(milli);
            let t = f64::from(milli) / 1000.0;
            for gap in (0..200_000u32).step_by(37).chain([u32::MAX, 1 << 30]) {
                let want = (f64::from(WEIGHT_ONE) * libm::exp(-f64::from(gap) / 4096.0 / t)).max(1.0);
                let got = f64::from(s.weight(gap));
                // Relative error of the table interpolation (< 2e-5) plus one unit of the
                // truncation to an integer.
                assert!((got - want).abs() <= want * 3e-5 + 1.0, "T {t} gap {gap}: {got} vs {want}");
            }
            assert_eq!(s.weight(0), WEIGHT_ONE);
        }
    }

    #[test]
    fn sample_weights_follows_the_running_sum() {
        let w = [0, 3, 0, 1];
        assert_eq!(sample_weights(&w, 0), 1);
        assert_eq!(sample_weights(&w, u32::MAX), 3);
        // coin * 4 / 2^32 < 3 <=> coin < 3 * 2^30
        assert_eq!(sample_weights(&w, 3 << 30), 3);
        assert_eq!(sample_weights(&w, (3 << 30) - 1), 1);
        assert_eq!(sample_weights(&[0, 0], 7), 0);
    }
}
