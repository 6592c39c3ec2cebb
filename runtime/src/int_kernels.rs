//! Integer kernels: int8 weights times i16 activations into i32 sums, for the integer model
//! (int8 files; see [`crate::quant`] for the arithmetic around them).
//!
//! Weights are in the **row-quad layout** ([`crate::layout`], re-exported here): rows in
//! groups of four, each group's weights in the order the Cortex-M4 kernel reads them.
//!
//! Integer sums do not depend on the order of the additions (and they wrap the same way
//! everywhere; the decoder proves they never wrap), so every kernel here gives exactly the
//! sums of [`linear_ref`], whatever its loop order. The kernels zip their slices: a shape that
//! does not match is treated as the shorter one, never indexed out of bounds.

use crate::arch::dsp::{smlad, sxtb16, sxtb16_ror8};
#[cfg(feature = "alloc")]
pub use crate::layout::to_row_quads;
pub use crate::layout::{layout_index, GROUP};
use crate::quant::{hidden, requant};
use crate::tensor::{i32_le, I32Le};

/// What a linear layer makes of row `i`'s sum: `out[i] = E::apply(sum_i, m[i])`, with `m[i]`
/// the row's requantisation multiplier. A type parameter, so each kernel is compiled for the
/// epilogues in use and the epilogue runs while the sums are in registers.
pub trait Epilogue {
    /// What one row gives (a Q15 hidden unit, a Q12 logit).
    type Out: Copy + Default;
    /// Row `i`'s output from its sum and multiplier.
    fn apply(sum: i32, m: i32) -> Self::Out;
}

/// A hidden layer: `tanh(requant(sum, m))` in Q15 ([`crate::quant::hidden`]).
#[derive(Debug)]
pub enum Tanh {}

impl Epilogue for Tanh {
    type Out = i16;
    #[inline(always)]
    fn apply(sum: i32, m: i32) -> i16 {
        hidden(sum, m)
    }
}

/// The last layer: the logits `requant(sum, m)` in Q12.
#[derive(Debug)]
pub enum Logits {}

impl Epilogue for Logits {
    type Out = i32;
    #[inline(always)]
    fn apply(sum: i32, m: i32) -> i32 {
        requant(sum, m)
    }
}

/// The sums themselves (tests and tools; `m` is ignored but must have one entry per row).
#[derive(Debug)]
pub enum Sum {}

impl Epilogue for Sum {
    type Out = i32;
    #[inline(always)]
    fn apply(sum: i32, _m: i32) -> i32 {
        sum
    }
}

/// `out[i] = E::apply(sums[i], m[i])` for a group of rows.
#[inline(always)]
fn put<E: Epilogue>(out: &mut [E::Out], m: &[I32Le], sums: &[i32]) {
    for ((o, m), &s) in out.iter_mut().zip(m).zip(sums) {
        *o = E::apply(s, i32_le(m));
    }
}

/// The reference: row `i`'s sum `b[i] + sum_j w[i, j] * x[j]` for every row, wrapping `i32`
/// arithmetic, one weight at a time through [`layout_index`]; `out[i] = E::apply(sum, m[i])`.
///
/// `x: [n_in]`, `w: [n_out * n_in]` (row-quad layout), `b, m, out: [n_out]`; `n_out = b.len()`.
pub fn linear_ref<E: Epilogue>(x: &[i16], w: &[i8], b: &[I32Le], m: &[I32Le], out: &mut [E::Out]) {
    let (n_out, n_in) = (b.len(), x.len());
    for (i, ((bias, m), o)) in b.iter().zip(m).zip(out.iter_mut()).enumerate() {
        let mut acc = i32_le(bias);
        for (j, &xj) in x.iter().enumerate() {
            let wij = w.get(layout_index(n_out, n_in, i, j)).copied().unwrap_or(0);
            acc = acc.wrapping_add(i32::from(wij) * i32::from(xj));
        }
        *o = E::apply(acc, i32_le(m));
    }
}

/// One group of rows (4, 2 or 1) of a layer: where its weights and biases are.
pub(crate) struct Group<'a> {
    pub(crate) first: usize,
    pub(crate) w: &'a [i8],
    pub(crate) b: &'a [I32Le],
}

/// The groups of an `[n_out, n_in]` layer in layout order: quads, then a pair, then a row.
pub(crate) fn groups<'a>(w: &'a [i8], b: &'a [I32Le], n_in: usize) -> impl Iterator<Item = (usize, Group<'a>)> {
    let n_out = b.len();
    let quads = n_out / GROUP;
    let sizes = (0..quads).map(|_| GROUP).chain((n_out % GROUP >= 2).then_some(2)).chain((n_out % 2 == 1).then_some(1));
    let mut first = 0;
    sizes.map(move |rows| {
        let g = Group {
            first,
            w: w.get(first * n_in..(first + rows) * n_in).unwrap_or(&[]),
            b: b.get(first..first + rows).unwrap_or(&[]),
        };
        first += rows;
        (rows, g)
    })
}

/// Adds one group's products to its sums `acc` (`R` = 2 or 1 rows; quads have
/// [`quad_plain`]) with plain integer loops: `w` holds the group's weights in layout order.
/// Written out per group size with the sums in locals, as [`quad_plain`] is.
fn group_plain<const R: usize>(x: &[i16], w: &[i8], acc: &mut [i32; R]) {
    let (x_pairs, x_tail) = x.as_chunks::<2>();
    let mac = |acc: i32, w0: i8, x0: i32, w1: i8, x1: i32| acc.wrapping_add(i32::from(w0) * x0 + i32::from(w1) * x1);
    let tail = match acc.as_mut_slice() {
        [a] => {
            let (w_pairs, w_tail) = w.as_chunks::<2>();
            for (&[x0, x1], &[w0, w1]) in x_pairs.iter().zip(w_pairs) {
                *a = mac(*a, w0, i32::from(x0), w1, i32::from(x1));
            }
            w_tail
        }
        [a, b] => {
            // [a0 b0 a1 b1] per column pair.
            let (w_pairs, w_tail) = w.as_chunks::<4>();
            let (mut sa, mut sb) = (*a, *b);
            for (&[x0, x1], &[a0, b0, a1, b1]) in x_pairs.iter().zip(w_pairs) {
                let (x0, x1) = (i32::from(x0), i32::from(x1));
                sa = mac(sa, a0, x0, a1, x1);
                sb = mac(sb, b0, x0, b1, x1);
            }
            (*a, *b) = (sa, sb);
            w_tail
        }
        _ => return,
    };
    // An odd last column: one byte per row after the pairs.
    if let Some(&xl) = x_tail.first() {
        for (a, &wl) in acc.iter_mut().zip(tail) {
            *a = a.wrapping_add(i32::from(wl) * i32::from(xl));
        }
    }
}

/// [`linear_ref`], four rows at a time with plain integer loops (RISC-V and the host run this
/// one).
pub fn linear_quads<E: Epilogue>(x: &[i16], w: &[i8], b: &[I32Le], m: &[I32Le], out: &mut [E::Out]) {
    let (quads, _) = b.as_chunks::<GROUP>();
    quads_plain::<E>(x, w, quads, m, out);
    rest::<E>(x, w, b, m, out, false);
}

/// Every quad of a layer with [`quad_plain`].
#[inline(always)]
fn quads_plain<E: Epilogue>(x: &[i16], w: &[i8], biases: &[[I32Le; GROUP]], m: &[I32Le], out: &mut [E::Out]) {
    let (m_quads, _) = m.as_chunks::<GROUP>();
    // The M0 runs these loops only for a model whose biases are not aligned (its aligned ones
    // go to `quads_dsp`): one copy of the loop there.
    match (aligned(biases), aligned(m_quads)) {
        (Some(b), Some(m)) if !cfg!(arm_thumb1) => {
            quads_plain_from::<E, i32>(x, w, b.iter().map(from_le), m.as_flattened(), |v| i32::from_le(*v), out)
        }
        _ => quads_plain_from::<E, I32Le>(x, w, biases.iter().map(quad_values), m, i32_le, out),
    }
}

/// [`quads_plain`] with each quad's biases as values and the multipliers `m` read by `read`
/// as each row's output is written (read before the quad's sums, they would be kept on the
/// stack across them).
#[inline(always)]
fn quads_plain_from<E: Epilogue, M>(
    x: &[i16],
    w: &[i8],
    biases: impl Iterator<Item = [i32; GROUP]>,
    m: &[M],
    read: impl Fn(&M) -> i32,
    out: &mut [E::Out],
) {
    let n_in = x.len();
    for (q, (bias, (m, out))) in biases.zip(m.chunks(GROUP).zip(out.chunks_mut(GROUP))).enumerate() {
        let sums = quad_plain(x, w.get(q * GROUP * n_in..(q + 1) * GROUP * n_in).unwrap_or(&[]), bias);
        for ((o, s), m) in out.iter_mut().zip(sums).zip(m) {
            *o = E::apply(s, read(m));
        }
    }
}

/// Quads of i32 values (biases, multipliers) as words, when they are 4-byte aligned (format
/// version 4 aligns every array in the file; a version 3 file, or bytes at an address that
/// is not, are read a byte at a time): on the Cortex-M0 and RISC-V, one load instead of four
/// byte loads and six shifts and adds per value. Checked once per layer, so that each loop
/// is compiled for one way of reading.
#[inline(always)]
fn aligned(values: &[[I32Le; GROUP]]) -> Option<&[[i32; GROUP]]> {
    bytemuck::try_cast_slice(values).ok()
}

/// A quad of little-endian words as values.
#[inline(always)]
fn from_le(words: &[i32; GROUP]) -> [i32; GROUP] {
    words.map(i32::from_le)
}

/// One quad's sums with plain integer loops. A function of its own, shared by every
/// epilogue (flash). Written out for the quad's byte order (`[a0 b0 a1 b1 c0 d0 c1 d1]` per
/// column pair: rows a..d, columns 0, 1) with the four sums in locals: the generic loop of
/// [`group_plain`] kept them in memory on a Cortex-M0 (1.5 times the instructions). Word
/// loads with shifts, two rows per pass, or a loop of its own did no better there.
#[inline(never)]
fn quad_plain(x: &[i16], w: &[i8], bias: [i32; GROUP]) -> [i32; GROUP] {
    let [mut a, mut b, mut c, mut d] = bias;
    let (x_pairs, x_tail) = x.as_chunks::<2>();
    let (w_pairs, w_tail) = w.as_chunks::<8>();
    let mac = |acc: i32, w0: i8, x0: i32, w1: i8, x1: i32| acc.wrapping_add(i32::from(w0) * x0 + i32::from(w1) * x1);
    for (&[x0, x1], &[a0, b0, a1, b1, c0, d0, c1, d1]) in x_pairs.iter().zip(w_pairs) {
        let (x0, x1) = (i32::from(x0), i32::from(x1));
        a = mac(a, a0, x0, a1, x1);
        b = mac(b, b0, x0, b1, x1);
        c = mac(c, c0, x0, c1, x1);
        d = mac(d, d0, x0, d1, x1);
    }
    // An odd last column: one byte per row (the quad's bytes after its column pairs).
    if let (Some(&xl), Some(&[wa, wb, wc, wd])) = (x_tail.first(), w_tail.first_chunk::<4>()) {
        let xl = i32::from(xl);
        [a, b, c, d] = [mac(a, wa, xl, 0, 0), mac(b, wb, xl, 0, 0), mac(c, wc, xl, 0, 0), mac(d, wd, xl, 0, 0)];
    }
    [a, b, c, d]
}

/// [`linear_ref`], eight rows (two quads) at a time: the kernel of RISC-V, its column pairs in
/// assembly ([`crate::arch::riscv`]; elsewhere that loop's safe reference runs). Each
/// activation is loaded once for eight rows (once per four in [`linear_quads`]) and the
/// epilogue works on the sums in registers: on `riscv32imc` 3.25 instructions per
/// multiply-accumulate in the loop against 3.6, where `lb`, `mul` and `add` are the floor of
/// 3 (the core has no packed multiply). An odd last quad runs four rows at a time, and the rows
/// after the quads run as in [`linear_quads`].
pub fn linear_octets<E: Epilogue>(x: &[i16], w: &[i8], b: &[I32Le], m: &[I32Le], out: &mut [E::Out]) {
    let octet_len = 2 * GROUP * x.len();
    let (b8, b_rest) = b.as_chunks::<{ 2 * GROUP }>();
    let (m8, m_rest) = m.as_chunks::<{ 2 * GROUP }>();
    let (out8, out_rest) = out.as_chunks_mut::<{ 2 * GROUP }>();
    let mut octets = w.chunks_exact(octet_len.max(1));
    for ((b, m), out) in b8.iter().zip(m8).zip(out8.iter_mut()) {
        let (p, q) = octets.next().unwrap_or(&[]).split_at(octet_len / 2);
        match (bytemuck::try_cast_ref::<_, [i32; 2 * GROUP]>(b), bytemuck::try_cast_ref::<_, [i32; 2 * GROUP]>(m)) {
            (Ok(b), Ok(m)) => octet::<E>(x, p, q, b, m, out),
            // Not aligned (a format version 3 file): the values copied into little-endian words
            // first (what `octet` reads), so one copy of the eight-row code serves both (flash).
            _ => octet::<E>(x, p, q, &b.map(|v| i32_le(&v).to_le()), &m.map(|v| i32_le(&v).to_le()), out),
        }
    }
    // An odd last quad, then the rows after the quads.
    let first = b8.len() * 2 * GROUP;
    if let (Some(bq), Some(mq)) = (b_rest.first_chunk::<GROUP>(), m_rest.first_chunk::<GROUP>()) {
        let w = w.get(first * x.len()..(first + GROUP) * x.len()).unwrap_or(&[]);
        let sums = quad_plain(x, w, quad_values(bq));
        for ((o, s), m) in out_rest.iter_mut().zip(sums).zip(mq) {
            *o = E::apply(s, i32_le(m));
        }
    }
    rest::<E>(x, w, b, m, out, false);
}

/// Two quads' rows (`p`: rows 0-3, `q`: rows 4-7, each in the quad layout of [`quad_plain`]):
/// the column pairs by [`crate::arch::riscv::octet_pairs`] (assembly on RISC-V), then an odd
/// last column (four bytes per quad after its pairs), then the epilogue. One function from
/// the biases to the outputs, so the eight sums stay in registers throughout.
#[inline(never)]
fn octet<E: Epilogue>(
    x: &[i16],
    p: &[i8],
    q: &[i8],
    bias: &[i32; 2 * GROUP],
    m: &[i32; 2 * GROUP],
    out: &mut [E::Out; 2 * GROUP],
) {
    // Spelled out: an iterator over the sums would keep them in memory.
    let read = |v: &i32| i32::from_le(*v);
    let [b0, b1, b2, b3, b4, b5, b6, b7] = bias;
    let acc = [read(b0), read(b1), read(b2), read(b3), read(b4), read(b5), read(b6), read(b7)];
    let [a, b, c, d, e, f, g, h] = crate::arch::riscv::octet_pairs(x, p, q, acc);
    let pairs = x.len() / 2;
    let [a, b, c, d, e, f, g, h] =
        match (x.get(2 * pairs), p.get(8 * pairs..8 * pairs + GROUP), q.get(8 * pairs..8 * pairs + GROUP)) {
            (Some(&xl), Some(&[p0, p1, p2, p3]), Some(&[q0, q1, q2, q3])) => {
                let mac = |acc: i32, w: i8| acc.wrapping_add(i32::from(w) * i32::from(xl));
                [mac(a, p0), mac(b, p1), mac(c, p2), mac(d, p3), mac(e, q0), mac(f, q1), mac(g, q2), mac(h, q3)]
            }
            _ => [a, b, c, d, e, f, g, h],
        };
    let [m0, m1, m2, m3, m4, m5, m6, m7] = m;
    *out = [
        E::apply(a, read(m0)),
        E::apply(b, read(m1)),
        E::apply(c, read(m2)),
        E::apply(d, read(m3)),
        E::apply(e, read(m4)),
        E::apply(f, read(m5)),
        E::apply(g, read(m6)),
        E::apply(h, read(m7)),
    ];
}

/// A quad of i32 values (biases, multipliers) read a byte at a time (read one by one: a copy
/// of the four would call memcpy).
#[inline(always)]
fn quad_values(b: &[I32Le; GROUP]) -> [i32; GROUP] {
    let [b0, b1, b2, b3] = b;
    [i32_le(b0), i32_le(b1), i32_le(b2), i32_le(b3)]
}

/// The rows after the quads (a pair, then a single row) into `out`.
#[inline(always)]
fn rest<E: Epilogue>(x: &[i16], w: &[i8], b: &[I32Le], m: &[I32Le], out: &mut [E::Out], dsp: bool) {
    let first = b.len() / GROUP * GROUP;
    let (sums, n) = rest_sums(x, w.get(first * x.len()..).unwrap_or(&[]), b.get(first..).unwrap_or(&[]), dsp);
    put::<E>(out.get_mut(first..).unwrap_or(&mut []), m.get(first..).unwrap_or(&[]), sums.get(..n).unwrap_or(&[]));
}

/// The sums of the (at most three) rows after the quads, `w` and `b` starting at the first
/// of them: a pair (with SMLAD when `dsp`), then a single row. Shared by every epilogue.
#[inline(never)]
fn rest_sums(x: &[i16], w: &[i8], b: &[I32Le], dsp: bool) -> ([i32; 3], usize) {
    let n_in = x.len();
    let x_words = x.get(..n_in / 2 * 2).and_then(|x| bytemuck::try_cast_slice::<i16, u32>(x).ok());
    let mut sums = [0; 3];
    let single = match b {
        [b0, b1, ..] => {
            let mut acc = [i32_le(b0), i32_le(b1)];
            let pair = w.get(..2 * n_in).unwrap_or(&[]);
            match (dsp, x_words, pair.get(..n_in / 2 * 4).and_then(words_of)) {
                (true, Some(xw), Some(ww)) => pair_dsp(xw, x, ww, pair.get(n_in / 2 * 4..).unwrap_or(&[]), &mut acc),
                _ => group_plain(x, pair, &mut acc),
            }
            sums = [acc[0], acc[1], 0];
            2
        }
        _ => 0,
    };
    if let Some(bias) = b.get(single) {
        let w = w.get(single * n_in..).unwrap_or(&[]);
        let mut acc = [i32_le(bias)];
        match (dsp, x_words, &mut acc) {
            (true, Some(xw), [a]) => row_dsp(xw, x, w, a),
            _ => group_plain(x, w, &mut acc),
        }
        if let Some(s) = sums.get_mut(single) {
            *s = acc[0];
        }
        return (sums, single + 1);
    }
    (sums, single)
}

/// [`linear_ref`] with the DSP instructions (SMLAD, SXTB16): four rows at a time, each weight
/// word split by SXTB16 into two rows' pairs and each activation word (two i16) shared by
/// the four rows; then a row pair the same way, and a last row with SMLAD too. It reads
/// words, so it needs the weights and activations 4-byte aligned (the encoder aligns every
/// tensor in the file; the firmware aligns the file); otherwise it runs [`linear_quads`].
/// On targets without the DSP extension the instructions are their safe references
/// (`arch::dsp`); on the Cortex-M0 the quads' column pairs are `arch::thumb1`'s assembly
/// and the rows after the quads run the plain loops.
pub fn linear_dsp<E: Epilogue>(x: &[i16], w: &[i8], b: &[I32Le], m: &[I32Le], out: &mut [E::Out]) {
    let n_in = x.len();
    let (quads, _) = b.as_chunks::<GROUP>();
    let x_words = x.get(..n_in / 2 * 2).and_then(|x| bytemuck::try_cast_slice::<i16, u32>(x).ok());
    let w_quads = w.get(..quads.len() * GROUP * n_in).and_then(words_of);
    let dsp = match (x_words, w_quads) {
        (Some(xw), Some(ww)) if n_in > 0 => {
            let x_odd = if n_in % 2 == 1 { x.last().copied() } else { None };
            quads_dsp::<E>(xw, x_odd, ww, n_in, quads, m, out)
        }
        _ => false,
    };
    if !dsp {
        quads_plain::<E>(x, w, quads, m, out);
    }
    rest::<E>(x, w, b, m, out, dsp && !cfg!(arm_thumb1));
}

/// `bytes` as words, if aligned.
fn words_of(bytes: &[i8]) -> Option<&[u32]> {
    bytemuck::try_cast_slice(bytes).ok()
}

/// Every quad of a layer with the DSP instructions; `false` if it ran nothing (see below).
// Not inlined: in a frame of its own the four sums stay in registers (inlined into a layer,
// the compiler kept them in memory around every DSP block: 4 more instructions per step).
#[inline(never)]
fn quads_dsp<E: Epilogue>(
    x: &[u32],
    x_odd: Option<i16>,
    w: &[u32],
    n_in: usize,
    biases: &[[I32Le; GROUP]],
    m: &[I32Le],
    out: &mut [E::Out],
) -> bool {
    let (m_quads, _) = m.as_chunks::<GROUP>();
    if cfg!(arm_dsp) {
        // Cores with the DSP extension load unaligned words as fast: no check needed.
        quads_dsp_from::<E, I32Le>(x, x_odd, w, n_in, biases.iter().map(quad_values), m_quads, i32_le, out);
        return true;
    }
    // Elsewhere (the M0's assembly loop) only with the biases and multipliers as words: one
    // copy of the loop per epilogue, and an unaligned model (format version 3) runs the plain
    // loops instead.
    let Some((b, m)) = aligned(biases).zip(aligned(m_quads)) else { return false };
    quads_dsp_from::<E, i32>(x, x_odd, w, n_in, b.iter().map(from_le), m, |v| i32::from_le(*v), out);
    true
}

/// [`quads_dsp`] with each quad's biases as values and the multipliers read by `read` as
/// each row's output is written (see [`quads_plain_from`]).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn quads_dsp_from<E: Epilogue, M>(
    x: &[u32],
    x_odd: Option<i16>,
    w: &[u32],
    n_in: usize,
    biases: impl Iterator<Item = [i32; GROUP]>,
    m: &[[M; GROUP]],
    read: impl Fn(&M) -> i32,
    out: &mut [E::Out],
) {
    let groups = w.chunks_exact(n_in.max(1)).zip(biases.zip(m)).zip(out.chunks_exact_mut(GROUP));
    for ((quad, (bias, [m0, m1, m2, m3])), out) in groups {
        let [a0, a1, a2, a3] = quad_dsp(x, x_odd, quad, bias);
        // Unrolled, from registers.
        if let [o0, o1, o2, o3] = out {
            *o0 = E::apply(a0, read(m0));
            *o1 = E::apply(a1, read(m1));
            *o2 = E::apply(a2, read(m2));
            *o3 = E::apply(a3, read(m3));
        }
    }
}

/// One quad's sums from its biases: `quad` holds, per column pair, a word of rows 0-1 and one
/// of rows 2-3, then (odd `n_in`) one word of the last column's four weights.
#[inline(always)]
fn quad_dsp(x: &[u32], x_odd: Option<i16>, quad: &[u32], bias: [i32; 4]) -> [i32; 4] {
    // The Cortex-M0: the column pairs in Thumb-1 assembly.
    #[cfg(arm_thumb1)]
    let (mut acc, w2) = {
        let (pairs, odd) = quad.split_at(quad.len().min(2 * x.len()));
        (crate::arch::thumb1::quad_pairs(x, pairs, bias), odd)
    };
    #[cfg(not(arm_thumb1))]
    let (mut acc, w2) = {
        use crate::arch::dsp::quad_step;
        let mut acc = bias;
        let (x2, x1) = x.as_chunks::<2>();
        let (w4, w2) = quad.as_chunks::<4>();
        // Two column pairs per step; each word is read where it is used (see `quad_step`).
        // Four pairs per step spill to the stack (measured: 15% more instructions).
        for (x, w) in x2.iter().zip(w4) {
            acc = quad_step(w[0], w[1], x[0], acc);
            acc = quad_step(w[2], w[3], x[1], acc);
        }
        let w2 = if let (Some(&x0), [p0, q0, rest @ ..]) = (x1.first(), w2) {
            acc = quad_step(*p0, *q0, x0, acc);
            rest
        } else {
            w2
        };
        (acc, w2)
    };
    if let (Some(xl), Some(&word)) = (x_odd, w2.first()) {
        // Spelled out: an iterator over `acc` would take its address, and a value whose
        // address is taken lives in memory around every DSP block.
        let ([a0, a1, a2, a3], [w0, w1, w2, w3], xl) = (acc, word.to_le_bytes(), i32::from(xl));
        acc = [
            a0.wrapping_add(i32::from(w0 as i8) * xl),
            a1.wrapping_add(i32::from(w1 as i8) * xl),
            a2.wrapping_add(i32::from(w2 as i8) * xl),
            a3.wrapping_add(i32::from(w3 as i8) * xl),
        ];
    }
    acc
}

/// A row pair's sums added to `acc`: one weight word per column pair (`w`, with the
/// activations as words `xw`), then (odd `n_in`) the last column's two weights `odd`.
#[inline(never)]
fn pair_dsp(xw: &[u32], x: &[i16], w: &[u32], odd: &[i8], acc: &mut [i32; 2]) {
    let [mut a0, mut a1] = *acc;
    let (x2, x1) = xw.as_chunks::<2>();
    let (w2, w1) = w.as_chunks::<2>();
    for (&[x0, x1], &[p0, p1]) in x2.iter().zip(w2) {
        a0 = smlad(sxtb16(p0), x0, a0);
        a1 = smlad(sxtb16_ror8(p0), x0, a1);
        a0 = smlad(sxtb16(p1), x1, a0);
        a1 = smlad(sxtb16_ror8(p1), x1, a1);
    }
    if let (Some(&x0), Some(&p0)) = (x1.first(), w1.first()) {
        a0 = smlad(sxtb16(p0), x0, a0);
        a1 = smlad(sxtb16_ror8(p0), x0, a1);
    }
    if let (true, Some(&xl), [w0, w1, ..]) = (x.len() % 2 == 1, x.last(), odd) {
        a0 = a0.wrapping_add(i32::from(*w0) * i32::from(xl));
        a1 = a1.wrapping_add(i32::from(*w1) * i32::from(xl));
    }
    *acc = [a0, a1];
}

/// A single row's sum added to `acc`, four columns per step: SXTB16 splits the weight word
/// `[w0, w1, w2, w3]` into `(w0, w2)` and `(w1, w3)`, and the activations are paired to match
/// (PKHBT, PKHTB). Weights are read with unaligned word loads.
#[inline(never)]
fn row_dsp(xw: &[u32], x: &[i16], w: &[i8], acc: &mut i32) {
    let mut a = *acc;
    let (x2, _) = xw.as_chunks::<2>();
    let (w4, _) = w.as_chunks::<4>();
    for (&[x01, x23], w) in x2.iter().zip(w4) {
        let word = u32::from_le_bytes(w.map(|b| b as u8));
        let x02 = (x01 & 0xffff) | (x23 << 16);
        let x13 = (x23 & 0xffff_0000) | (x01 >> 16);
        a = smlad(sxtb16(word), x02, a);
        a = smlad(sxtb16_ror8(word), x13, a);
    }
    // The last columns (n_in mod 4).
    let done = x2.len() * 4;
    for (&xj, &wj) in x.get(done..).unwrap_or(&[]).iter().zip(w.get(done..).unwrap_or(&[])) {
        a = a.wrapping_add(i32::from(wj) * i32::from(xj));
    }
    *acc = a;
}

/// Batch lanes per tile of the batched kernels: a batch's lane count (its *stride*) is a
/// multiple of this.
pub const LANES: usize = 8;

/// The batch's lane count for `n` names: `n` rounded up to whole tiles.
pub const fn batch_stride(n: usize) -> usize {
    n.div_ceil(LANES) * LANES
}

/// [`linear_ref`]'s sums for a batch, a tile and a group of rows at a time: `emit(first,
/// lane0, rows)` with `rows[r][l] = b[i] + sum_j w[i, j] * x_j(lane0 + l)` for row `i = first +
/// r`, every group of up to [`GROUP`] rows (the row-quad layout's: quads, then a pair or a
/// single row) and every tile of [`LANES`] lanes; each row and tile once. The inputs are in the batch's **pair-major** layout: `x_t[(c * stride + k)
/// * 2 + e]` is input `2c + e` of lane `k`, an odd last input paired with a 0.
///
/// `x_t: [ceil(n_in / 2) * stride * 2]` with `stride` a multiple of [`LANES`] (a last partial
/// tile is skipped), `w: [n_out * n_in]` (row-quad layout), `b: [n_out]`.
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
            GROUP => batch_group::<GROUP>(x_t, stride, n_in, &g, &mut emit),
            2 => batch_group::<2>(x_t, stride, n_in, &g, &mut emit),
            _ => batch_group::<1>(x_t, stride, n_in, &g, &mut emit),
        }
    }
}

/// One group's `R` rows over every tile of the batch, with plain integer loops.
fn batch_group<const R: usize>(
    x_t: &[i16],
    stride: usize,
    n_in: usize,
    g: &Group,
    emit: &mut impl FnMut(usize, usize, &[[i32; LANES]]),
) {
    let bias: [i32; R] = core::array::from_fn(|r| g.b.get(r).map_or(0, i32_le));
    for lane0 in (0..stride / LANES).map(|t| t * LANES) {
        let mut acc = bias.map(|v| [v; LANES]);
        for c in 0..n_in.div_ceil(2) {
            let Some(x) = x_t.get((c * stride + lane0) * 2..).and_then(|x| x.first_chunk::<{ 2 * LANES }>()) else {
                break;
            };
            let (x, _) = x.as_chunks::<2>();
            for (a, [w0, w1]) in acc.iter_mut().zip(pair_weights::<R>(g.w, n_in, c)) {
                for (a, &[x0, x1]) in a.iter_mut().zip(x) {
                    *a = a.wrapping_add(w0 * i32::from(x0) + w1 * i32::from(x1));
                }
            }
        }
        emit(g.first, lane0, &acc);
    }
}

/// The weights of column pair `c` (columns `2c`, `2c + 1`; 0 past the last column) for each
/// row of a group of `R` rows (4, 2 or 1) whose weights `w` are in the row-quad layout.
#[inline(always)]
pub(crate) fn pair_weights<const R: usize>(w: &[i8], n_in: usize, c: usize) -> [[i32; 2]; R] {
    let at = |i: usize| w.get(i).map_or(0, |&v| i32::from(v));
    if c < n_in / 2 {
        let base = c * 2 * R;
        core::array::from_fn(|r| {
            if R == 1 {
                [at(base), at(base + 1)]
            } else {
                let i = base + r / 2 * 4 + r % 2;
                [at(i), at(i + 2)]
            }
        })
    } else {
        // The odd last column: one byte per row after the pairs.
        core::array::from_fn(|r| [at(n_in / 2 * 2 * R + r), 0])
    }
}
