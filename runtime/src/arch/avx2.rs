//! x86-64 with AVX2, chosen at run time: the batched integer layer's inner loop in assembly,
//! sixteen names at a time, and its safe reference.
//!
//! The default x86-64 build targets SSE2, the baseline of every x86-64 CPU, so the compiler
//! cannot be led to AVX2: it only emits it for builds made for one CPU (`target-cpu`), which
//! the crate's users would have to ask for. Almost every x86-64 CPU since 2013 has it, so
//! the loop is written here and run when the CPU says it can (`cpufeatures`: CPUID, and
//! XGETBV for the operating system's support of the 256-bit registers, checked once).
//!
//! Per column pair, four rows and sixteen names take two loads of the names' input pairs,
//! four weight broadcasts, eight `vpmaddwd` and eight `vpaddd`: 22 instructions, 24 with the
//! loop's (two pairs per pass), for 128 multiply-accumulates, where SSE2 takes 30 for 64 (its
//! two-operand `pmaddwd` destroys a register, so every reused input costs a copy).
//!
//! Without AVX2 [`quad16`] runs [`quad16_ref`]; the tests check assembly == reference on CPUs
//! with AVX2, and the SSE2 kernel beside it stays tested on them too.
#![allow(unsafe_code)]

/// Lanes (names) per call of [`quad16`]: two of the batch's tiles.
pub const LANES16: usize = 16;

cpufeatures::new!(cpu_avx2, "avx2");

/// Whether this CPU and its operating system run AVX2 (detected once, then cached).
pub fn available() -> bool {
    cpu_avx2::get()
}

/// Four rows' sums over `pairs` column pairs for sixteen lanes:
/// `out[r][l] = sum_c x(c, l).0 * lo(w[c][r]) + x(c, l).1 * hi(w[c][r])` in wrapping `i32`
/// arithmetic, where `x(c, l)` is the pair of i16 at `x[c * row + at + 2l..][..2]` and `w[c][r]`
/// holds row r's two weights of column pair c as `lo & 0xffff | hi << 16` (each word of the
/// SSE2 kernel's splat, `w[c][r][0]`, is the one read). Pairs past the inputs are not read.
pub fn quad16_ref(x: &[i16], row: usize, at: usize, w: &[[[i32; 4]; 4]], pairs: usize) -> [[i32; LANES16]; 4] {
    let mut out = [[0i32; LANES16]; 4];
    for (c, ws) in w.iter().enumerate().take(pairs) {
        let Some(xs) = x.get(c * row + at..).and_then(|x| x.first_chunk::<{ 2 * LANES16 }>()) else { break };
        let (xs, _) = xs.as_chunks::<2>();
        for (o, wr) in out.iter_mut().zip(ws) {
            let (lo, hi) = (i32::from(wr[0] as i16), wr[0] >> 16);
            for (a, &[x0, x1]) in o.iter_mut().zip(xs) {
                *a = a.wrapping_add((lo * i32::from(x0)).wrapping_add(hi * i32::from(x1)));
            }
        }
    }
    out
}

/// One column pair for the four rows: the sixteen lanes' input pairs at `$x0` and `$x1` into
/// ymm8 and ymm9, each row's weight word at `$w + 16r]` broadcast into ymm10, two
/// `vpmaddwd` into the row's two sums (ymm0-ymm7): 22 instructions for 128
/// multiply-accumulates.
macro_rules! pair {
    ($x0:literal, $x1:literal, $w:literal) => {
        concat!(
            "vmovdqu ymm8, ymmword ptr ", $x0, "\n",
            "vmovdqu ymm9, ymmword ptr ", $x1, "\n",
            pair!(@row $w, "]", "ymm0", "ymm1"),
            pair!(@row $w, " + 16]", "ymm2", "ymm3"),
            pair!(@row $w, " + 32]", "ymm4", "ymm5"),
            pair!(@row $w, " + 48]", "ymm6", "ymm7"),
        )
    };
    (@row $w:literal, $o:literal, $lo:literal, $hi:literal) => {
        concat!(
            "vpbroadcastd ymm10, dword ptr ", $w, $o, "\n",
            "vpmaddwd ymm11, ymm8, ymm10\n",
            "vpaddd ", $lo, ", ", $lo, ", ymm11\n",
            "vpmaddwd ymm10, ymm9, ymm10\n",
            "vpaddd ", $hi, ", ", $hi, ", ymm10\n",
        )
    };
}

/// [`quad16_ref`] with the loop in AVX2 assembly, when [`available`] says the CPU runs it
/// (the reference otherwise).
pub fn quad16(x: &[i16], row: usize, at: usize, w: &[[[i32; 4]; 4]], pairs: usize) -> [[i32; LANES16]; 4] {
    // Every pair the loop reads, checked here: the inputs of the last one end at
    // `(pairs - 1) * row + at + 32` values, the weights at `pairs` entries.
    let last_end = pairs.checked_sub(1).and_then(|p| p.checked_mul(row)).and_then(|o| o.checked_add(at + 2 * LANES16));
    let fits = last_end.is_some_and(|end| end <= x.len()) && pairs <= w.len();
    if pairs == 0 || !fits || !available() {
        return quad16_ref(x, row, at, w, pairs);
    }
    let mut out = [[0i32; LANES16]; 4];
    // SAFETY: `available()` said the CPU and OS run AVX2, which `quad16_asm` asks for; the
    // pointers and counts are those checked in bounds above (its contract).
    unsafe { quad16_asm(x.as_ptr().wrapping_add(at), row * 2, w.as_ptr(), pairs, &mut out) };
    out
}

/// The loop of [`quad16`]: `pairs` (at least 1) column pairs of inputs at `xp`, `step` bytes
/// apart, and of weights at `w`, into `out`.
///
/// # Safety
/// The CPU must run AVX2; `xp + c * step / 2 .. + 32` (i16) and `w[c]` must be readable for
/// every `c < pairs`.
#[target_feature(enable = "avx2")]
unsafe fn quad16_asm(
    xp: *const i16,
    step: usize,
    w: *const [[i32; 4]; 4],
    pairs: usize,
    out: &mut [[i32; LANES16]; 4],
) {
    // SAFETY: the function's contract: the CPU runs AVX2 (every instruction below is AVX or
    // AVX2), and column pair c is readable for each c < `pairs`, read once in order (an odd
    // count's first alone, then two per pass, `pairs / 2` passes): 64 bytes of inputs at
    // `xp + c * step` bytes and 4 bytes at each of `w[c][0..4]`. Unaligned loads (`vmovdqu`,
    // `vpbroadcastd`) need no alignment. It writes only `out` (256 bytes, eight unaligned
    // stores) and no stack. It changes ymm0-ymm11 and, through `vzeroupper` (which spares
    // the SSE code after it a transition), the upper halves of every ymm register: all
    // sixteen are declared clobbered, whole, so the compiler keeps nothing in them across the
    // block, in a build for AVX CPUs (`target-cpu=x86-64-v3`) as in the default one.
    unsafe {
        core::arch::asm!(
            "vpxor xmm0, xmm0, xmm0",
            "vpxor xmm1, xmm1, xmm1",
            "vpxor xmm2, xmm2, xmm2",
            "vpxor xmm3, xmm3, xmm3",
            "vpxor xmm4, xmm4, xmm4",
            "vpxor xmm5, xmm5, xmm5",
            "vpxor xmm6, xmm6, xmm6",
            "vpxor xmm7, xmm7, xmm7",
            // An odd count takes one pair first; the loop then takes two per pass.
            "test {n}, 1",
            "jz 3f",
            pair!("[{x}]", "[{x} + 32]", "[{w}"),
            "add {x}, {step}",
            "add {w}, 64",
            "3:",
            "shr {n}, 1",
            "jz 4f",
            "2:",
            pair!("[{x}]", "[{x} + 32]", "[{w}"),
            pair!("[{x} + {step}]", "[{x} + {step} + 32]", "[{w} + 64"),
            "lea {x}, [{x} + 2 * {step}]",
            "add {w}, 128",
            "dec {n}",
            "jnz 2b",
            "4:",
            "vmovdqu ymmword ptr [{out}], ymm0",
            "vmovdqu ymmword ptr [{out} + 32], ymm1",
            "vmovdqu ymmword ptr [{out} + 64], ymm2",
            "vmovdqu ymmword ptr [{out} + 96], ymm3",
            "vmovdqu ymmword ptr [{out} + 128], ymm4",
            "vmovdqu ymmword ptr [{out} + 160], ymm5",
            "vmovdqu ymmword ptr [{out} + 192], ymm6",
            "vmovdqu ymmword ptr [{out} + 224], ymm7",
            "vzeroupper",
            x = inout(reg) xp => _,
            w = inout(reg) w => _,
            n = inout(reg) pairs => _,
            step = in(reg) step,
            out = in(reg) out.as_mut_ptr(),
            out("ymm0") _,
            out("ymm1") _,
            out("ymm2") _,
            out("ymm3") _,
            out("ymm4") _,
            out("ymm5") _,
            out("ymm6") _,
            out("ymm7") _,
            out("ymm8") _,
            out("ymm9") _,
            out("ymm10") _,
            out("ymm11") _,
            out("ymm12") _,
            out("ymm13") _,
            out("ymm14") _,
            out("ymm15") _,
            options(nostack),
        );
    }
}
