//! The Cortex-M4/M7 DSP instructions the integer kernels use, one `asm!` each, and their safe
//! references. On cores with the DSP extension (`cfg(arm_dsp)`, set by `build.rs` for
//! thumbv7em) the functions are the instructions; elsewhere they are the references, so the
//! kernels built on them run (and are tested) on every target. The tests check instruction
//! == reference bit for bit on the host (trivially) and under QEMU on the M4F.
//!
//! This is the only module of the crate with `unsafe`: `asm!` is unsafe by definition, and
//! these blocks only read registers and write one register.
#![allow(unsafe_code)]

/// `acc + x.lo * y.lo + x.hi * y.hi`, the halves signed 16-bit, wrapping: SMLAD's result (it
/// also sets the Q flag on overflow, which nothing reads).
#[inline(always)]
pub const fn smlad_ref(x: u32, y: u32, acc: i32) -> i32 {
    let lo = (x as i16 as i32).wrapping_mul(y as i16 as i32);
    let hi = ((x >> 16) as i16 as i32).wrapping_mul((y >> 16) as i16 as i32);
    acc.wrapping_add(lo).wrapping_add(hi)
}

/// Bytes 0 and 2 of `x` sign-extended into the low and high halfwords: SXTB16.
#[inline(always)]
pub const fn sxtb16_ref(x: u32) -> u32 {
    let lo = x as u8 as i8 as i16 as u16 as u32;
    let hi = (x >> 16) as u8 as i8 as i16 as u16 as u32;
    lo | (hi << 16)
}

/// Bytes 1 and 3 of `x` sign-extended into the low and high halfwords: SXTB16 with ROR #8.
#[inline(always)]
pub const fn sxtb16_ror8_ref(x: u32) -> u32 {
    sxtb16_ref(x.rotate_right(8))
}

/// [`smlad_ref`] as one SMLAD instruction.
#[cfg(arm_dsp)]
#[inline(always)]
pub fn smlad(x: u32, y: u32, acc: i32) -> i32 {
    let r: i32;
    // SAFETY: SMLAD reads three registers and writes one; no memory, stack or flags are
    // touched that the compiler relies on (the Q flag is never read), and it exists on every
    // core this cfg selects (ARMv7E-M).
    unsafe {
        core::arch::asm!("smlad {r}, {x}, {y}, {a}", r = lateout(reg) r, x = in(reg) x, y = in(reg) y,
            a = in(reg) acc, options(pure, nomem, nostack, preserves_flags));
    }
    r
}

/// [`sxtb16_ref`] as one SXTB16 instruction.
#[cfg(arm_dsp)]
#[inline(always)]
pub fn sxtb16(x: u32) -> u32 {
    let r: u32;
    // SAFETY: SXTB16 reads one register and writes one; no memory, stack or flags; ARMv7E-M.
    unsafe {
        core::arch::asm!("sxtb16 {r}, {x}", r = lateout(reg) r, x = in(reg) x,
            options(pure, nomem, nostack, preserves_flags));
    }
    r
}

/// [`sxtb16_ror8_ref`] as one SXTB16 instruction with its free rotation.
#[cfg(arm_dsp)]
#[inline(always)]
pub fn sxtb16_ror8(x: u32) -> u32 {
    let r: u32;
    // SAFETY: as `sxtb16`: one register in, one out, no memory, stack or flags; ARMv7E-M.
    unsafe {
        core::arch::asm!("sxtb16 {r}, {x}, ror #8", r = lateout(reg) r, x = in(reg) x,
            options(pure, nomem, nostack, preserves_flags));
    }
    r
}

/// One step of four rows over one column pair: `acc[r] += w_r(2c) x(2c) + w_r(2c+1) x(2c+1)`,
/// where word `p` holds the pairs of rows 0 and 1 interleaved bytewise (`[a0, b0, a1, b1]`),
/// `q` those of rows 2 and 3, and `x` the two i16 inputs. SXTB16 and SMLAD four times each.
#[inline(always)]
pub fn quad_step_ref(p: u32, q: u32, x: u32, acc: [i32; 4]) -> [i32; 4] {
    let [a0, a1, a2, a3] = acc;
    [
        smlad_ref(sxtb16_ref(p), x, a0),
        smlad_ref(sxtb16_ror8_ref(p), x, a1),
        smlad_ref(sxtb16_ref(q), x, a2),
        smlad_ref(sxtb16_ror8_ref(q), x, a3),
    ]
}

/// [`quad_step_ref`] as eight instructions. The block is not marked `nomem`, so the compiler
/// keeps memory accesses on their side of it: the next step's loads are not hoisted above
/// this one, which keeps the loop within the core's registers (with the loads hoisted, the
/// kernel spilled to the stack, 26-28 instructions per two steps instead of 21).
#[cfg(arm_dsp)]
#[inline(always)]
pub fn quad_step(p: u32, q: u32, x: u32, acc: [i32; 4]) -> [i32; 4] {
    // The sums travel by value, in registers: were they behind a reference, the compiler
    // would store them to memory around every block.
    let [mut a0, mut a1, mut a2, mut a3] = acc;
    // SAFETY: SXTB16 and SMLAD only, on registers: no memory is read or written, the stack is
    // not touched, the flags are not changed (SMLAD's Q flag is sticky and never read), and
    // every instruction exists on the cores this cfg selects (ARMv7E-M).
    unsafe {
        core::arch::asm!(
            "sxtb16 {t}, {p}",
            "smlad {a0}, {t}, {x}, {a0}",
            "sxtb16 {t}, {p}, ror #8",
            "smlad {a1}, {t}, {x}, {a1}",
            "sxtb16 {t}, {q}",
            "smlad {a2}, {t}, {x}, {a2}",
            "sxtb16 {t}, {q}, ror #8",
            "smlad {a3}, {t}, {x}, {a3}",
            p = in(reg) p, q = in(reg) q, x = in(reg) x, t = out(reg) _,
            a0 = inout(reg) a0, a1 = inout(reg) a1, a2 = inout(reg) a2, a3 = inout(reg) a3,
            options(nostack, preserves_flags),
        );
    }
    [a0, a1, a2, a3]
}

#[cfg(not(arm_dsp))]
pub use {quad_step_ref as quad_step, smlad_ref as smlad, sxtb16_ref as sxtb16, sxtb16_ror8_ref as sxtb16_ror8};
