//! Architecture-specific code: the Cortex-M DSP instructions, the Cortex-M0's kernel loop in
//! Thumb-1 assembly, RISC-V's in rv32im assembly, and which integer kernel each build runs.
//! Everything here equals a portable reference bit for bit (tested on the host, and under
//! QEMU on the M4F, the M0 and RISC-V).

#[cfg(target_arch = "x86_64")]
pub mod avx2;
pub mod dsp;
pub mod riscv;
pub mod thumb1;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub mod wasm;
#[cfg(target_arch = "x86_64")]
pub mod x86;

use crate::int_kernels::{self, Epilogue};
use crate::tensor::I32Le;

/// The integer linear layer this build runs: [`int_kernels::linear_dsp`] on cores with the
/// DSP extension (SMLAD) and on the Cortex-M0 (its quads in Thumb-1 assembly,
/// [`thumb1::quad_pairs`]), [`int_kernels::linear_octets`] (eight rows at a time, their
/// column pairs in rv32im assembly, [`riscv::octet_pairs`]) on RISC-V,
/// [`int_kernels::linear_quads`] (plain integer loops, four rows at a time) elsewhere. All
/// give exactly the sums of [`int_kernels::linear_ref`].
#[inline(always)]
pub fn linear<E: Epilogue>(x: &[i16], w: &[i8], b: &[I32Le], m: &[I32Le], out: &mut [E::Out]) {
    if cfg!(arm_dsp) || cfg!(arm_thumb1) {
        int_kernels::linear_dsp::<E>(x, w, b, m, out);
    } else if cfg!(target_arch = "riscv32") {
        int_kernels::linear_octets::<E>(x, w, b, m, out);
    } else {
        int_kernels::linear_quads::<E>(x, w, b, m, out);
    }
}

/// The batched integer layer this build runs: SSE2 `pmaddwd` on x86-64, SIMD128's
/// `i32x4.dot_i16x8_s` on WebAssembly with SIMD, the portable loops elsewhere; all give
/// exactly the sums of [`int_kernels::linear_batch`].
#[inline(always)]
pub fn linear_batch(
    x_t: &[i16],
    stride: usize,
    w: &[i8],
    n_in: usize,
    b: &[I32Le],
    emit: impl FnMut(usize, usize, &[[i32; int_kernels::LANES]]),
) {
    #[cfg(target_arch = "x86_64")]
    x86::linear_batch(x_t, stride, w, n_in, b, emit);
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    wasm::linear_batch(x_t, stride, w, n_in, b, emit);
    #[cfg(not(any(target_arch = "x86_64", all(target_arch = "wasm32", target_feature = "simd128"))))]
    int_kernels::linear_batch(x_t, stride, w, n_in, b, emit);
}

/// [`crate::quant::hidden`] of every `acc[i]` with multiplier `m[i]` into `out[i]`: eight at a
/// time on SSE2 (x86-64) and SIMD128 (WebAssembly), one at a time elsewhere; the same values
/// either way.
#[inline(always)]
pub fn hidden_many(acc: &[i32], m: &[I32Le], out: &mut [i16]) {
    #[cfg(target_arch = "x86_64")]
    x86::hidden_many(acc, m, out);
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    wasm::hidden_many(acc, m, out);
    #[cfg(not(any(target_arch = "x86_64", all(target_arch = "wasm32", target_feature = "simd128"))))]
    for ((&a, m), o) in acc.iter().zip(m).zip(out.iter_mut()) {
        *o = crate::quant::hidden(a, crate::tensor::i32_le(m));
    }
}

/// [`crate::quant::hidden`] of a tile's sums for one row (one multiplier `m`): SSE2 on
/// x86-64, SIMD128 on WebAssembly, one at a time elsewhere; the same values either way.
#[inline(always)]
pub fn hidden_lanes(acc: &[i32; int_kernels::LANES], m: i32) -> [i16; int_kernels::LANES] {
    #[cfg(target_arch = "x86_64")]
    return x86::hidden_lanes(acc, m);
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    return wasm::hidden_lanes(acc, m);
    #[cfg(not(any(target_arch = "x86_64", all(target_arch = "wasm32", target_feature = "simd128"))))]
    acc.map(|a| crate::quant::hidden(a, m))
}

/// Four rows of a tile's units as each lane's four: `out[l][r] = rows[r][l]` (SSE2 shuffles
/// on x86-64, plain moves elsewhere).
#[inline(always)]
pub fn transpose_quad(rows: [[i16; int_kernels::LANES]; 4]) -> [[i16; 4]; int_kernels::LANES] {
    #[cfg(target_arch = "x86_64")]
    return x86::transpose_quad(rows);
    #[cfg(not(target_arch = "x86_64"))]
    core::array::from_fn(|l| rows.map(|r| r.get(l).copied().unwrap_or(0)))
}

/// `out[i][j] = rows[j][i]` for a 4 x 4 block of words (SSE2 shuffles on x86-64, plain moves
/// elsewhere): four names' inputs into the batch's pair-major rows.
#[inline(always)]
pub fn transpose4(rows: [[u32; 4]; 4]) -> [[u32; 4]; 4] {
    #[cfg(target_arch = "x86_64")]
    return x86::transpose4(rows);
    #[cfg(not(target_arch = "x86_64"))]
    core::array::from_fn(|i| rows.map(|r| r.get(i).copied().unwrap_or(0)))
}
