//! `libm::tanhf` and `libm::expf`, bit for bit, over many values at once.
//!
//! libm's functions branch on the argument's range, which keeps the compiler from running
//! them over several values per instruction. Here each function is rewritten as straight-line
//! code: every lane computes the argument reduction and the polynomial of its range with the
//! very same operations, in the same order, as libm (musl's `tanhf`/`expm1f`/`expf`, which
//! libm ports), and selects pick each lane's result. Rust never fuses a multiply and an add,
//! so the lanes round exactly as libm does. The few arguments outside the common range (NaN,
//! infinities, subnormals, `|x| > 10` for tanh, `|x| >= 87.3` for exp) are handed to libm
//! itself afterwards. The tests compare with libm on every f32 bit pattern.
//!
//! Hand-rolled because no `no_std`, `unsafe`-free crate reproduces libm's bits in SIMD form:
//! bit-identical results are what keep names the same on every platform.

/// Values computed together; a multiple of every vector width up to AVX-512.
const LANES: usize = 16;

// expm1f's constants (FreeBSD s_expm1f.c, as in libm), by their bits.
const EXPM1_LN2_HI: f32 = f32::from_bits(0x3f31_7180);
const EXPM1_LN2_LO: f32 = f32::from_bits(0x3717_f7d1);
const INV_LN2: f32 = f32::from_bits(0x3fb8_aa3b);
const Q1: f32 = f32::from_bits(0xbd08_8868);
const Q2: f32 = f32::from_bits(0x3acf_3010);

// expf's constants (FreeBSD e_expf.c, as in libm).
const EXP_LN2_HI: f32 = f32::from_bits(0x3f31_7200);
const EXP_LN2_LO: f32 = f32::from_bits(0x35bf_be8e);
const P1: f32 = f32::from_bits(0x3e2a_aa8f);
const P2: f32 = f32::from_bits(0xbb35_5215);

/// `2^k` for `-126 <= k <= 127`; other `k` give garbage, never a panic.
#[inline(always)]
fn pow2(k: i32) -> f32 {
    f32::from_bits((0x7f_i32.wrapping_add(k) as u32).wrapping_shl(23))
}

/// `v as i32` (truncation) for `|v| < 2^22`, as an integer-valued f32 and as an i32: the
/// saturating `as` does not vectorise, this does. Larger `|v|` give garbage, never a panic.
#[inline(always)]
fn trunc_small(v: f32) -> (f32, i32) {
    let a = f32::from_bits(v.to_bits() & 0x7fff_ffff);
    let r = (a + 8_388_608.0) - 8_388_608.0; // a rounded to the nearest integer (ulp 1 at 2^23)
    let r = if r > a { r - 1.0 } else { r };
    let kf = if v.to_bits() >> 31 != 0 { -r } else { r };
    // 1.5 * 2^23 + k keeps the exponent of 2^23 for |k| < 2^22: its low bits are k.
    let k = (kf + 12_582_912.0).to_bits().wrapping_sub(0x4b40_0000) as i32;
    (kf, k)
}

/// True where [`tanh_common`] differs from `libm::tanhf`: subnormals and zeros, `|x| > 10`,
/// infinities and NaN.
#[inline(always)]
fn tanh_is_rare(x: f32) -> bool {
    let w = x.to_bits() & 0x7fff_ffff;
    !(0x0080_0000..=0x4120_0000).contains(&w)
}

/// `libm::tanhf(x)` for normal `|x| <= 10`, without branches.
#[inline(always)]
fn tanh_common(x: f32) -> f32 {
    let ix = x.to_bits();
    let w = ix & 0x7fff_ffff;
    let a = f32::from_bits(w);
    // tanhf: |x| > log(5/3)/2 uses expm1f(2|x|), smaller |x| uses expm1f(-2|x|).
    let small = w <= 0x3e82_c578;
    let u = if small { -2.0 * a } else { 2.0 * a };
    let t = expm1_common(u);
    // libm: 1 - 2 / (t + 2) above log(3)/2, else t / (t + 2), negated for the small range
    // (`-t / (t + 2)`: negating first or last rounds the same). One division serves all three.
    let large = w > 0x3f0c_9f54;
    let q = if large { 2.0 } else { t } / (t + 2.0);
    let tt = if large {
        1.0 - q
    } else if small {
        -q
    } else {
        q
    };
    if ix >> 31 != 0 {
        -tt
    } else {
        tt
    }
}

/// `libm::expm1f(u)` for `-0.52 < u <= 20` (what tanh passes), without branches.
#[inline(always)]
fn expm1_common(u: f32) -> f32 {
    let hx = u.to_bits() & 0x7fff_ffff;
    let negative = u.to_bits() >> 31 != 0;
    // Argument reduction: k = 0 below 0.5 ln2, +-1 below 1.5 ln2, else rounded u / ln2.
    let (_, rounded) = trunc_small(INV_LN2 * u + if negative { -0.5 } else { 0.5 });
    let k = if hx <= 0x3eb1_7218 {
        0
    } else if hx < 0x3f85_1592 {
        if negative {
            -1
        } else {
            1
        }
    } else {
        rounded
    };
    // libm writes hi = x -+ LN2_HI and lo = +-LN2_LO for k = +-1; k * LN2_HI rounds the same.
    let kf = k as f32;
    let hi = u - kf * EXPM1_LN2_HI;
    let lo = kf * EXPM1_LN2_LO;
    let x = hi - lo;
    let c = (hi - x) - lo; // 0 when k = 0, as libm's
    let hfx = 0.5 * x;
    let hxs = x * hfx;
    let r1 = 1.0 + hxs * (Q1 + hxs * Q2);
    let t = 3.0 - r1 * hfx;
    let e = hxs * ((r1 - t) / (6.0 - x * t));
    let k0 = x - (x * e - hxs);
    let e = x * (e - c) - c;
    let e = e - hxs;
    let km1 = 0.5 * (x - e) - 0.5;
    let k1 = if x < -0.25 { -2.0 * (e - (x + 0.5)) } else { 1.0 + 2.0 * (x - e) };
    let twopk = pow2(k);
    let uf = pow2(k.wrapping_neg());
    let big = if k < 23 { (x - e + (1.0 - uf)) * twopk } else { (x - (e + uf) + 1.0) * twopk };
    let y = match k {
        0 => k0,
        -1 => km1,
        1 => k1,
        _ => big,
    };
    // |u| < 2^-25: expm1f returns u itself.
    if hx < 0x3300_0000 {
        u
    } else {
        y
    }
}

/// True where [`exp_common`] differs from `libm::expf`: `|x| >= 87.34` (overflow,
/// underflow to subnormals or zero), infinities and NaN.
#[inline(always)]
fn exp_is_rare(x: f32) -> bool {
    x.to_bits() & 0x7fff_ffff >= 0x42ae_ac50
}

/// `libm::expf(x)` for `|x| < 87.34`, without branches.
#[inline(always)]
fn exp_common(x: f32) -> f32 {
    let hx = x.to_bits() & 0x7fff_ffff;
    let negative = x.to_bits() >> 31 != 0;
    let (_, rounded) = trunc_small(INV_LN2 * x + if negative { -0.5 } else { 0.5 });
    let k = if hx > 0x3f85_1592 {
        rounded
    } else if negative {
        -1
    } else {
        1
    };
    let reduce = hx > 0x3eb1_7218;
    let k = if reduce { k } else { 0 };
    let kf = k as f32;
    // k = 0: libm takes hi = x, lo = 0 and leaves x alone; these steps are then exact.
    let hi = if reduce { x - kf * EXP_LN2_HI } else { x };
    let lo = if reduce { kf * EXP_LN2_LO } else { 0.0 };
    let r = if reduce { hi - lo } else { x };
    let xx = r * r;
    let c = r - xx * (P1 + xx * P2);
    let y = 1.0 + (r * c / (2.0 - c) - lo + hi);
    // scalbnf(y, k) is one multiply by 2^k while -126 <= k <= 127, as here for |x| < 87.34
    // (y lies in [0.5, 2], so the product is normal; libm's scalbnf steps only matter beyond).
    let scaled = y * pow2(k);
    if hx > 0x3900_0000 {
        if k == 0 {
            y
        } else {
            scaled
        }
    } else {
        1.0 + x // |x| <= 2^-14
    }
}

/// Applies `common` to every value, 16 at a time, then lets `exact` redo the rare ones.
fn map(
    x: &mut [f32],
    common: impl Fn(f32) -> f32 + Copy,
    rare: impl Fn(f32) -> bool + Copy,
    exact: impl Fn(f32) -> f32 + Copy,
) {
    let mut chunks = x.chunks_exact_mut(LANES);
    for chunk in &mut chunks {
        let mut out = [0.0f32; LANES];
        let mut any_rare = false;
        for (o, &v) in out.iter_mut().zip(chunk.iter()) {
            *o = common(v);
            any_rare |= rare(v);
        }
        if any_rare {
            for (o, &v) in out.iter_mut().zip(chunk.iter()) {
                if rare(v) {
                    *o = exact(v);
                }
            }
        }
        chunk.copy_from_slice(&out);
    }
    // The last values go through the same lanes, padded with zeros.
    let rest = chunks.into_remainder();
    if !rest.is_empty() {
        let mut padded = [0.0f32; LANES];
        for (p, v) in padded.iter_mut().zip(rest.iter()) {
            *p = *v;
        }
        map(&mut padded, common, rare, exact);
        for (v, p) in rest.iter_mut().zip(padded) {
            *v = p;
        }
    }
}

/// `x[i] = libm::tanhf(x[i])`, the same bits, several values per instruction.
pub fn tanh(x: &mut [f32]) {
    map(x, tanh_common, tanh_is_rare, libm::tanhf);
}

/// `x[i] = libm::expf(x[i])`, the same bits, several values per instruction.
pub fn exp(x: &mut [f32]) {
    map(x, exp_common, exp_is_rare, libm::expf);
}
