//! The integer kernels: every fast kernel gives exactly the reference's sums, on shapes with
//! every remainder (rows mod 4, columns mod 4), and the DSP instructions' safe references are
//! the instructions' definitions.

use proptest::prelude::*;
use runtime::arch::dsp::{smlad_ref, sxtb16_ref, sxtb16_ror8_ref};
use runtime::int_kernels::{layout_index, linear_batch, linear_dsp, linear_quads, linear_ref, to_row_quads, Sum};
use runtime::Pcg32;

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
    for n_out in 1..=13 {
        for n_in in 1..=13 {
            let (x, w, b, dense) = layer(n_out, n_in, (n_out * 100 + n_in) as u64);
            let want = dense_sums(&x, &dense, &b);
            assert_eq!(sums!(linear_ref, &x, &w, &b), want, "ref {n_out}x{n_in}");
            assert_eq!(sums!(linear_quads, &x, &w, &b), want, "quads {n_out}x{n_in}");
            assert_eq!(sums!(linear_dsp, &x, &w, &b), want, "dsp {n_out}x{n_in}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn fast_kernels_equal_the_reference(n_out in 0usize..40, n_in in 0usize..70, seed in any::<u64>()) {
        let (x, w, b, _) = layer(n_out, n_in, seed);
        let want = sums!(linear_ref, &x, &w, &b);
        prop_assert_eq!(&sums!(linear_quads, &x, &w, &b), &want);
        prop_assert_eq!(&sums!(linear_dsp, &x, &w, &b), &want);
    }

    #[test]
    fn dsp_references_follow_their_definitions(x in any::<u32>(), y in any::<u32>(), acc in any::<i32>()) {
        let h = |v: u32, k: u32| (v >> (16 * k)) as u16 as i16 as i32;
        let b = |v: u32, k: u32| (v >> (8 * k)) as u8 as i8 as i16 as u16 as u32;
        prop_assert_eq!(smlad_ref(x, y, acc), acc.wrapping_add(h(x, 0) * h(y, 0)).wrapping_add(h(x, 1) * h(y, 1)));
        prop_assert_eq!(sxtb16_ref(x), b(x, 0) | (b(x, 2) << 16));
        prop_assert_eq!(sxtb16_ror8_ref(x), b(x, 1) | (b(x, 3) << 16));
    }

    #[test]
    fn batch_kernel_equals_the_reference_per_lane(n_out in 1usize..20, n_in in 1usize..20, n in 1usize..20, seed in any::<u64>()) {
        let (_, w, b, _) = layer(n_out, n_in, seed);
        let xs: Vec<Vec<i16>> = (0..n).map(|k| layer(1, n_in, seed ^ (k as u64 + 1)).0).collect();
        // Pair-major: [ceil(n_in / 2)][n][2], the odd last feature paired with 0.
        let mut x_t = vec![0i16; n_in.div_ceil(2) * n * 2];
        for (k, x) in xs.iter().enumerate() {
            for (j, &v) in x.iter().enumerate() {
                x_t[(j / 2 * n + k) * 2 + j % 2] = v;
            }
        }
        let mut got = vec![vec![0i32; n_out]; n];
        linear_batch(&x_t, n, n_in, &w, &b, |i, k, acc| got[k][i] = acc);
        for (k, x) in xs.iter().enumerate() {
            prop_assert_eq!(&got[k], &sums!(linear_ref, x, &w, &b));
        }
    }
}
