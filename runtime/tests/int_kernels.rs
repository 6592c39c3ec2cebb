//! The integer kernels: every fast kernel gives exactly the reference's sums, on shapes with
//! every remainder (rows mod 4, columns mod 4), and the DSP instructions' and the Cortex-M0
//! loop's safe references are their definitions.

use makemore_runtime::arch;
use makemore_runtime::arch::dsp::{smlad_ref, sxtb16_ref, sxtb16_ror8_ref};
use makemore_runtime::int_kernels::{
    batch_stride, layout_index, linear_batch, linear_dsp, linear_octets, linear_quads, linear_ref, to_row_quads, Sum,
    LANES,
};
use makemore_runtime::quant::{hidden, mul_hi_halves, requant_halves, requant_wide, Softmax};
use makemore_runtime::tables::EXP2_Q23;
use makemore_runtime::Pcg32;
use proptest::prelude::*;

/// A layer with random weights in [-127, 127], biases and inputs of full range.
fn layer(n_out: usize, n_in: usize, seed: u64) -> (Vec<i16>, Vec<i8>, Vec<[u8; 4]>, Vec<i8>) {
    let mut rng = Pcg32::from_seed(seed);
    let x: Vec<i16> = (0..n_in).map(|_| ((rng.next_u32() % 65535) as i32 - 32767) as i16).collect();
    let dense: Vec<i8> = (0..n_out * n_in).map(|_| ((rng.next_u32() % 255) as i32 - 127) as i8).collect();
    let b: Vec<[u8; 4]> = (0..n_out).map(|_| ((rng.next_u32() % 2_000_001) as i32 - 1_000_000).to_le_bytes()).collect();
    (x, to_row_quads(&dense, n_out, n_in), b, dense)
}

/// A kernel's sums (the `Sum` epilogue).
macro_rules! sums {
    ($kernel:ident, $x:expr, $w:expr, $b:expr) => {{
        let mut out = vec![0; $b.len()];
        $kernel::<Sum>($x, $w, $b, &vec![[0; 4]; $b.len()], &mut out);
        out
    }};
}

/// The sums computed from the dense (row-major) weights in i64: the definition.
fn dense_sums(x: &[i16], dense: &[i8], b: &[[u8; 4]]) -> Vec<i32> {
    let n_in = x.len();
    b.iter()
        .enumerate()
        .map(|(i, bias)| {
            let dot: i64 = (0..n_in).map(|j| i64::from(dense[i * n_in + j]) * i64::from(x[j])).sum();
            (i64::from(i32::from_le_bytes(*bias)) + dot) as i32
        })
        .collect()
}

#[test]
fn the_layout_is_a_permutation() {
    for n_out in 0..11 {
        for n_in in 0..9 {
            let mut seen = vec![false; n_out * n_in];
            for r in 0..n_out {
                for c in 0..n_in {
                    let i = layout_index(n_out, n_in, r, c);
                    assert!(!seen[i], "({n_out}, {n_in}): ({r}, {c}) -> {i} twice");
                    seen[i] = true;
                }
            }
        }
    }
    // The documented order of a quad: per column pair, rows 0-1 then rows 2-3, interleaved.
    let order: Vec<(usize, usize)> = (0..8)
        .map(|i| {
            (0..4).flat_map(|r| (0..2).map(move |c| (r, c))).find(|&(r, c)| layout_index(4, 2, r, c) == i).unwrap()
        })
        .collect();
    assert_eq!(order, [(0, 0), (1, 0), (0, 1), (1, 1), (2, 0), (3, 0), (2, 1), (3, 1)]);
}

#[test]
fn every_kernel_gives_the_definition_on_every_remainder() {
    for n_out in 1..=21 {
        for n_in in 1..=13 {
            let (x, w, b, dense) = layer(n_out, n_in, (n_out * 100 + n_in) as u64);
            let want = dense_sums(&x, &dense, &b);
            assert_eq!(sums!(linear_ref, &x, &w, &b), want, "ref {n_out}x{n_in}");
            assert_eq!(sums!(linear_quads, &x, &w, &b), want, "quads {n_out}x{n_in}");
            assert_eq!(sums!(linear_octets, &x, &w, &b), want, "octets {n_out}x{n_in}");
            assert_eq!(sums!(linear_dsp, &x, &w, &b), want, "dsp {n_out}x{n_in}");
        }
    }
}

/// The kernels read biases and multipliers a word at a time when they are 4-byte aligned
/// (format version 4) and a byte at a time otherwise (version 3, or an unaligned copy): both
/// ways give the definition's sums, the same outputs through the hidden-unit epilogue.
#[test]
fn unaligned_biases_and_multipliers_give_the_same_outputs() {
    use makemore_runtime::int_kernels::Tanh;
    for n_out in [1, 4, 8, 13, 16, 21] {
        for n_in in [1, 2, 3, 8, 13] {
            let (x, w, b, dense) = layer(n_out, n_in, (n_out * 31 + n_in) as u64);
            let m: Vec<[u8; 4]> = (0..n_out).map(|i| (1_000_000 * (i as i32 + 1)).to_le_bytes()).collect();
            // The same values one byte past a word boundary.
            let shifted = |v: &[[u8; 4]]| -> Vec<u8> { [0].into_iter().chain(v.iter().flatten().copied()).collect() };
            let (b_bytes, m_bytes) = (shifted(&b), shifted(&m));
            let b_odd: &[[u8; 4]] = bytemuck::cast_slice(&b_bytes[1..]);
            let m_odd: &[[u8; 4]] = bytemuck::cast_slice(&m_bytes[1..]);
            assert_ne!(b_odd.as_ptr() as usize % 4, 0);
            // And on a word boundary (u32 storage).
            let words = |v: &[[u8; 4]]| -> Vec<u32> { v.iter().map(|b| u32::from_ne_bytes(*b)).collect() };
            let (b_words, m_words) = (words(&b), words(&m));
            let b_al: &[[u8; 4]] = bytemuck::cast_slice(&b_words);
            let m_al: &[[u8; 4]] = bytemuck::cast_slice(&m_words);
            let want = dense_sums(&x, &dense, &b);
            assert_eq!(sums!(linear_octets, &x, &w, b_odd), want, "octets {n_out}x{n_in}");
            assert_eq!(sums!(linear_quads, &x, &w, b_odd), want, "quads {n_out}x{n_in}");
            let run = |b: &[[u8; 4]], m: &[[u8; 4]]| {
                let mut out = vec![0i16; n_out];
                linear_octets::<Tanh>(&x, &w, b, m, &mut out);
                out
            };
            let mut want_units = vec![0i16; n_out];
            linear_ref::<Tanh>(&x, &w, &b, &m, &mut want_units);
            assert_eq!(run(b_al, m_al), want_units, "octets, aligned {n_out}x{n_in}");
            assert_eq!(run(b_odd, m_odd), want_units, "octets, unaligned {n_out}x{n_in}");
        }
    }
}

/// The hidden units this build computes many at a time equal `quant::hidden` one at a time,
/// on every tanh argument (m = 2^30 makes the argument `round(acc / 4)`, so this sweeps all
/// of i16 and past both ends of the clamp), for every length's tail.
#[test]
fn hidden_many_equals_hidden_on_every_argument() {
    let m = (1i32 << 30).to_le_bytes();
    let acc: Vec<i32> = (-140_000..140_000).collect();
    let ms = vec![m; acc.len()];
    let mut got = vec![0i16; acc.len()];
    arch::hidden_many(&acc, &ms, &mut got);
    for (&a, &g) in acc.iter().zip(&got) {
        assert_eq!(g, hidden(a, 1 << 30), "acc {a}");
    }
    for len in 0..20 {
        let mut got = vec![0i16; len];
        arch::hidden_many(&acc[..len], &ms[..len], &mut got);
        assert_eq!(got, acc[..len].iter().map(|&a| hidden(a, 1 << 30)).collect::<Vec<_>>());
    }
}

/// What a batched kernel calls with each tile's sums.
type Emit<'a> = dyn FnMut(usize, usize, &[[i32; LANES]]) + 'a;

/// The Cortex-M0's requantisation equals the 64-bit one on every corner of the halves it
/// splits its operands into (each half at its extremes and around 2^15), for every sign.
#[test]
fn requant_halves_equals_requant_wide_on_the_corners() {
    let halves = [0u32, 1, 2, 0x7fff, 0x8000, 0x8001, 0xfffe, 0xffff];
    let mut values = vec![];
    for &hi in &halves {
        for &lo in &halves {
            values.push(((hi << 16) | lo) as i32);
        }
    }
    for &acc in &values {
        for &m in values.iter().filter(|&&m| m >= 0) {
            assert_eq!(requant_halves(acc, m), requant_wide(acc, m), "acc {acc} m {m}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn mul_hi_halves_is_the_high_word(a in any::<u32>(), b in any::<u32>()) {
        prop_assert_eq!(mul_hi_halves(a, b), ((u64::from(a) * u64::from(b)) >> 32) as u32);
    }

    /// The softmax weight (early exit at the gap limit, then either product) equals the
    /// definition computed in 64 bits; the M0's halves equal the wide product below the limit.
    #[test]
    fn softmax_weights_follow_the_definition(milli in 1u32..=100_000, gap in any::<u32>(), small in any::<bool>()) {
        let sm = Softmax::new(milli);
        let factor = u64::from(((1_549_082_005u64 * 16_000 / u64::from(milli) + (1 << 13)) >> 14) as u32);
        let gap = if small { gap % 200_000 } else { gap };
        let e = (u64::from(gap) * factor) >> 16;
        let want = if e >= 24 << 16 {
            1
        } else {
            let (n, f) = ((e >> 16) as u32, (e & 0xffff) as u32);
            let (hi, lo) = (EXP2_Q23[(f >> 10) as usize], EXP2_Q23[(f >> 10) as usize + 1]);
            ((hi - (((hi - lo) * (f & 0x3ff) + 512) >> 10)) >> n).max(1)
        };
        prop_assert_eq!(sm.weight(gap), want);
        if e < 24 << 16 {
            prop_assert_eq!(sm.exponent_halves(gap), e as u32);
            prop_assert_eq!(sm.exponent_wide(gap), e as u32);
        }
    }

    #[test]
    fn requant_wide_is_the_rounded_high_word(acc in any::<i32>(), m in any::<i32>()) {
        // The form off Arm (high word plus the low word's top bit) against the definition.
        prop_assert_eq!(requant_wide(acc, m), ((i64::from(acc) * i64::from(m) + (1 << 31)) >> 32) as i32);
    }

    #[test]
    fn requant_halves_equals_requant_wide(acc in any::<i32>(), m in 0..=i32::MAX) {
        prop_assert_eq!(requant_halves(acc, m), requant_wide(acc, m));
    }

    #[test]
    fn hidden_many_equals_hidden(pairs in prop::collection::vec((any::<i32>(), 0..=i32::MAX), 0..40), small in any::<bool>()) {
        // `small`: sums near the tanh range's width, where the clamp rarely applies.
        let (acc, m): (Vec<i32>, Vec<i32>) = pairs.iter().map(|&(a, m)| if small { (a >> 12, m) } else { (a, m) }).unzip();
        let ms: Vec<[u8; 4]> = m.iter().map(|v| v.to_le_bytes()).collect();
        let mut got = vec![0i16; acc.len()];
        arch::hidden_many(&acc, &ms, &mut got);
        let want: Vec<i16> = acc.iter().zip(&m).map(|(&a, &m)| hidden(a, m)).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn hidden_lanes_equals_hidden(acc in any::<[i32; 8]>(), m in 0..=i32::MAX, small in any::<bool>()) {
        let acc = if small { acc.map(|a| a >> 12) } else { acc };
        prop_assert_eq!(arch::hidden_lanes(&acc, m), acc.map(|a| hidden(a, m)));
    }

    #[test]
    fn fast_kernels_equal_the_reference(n_out in 0usize..40, n_in in 0usize..70, seed in any::<u64>()) {
        let (x, w, b, _) = layer(n_out, n_in, seed);
        let want = sums!(linear_ref, &x, &w, &b);
        prop_assert_eq!(&sums!(linear_quads, &x, &w, &b), &want);
        prop_assert_eq!(&sums!(linear_octets, &x, &w, &b), &want);
        prop_assert_eq!(&sums!(linear_dsp, &x, &w, &b), &want);
    }

    /// The RISC-V loop's reference (`arch::riscv`; the assembly is checked against it under
    /// QEMU) sums two quads' column pairs as the definition does, from any starting sums.
    #[test]
    fn riscv_octet_reference_follows_the_layout(pairs in 0usize..12, seed in any::<u64>(), acc in any::<[i32; 8]>()) {
        let (x, w, _, dense) = layer(8, 2 * pairs, seed);
        let (p, q) = w.split_at(4 * 2 * pairs);
        let want: Vec<i32> = (0..8)
            .map(|r| (0..2 * pairs).fold(acc[r], |a, j| a.wrapping_add(i32::from(dense[r * 2 * pairs + j]) * i32::from(x[j]))))
            .collect();
        prop_assert_eq!(arch::riscv::octet_pairs_ref(&x, p, q, acc).to_vec(), want.clone());
        prop_assert_eq!(arch::riscv::octet_pairs(&x, p, q, acc).to_vec(), want);
    }

    /// The Cortex-M0 loop's reference (`arch::thumb1`; the assembly is checked against it under
    /// QEMU) sums a quad's column pairs as the definition does, from any starting sums.
    #[test]
    fn thumb1_quad_reference_follows_the_layout(pairs in 0usize..12, seed in any::<u64>(), acc in any::<[i32; 4]>()) {
        let (x, w, _, dense) = layer(4, 2 * pairs, seed);
        let xw: Vec<u32> = x.chunks_exact(2).map(|p| u32::from(p[0] as u16) | (u32::from(p[1] as u16) << 16)).collect();
        let ww: Vec<u32> = w.chunks_exact(4).map(|b| u32::from_le_bytes([b[0] as u8, b[1] as u8, b[2] as u8, b[3] as u8])).collect();
        let want: Vec<i32> = (0..4)
            .map(|r| (0..2 * pairs).fold(acc[r], |a, j| a.wrapping_add(i32::from(dense[r * 2 * pairs + j]) * i32::from(x[j]))))
            .collect();
        prop_assert_eq!(arch::thumb1::quad_pairs_ref(&xw, &ww, acc).to_vec(), want.clone());
        prop_assert_eq!(arch::thumb1::quad_pairs(&xw, &ww, acc).to_vec(), want);
    }

    #[test]
    fn dsp_references_follow_their_definitions(x in any::<u32>(), y in any::<u32>(), acc in any::<i32>()) {
        let h = |v: u32, k: u32| (v >> (16 * k)) as u16 as i16 as i32;
        let b = |v: u32, k: u32| (v >> (8 * k)) as u8 as i8 as i16 as u16 as u32;
        prop_assert_eq!(smlad_ref(x, y, acc), acc.wrapping_add(h(x, 0) * h(y, 0)).wrapping_add(h(x, 1) * h(y, 1)));
        prop_assert_eq!(sxtb16_ref(x), b(x, 0) | (b(x, 2) << 16));
        prop_assert_eq!(sxtb16_ror8_ref(x), b(x, 1) | (b(x, 3) << 16));
    }

    /// Every batched kernel (the portable one, the one this build runs, and on x86-64 SSE2
    /// alone and with AVX2 where the CPU has it) gives each lane the reference's sums,
    /// whatever sits in the padding lanes and in the slot paired with an odd last input, in
    /// groups of rows as the row-quad layout makes them.
    #[test]
    fn batch_kernels_equal_the_reference_per_lane(n_out in 1usize..20, n_in in 1usize..40, n in 1usize..44, seed in any::<u64>()) {
        let (_, w, b, _) = layer(n_out, n_in, seed);
        let xs: Vec<Vec<i16>> = (0..n).map(|k| layer(1, n_in, seed ^ (k as u64 + 1)).0).collect();
        let stride = batch_stride(n);
        // Pair-major: [ceil(n_in / 2)][stride][2]; junk everywhere no input goes.
        let mut x_t: Vec<i16> = (0..n_in.div_ceil(2) * stride * 2).map(|i| (i as i16).wrapping_mul(7919)).collect();
        for (k, x) in xs.iter().enumerate() {
            for (j, &v) in x.iter().enumerate() {
                x_t[(j / 2 * stride + k) * 2 + j % 2] = v;
            }
        }
        let run = |kernel: &dyn Fn(&mut Emit)| {
            let mut got = vec![vec![None; n_out]; stride];
            kernel(&mut |first, lane0, rows| {
                // Groups as the layout makes them: quads from row 0, then a pair, then one.
                let quads = n_out / 4 * 4;
                let want_rows = if first < quads { 4 } else if first == quads && n_out - quads >= 2 { 2 } else { 1 };
                assert_eq!((first % 2, rows.len()), (0, want_rows), "rows {first}.. in a group of {}", rows.len());
                for (r, sums) in rows.iter().enumerate() {
                    for (l, &s) in sums.iter().enumerate() {
                        let i = first + r;
                        assert!(got[lane0 + l][i].replace(s).is_none(), "row {i} lane {} emitted twice", lane0 + l);
                    }
                }
            });
            got
        };
        let mut runs = vec![
            run(&|emit| linear_batch(&x_t, stride, &w, n_in, &b, emit)),
            run(&|emit| arch::linear_batch(&x_t, stride, &w, n_in, &b, emit)),
        ];
        #[cfg(target_arch = "x86_64")]
        runs.extend([
            run(&|emit| arch::x86::linear_batch_on(false, &x_t, stride, &w, n_in, &b, emit)),
            run(&|emit| arch::x86::linear_batch_on(arch::avx2::available(), &x_t, stride, &w, n_in, &b, emit)),
        ]);
        for (k, x) in xs.iter().enumerate() {
            let want: Vec<Option<i32>> = sums!(linear_ref, x, &w, &b).into_iter().map(Some).collect();
            for got in &runs {
                prop_assert_eq!(&got[k], &want);
            }
        }
        prop_assert!(runs.iter().flatten().flatten().all(Option::is_some), "every row and lane emitted");
    }

    /// The quad transpose the batched layers store their units with moves each value once.
    #[test]
    fn transpose_quad_swaps_rows_and_lanes(rows in any::<[[i16; LANES]; 4]>()) {
        let got = arch::transpose_quad(rows);
        for (l, lane) in got.iter().enumerate() {
            prop_assert_eq!(*lane, [rows[0][l], rows[1][l], rows[2][l], rows[3][l]]);
        }
    }

    /// The 4 x 4 word transpose the batch's input gather uses.
    #[test]
    fn transpose4_swaps_rows_and_columns(rows in any::<[[u32; 4]; 4]>()) {
        let got = arch::transpose4(rows);
        for (i, row) in got.iter().enumerate() {
            prop_assert_eq!(*row, [rows[0][i], rows[1][i], rows[2][i], rows[3][i]]);
        }
    }

    /// The AVX2 loop equals its reference (where the CPU runs AVX2; the reference alone
    /// elsewhere), and the reference follows its definition: any inputs, any weight words,
    /// any place of the tile in its rows, sums that wrap.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_loop_equals_its_reference(
        pairs in 0usize..70,
        pad in 0usize..3,
        at in 0usize..4,
        words in proptest::collection::vec(any::<i32>(), 4 * 70),
        seed in any::<u64>(),
        extreme in any::<bool>(),
    ) {
        use arch::avx2::{quad16, quad16_ref, LANES16};
        let row = 2 * LANES16 + 2 * at + 2 * pad;
        let mut rng = Pcg32::from_seed(seed);
        let x: Vec<i16> = (0..pairs * row + 2 * LANES16)
            .map(|_| if extreme { [i16::MIN, i16::MAX][rng.next_u32() as usize % 2] } else { rng.next_u32() as i16 })
            .collect();
        // Each row's word four times over, as the SSE2 splats lay them.
        let w: Vec<[[i32; 4]; 4]> = words
            .chunks_exact(4)
            .map(|c| core::array::from_fn(|r| [c[r] & if extreme { i32::MIN | 0x8000 } else { -1 }; 4]))
            .collect();
        let want: [[i32; LANES16]; 4] = core::array::from_fn(|r| {
            core::array::from_fn(|l| {
                (0..pairs).fold(0i32, |a, c| {
                    let (x0, x1) = (x[c * row + 2 * at + 2 * l], x[c * row + 2 * at + 2 * l + 1]);
                    let word = w[c][r][0];
                    a.wrapping_add(i32::from(word as i16) * i32::from(x0)).wrapping_add((word >> 16) * i32::from(x1))
                })
            })
        });
        prop_assert_eq!(quad16_ref(&x, row, 2 * at, &w, pairs), want);
        prop_assert_eq!(quad16(&x, row, 2 * at, &w, pairs), want);
    }
}
