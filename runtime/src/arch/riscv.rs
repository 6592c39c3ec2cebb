//! The RISC-V (`riscv32imc`) inner loop of the integer kernels in assembly, and its safe
//! reference.
//!
//! rv32imc has no packed multiply: a multiply-accumulate is at least `lb`, `mul` and `add`
//! (a weight word would cost two shifts per byte to sign-extend). Eight rows (two quads) per
//! pass share each activation's load, and two column pairs per pass share the pointer bumps
//! and the branch: 104 instructions for 32 multiply-accumulates (3.25). Written in Rust, the
//! same loop does worse: LLVM schedules all sixteen weight loads of a pass ahead of their
//! multiplies, runs out of registers and spills sums to the stack (3.9 per multiply-accumulate,
//! more than the 3.6 of one quad at a time).
//!
//! On other targets [`octet_pairs`] is the reference, so the code that calls it runs (and is
//! tested) everywhere; the tests check assembly == reference under QEMU on RISC-V.
#![allow(unsafe_code)]

/// Eight rows' sums over whole column pairs, from `acc`: `x` holds the activations, `p` the
/// first quad's weights (rows 0-3) and `q` the second's (rows 4-7), each 8 bytes per column
/// pair in the row-quad layout (`[a0 b0 a1 b1 c0 d0 c1 d1]`: rows a-d, the pair's columns 0
/// and 1). Wrapping `i32` arithmetic; pairs past the shortest input are not read.
#[inline(always)]
pub fn octet_pairs_ref(x: &[i16], p: &[i8], q: &[i8], acc: [i32; 8]) -> [i32; 8] {
    let (x, _) = x.as_chunks::<2>();
    let (p, _) = p.as_chunks::<8>();
    let (q, _) = q.as_chunks::<8>();
    let mac = |acc: i32, w0: i8, x0: i16, w1: i8, x1: i16| {
        acc.wrapping_add(i32::from(w0) * i32::from(x0)).wrapping_add(i32::from(w1) * i32::from(x1))
    };
    x.iter().zip(p).zip(q).fold(acc, |[a, b, c, d, e, f, g, h], ((&[x0, x1], p), q)| {
        [
            mac(a, p[0], x0, p[2], x1),
            mac(b, p[1], x0, p[3], x1),
            mac(c, p[4], x0, p[6], x1),
            mac(d, p[5], x0, p[7], x1),
            mac(e, q[0], x0, q[2], x1),
            mac(f, q[1], x0, q[3], x1),
            mac(g, q[4], x0, q[6], x1),
            mac(h, q[5], x0, q[7], x1),
        ]
    })
}

/// One row's two multiply-accumulates of a column pair: the weights at `$w + $o0` and
/// `$w + $o1` (the pair's columns) times the activations in `x0`, `x1`, added to `$acc`.
/// Both loads come first and each product is added an instruction after its multiply, for
/// in-order pipelines.
#[cfg(target_arch = "riscv32")]
macro_rules! row {
    ($w:literal, $acc:literal, $o0:literal, $o1:literal) => {
        concat!(
            "lb {t0}, ",
            $o0,
            "({",
            $w,
            "})\n",
            "lb {t1}, ",
            $o1,
            "({",
            $w,
            "})\n",
            "mul {t0}, {t0}, {x0}\n",
            "mul {t1}, {t1}, {x1}\n",
            "add {",
            $acc,
            "}, {",
            $acc,
            "}, {t0}\n",
            "add {",
            $acc,
            "}, {",
            $acc,
            "}, {t1}\n",
        )
    };
}

/// One column pair for the eight rows: its activations at `xp + $x` and `xp + $x1` into `x0`,
/// `x1`, its weights at `p + $o..` (rows 0-3) and `q + $o..` (rows 4-7), the offsets of each
/// row's two bytes given: 50 instructions for 16 multiply-accumulates.
#[cfg(target_arch = "riscv32")]
macro_rules! column_pair {
    ($x:literal, $x1:literal, [$($o0:literal $o1:literal),*]) => {
        concat!(
            "lh {x0}, ", $x, "({xp})\n",
            "lh {x1}, ", $x1, "({xp})\n",
            column_pair!(@rows "p", ["a0", "a1", "a2", "a3"], [$($o0 $o1),*]),
            column_pair!(@rows "q", ["a4", "a5", "a6", "a7"], [$($o0 $o1),*]),
        )
    };
    (@rows $w:literal, [$($acc:literal),*], [$($o0:literal $o1:literal),*]) => {
        concat!($(row!($w, $acc, $o0, $o1)),*)
    };
}

/// [`octet_pairs_ref`] with the loop in RISC-V assembly, two column pairs per pass; an odd
/// number of pairs enters the first pass at its second pair.
#[cfg(target_arch = "riscv32")]
#[inline(always)]
pub fn octet_pairs(x: &[i16], p: &[i8], q: &[i8], acc: [i32; 8]) -> [i32; 8] {
    let n = (x.len() / 2).min(p.len() / 8).min(q.len() / 8);
    if n == 0 {
        return acc;
    }
    let [mut a0, mut a1, mut a2, mut a3, mut a4, mut a5, mut a6, mut a7] = acc;
    let (xp, pp, qp) = (x.as_ptr(), p.as_ptr(), q.as_ptr());
    // The pass's pointers: one pair early when `n` is odd (that pair's loads are jumped over).
    let early = n % 2;
    let end = xp.wrapping_add(2 * n);
    // SAFETY: a pass reads two column pairs: the activations at `xp..xp + 4` (i16) and 16
    // bytes at `p` and at `q`, then steps them by 4 values and 16 bytes. With `n` even the
    // passes start at the slices' starts; with `n` odd the pointers start one pair before
    // them (`wrapping_sub`, never dereferenced there: the first pass jumps to its second
    // pair). Either way the loop stops when `xp` reaches `x + 2n` and reads exactly the
    // first `n` pairs of each slice, all in bounds (`n` is at most each slice's pairs). Byte
    // and half-word loads need no alignment. It writes no memory and no stack; every
    // register it changes is an operand. Every instruction is rv32im.
    unsafe {
        core::arch::asm!(
            "bnez {early}, 3f",
            "2:",
            column_pair!("0", "2", ["0" "2", "1" "3", "4" "6", "5" "7"]),
            "3:",
            column_pair!("4", "6", ["8" "10", "9" "11", "12" "14", "13" "15"]),
            "addi {xp}, {xp}, 8",
            "addi {p}, {p}, 16",
            "addi {q}, {q}, 16",
            "bne {xp}, {end}, 2b",
            early = in(reg) early,
            xp = inout(reg) xp.wrapping_sub(2 * early) => _,
            end = in(reg) end,
            p = inout(reg) pp.wrapping_sub(8 * early) => _,
            q = inout(reg) qp.wrapping_sub(8 * early) => _,
            a0 = inout(reg) a0,
            a1 = inout(reg) a1,
            a2 = inout(reg) a2,
            a3 = inout(reg) a3,
            a4 = inout(reg) a4,
            a5 = inout(reg) a5,
            a6 = inout(reg) a6,
            a7 = inout(reg) a7,
            x0 = out(reg) _,
            x1 = out(reg) _,
            t0 = out(reg) _,
            t1 = out(reg) _,
            options(nostack, readonly, preserves_flags),
        );
    }
    [a0, a1, a2, a3, a4, a5, a6, a7]
}

#[cfg(not(target_arch = "riscv32"))]
pub use octet_pairs_ref as octet_pairs;
