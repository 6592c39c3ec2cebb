//! The Cortex-M0/M0+ (Thumb-1, ARMv6-M) inner loop of the integer kernels in assembly, and
//! its safe reference.
//!
//! LLVM's Thumb-1 register allocator keeps a quad's four sums on the stack: 7 instructions
//! per multiply-accumulate (a load and a store of the sum around each). Thumb-1 has 8 low
//! registers that `MULS` and the loads can use, but `ADD` reaches the high ones (r8-r12), so
//! here the sums live in r8-r11 and the loop is 70 instructions per 16 multiply-accumulates
//! (4.4): per weight word one `LDR`, the four bytes sign-extended by `SXTB` or a shift pair
//! (`ASRS #24` alone for the top one), `MULS`, `ADD`; per activation word one `LDR`, `SXTH`
//! and `ASRS`; two column pairs per pass, so the pointer bumps and the branch cost 4 per 16.
//!
//! On other targets [`quad_pairs`] is the reference, so the code that calls it runs (and is
//! tested) everywhere; the tests check assembly == reference under QEMU on the M0.
#![allow(unsafe_code)]

use super::dsp::quad_step_ref;

/// Four rows' sums over whole column pairs, from 0: `x` holds the activations as words (two
/// i16 per column pair, the first in the low half) and `w` the quad's weights, two words per
/// column pair (`[a0 b0 a1 b1]` for rows 0-1, `[c0 d0 c1 d1]` for rows 2-3: the row-quad
/// layout). Wrapping `i32` arithmetic; pairs past the shorter input are not read.
#[inline(always)]
pub fn quad_pairs_ref(x: &[u32], w: &[u32], acc: [i32; 4]) -> [i32; 4] {
    let (w, _) = w.as_chunks::<2>();
    x.iter().zip(w).fold(acc, |acc, (&x, &[p, q])| quad_step_ref(p, q, x, acc))
}

/// One column pair of [`quad_pairs`]' loop: the activation word at `[r0 + $x]` split into
/// `x0` (r4) and `x1` (r3), then the weight words at `[r1 + $p]` (rows 0-1, sums r8, r9) and
/// `[r1 + $q]` (rows 2-3, sums r10, r11). 33 instructions for 8 multiply-accumulates.
#[cfg(arm_thumb1)]
macro_rules! column_pair {
    ($x:literal, $p:literal, $q:literal) => {
        concat!(
            "ldr r3, [r0, #",
            $x,
            "]\n",
            "sxth r4, r3\n",
            "asrs r3, r3, #16\n",
            weight_word!($p, "r8", "r9"),
            weight_word!($q, "r10", "r11"),
        )
    };
}

/// One weight word `[lo0 hi0 lo1 hi1]` at `[r1 + $at]`: `$lo += lo0 * x0 + lo1 * x1` and
/// `$hi += hi0 * x0 + hi1 * x1`, each byte sign-extended in r5 (x0 in r4, x1 in r3).
#[cfg(arm_thumb1)]
macro_rules! weight_word {
    ($at:literal, $lo:literal, $hi:literal) => {
        concat!(
            "ldr r2, [r1, #",
            $at,
            "]\n",
            "sxtb r5, r2\n",
            "muls r5, r4, r5\n",
            "add ",
            $lo,
            ", r5\n",
            "lsls r5, r2, #16\n",
            "asrs r5, r5, #24\n",
            "muls r5, r4, r5\n",
            "add ",
            $hi,
            ", r5\n",
            "lsls r5, r2, #8\n",
            "asrs r5, r5, #24\n",
            "muls r5, r3, r5\n",
            "add ",
            $lo,
            ", r5\n",
            "asrs r5, r2, #24\n",
            "muls r5, r3, r5\n",
            "add ",
            $hi,
            ", r5\n",
        )
    };
}

/// [`quad_pairs_ref`] with the loop in Thumb-1 assembly: two column pairs per pass, and a last
/// odd pair by the reference.
#[cfg(arm_thumb1)]
pub fn quad_pairs(x: &[u32], w: &[u32], acc: [i32; 4]) -> [i32; 4] {
    let n = x.len().min(w.len() / 2);
    let (x, x_odd) = x.split_at(n / 2 * 2);
    let (w, w_odd) = w.split_at(n / 2 * 4);
    let acc = match x.as_ptr_range() {
        _ if x.is_empty() => acc,
        range => {
            let (s0, s1, s2, s3): (i32, i32, i32, i32);
            // SAFETY: the loop reads `x` (from `range.start` up to `range.end`, a word per
            // column pair) and `w` (four words per pass, `w.len() == 2 * x.len()` by the splits
            // above), both in bounds and aligned (they are `&[u32]`), and nothing else; it
            // writes no memory and no stack. `x` is not empty, so the `bne` loop that steps
            // `r0` by 8 from `range.start` meets `range.end` (an even number of words later).
            // Every register it changes is an operand or a declared clobber (r8-r12: Thumb-1
            // allows high registers only as clobbers), and it changes the flags (no
            // `preserves_flags`). Every instruction is ARMv6-M.
            unsafe {
                core::arch::asm!(
                    "movs r3, #0",
                    "mov r8, r3",
                    "mov r9, r3",
                    "mov r10, r3",
                    "mov r11, r3",
                    "mov r12, r2",
                    "2:",
                    column_pair!("0", "0", "4"),
                    column_pair!("4", "8", "12"),
                    "adds r0, #8",
                    "adds r1, #16",
                    "cmp r0, r12",
                    "bne 2b",
                    "mov r2, r8",
                    "mov r3, r9",
                    "mov r4, r10",
                    "mov r5, r11",
                    inout("r0") range.start => _,
                    inout("r1") w.as_ptr() => _,
                    inout("r2") range.end => s0,
                    out("r3") s1,
                    out("r4") s2,
                    out("r5") s3,
                    out("r8") _,
                    out("r9") _,
                    out("r10") _,
                    out("r11") _,
                    out("r12") _,
                    options(nostack, readonly),
                );
            }
            let [a0, a1, a2, a3] = acc;
            [a0.wrapping_add(s0), a1.wrapping_add(s1), a2.wrapping_add(s2), a3.wrapping_add(s3)]
        }
    };
    quad_pairs_ref(x_odd, w_odd, acc)
}

#[cfg(not(arm_thumb1))]
pub use quad_pairs_ref as quad_pairs;
