//! Kernels against f64 references, with the tolerances stated per test.

use proptest::prelude::*;
use runtime::kernels::{
    argmax, dequant_i8, linear_f32, linear_f32_x4, linear_i8, linear_i8_x4, logsumexp, softmax, tanh,
};
use runtime::to_words;

fn softmax_f64(x: &[f32]) -> Vec<f64> {
    let m = x.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(f64::from(v)));
    let e: Vec<f64> = x.iter().map(|&v| (f64::from(v) - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|v| v / s).collect()
}

fn softmaxed(x: &[f32]) -> Vec<f32> {
    let mut y = x.to_vec();
    softmax(&mut y);
    y
}

/// Softmax probabilities are within 1e-6 absolute of the f64 reference.
const SOFTMAX_TOL: f64 = 1e-6;

#[test]
fn softmax_matches_f64_reference() {
    let mut rng = runtime::Pcg32::from_seed(5);
    for n in [1, 2, 3, 27, 100, 256] {
        for scale in [0.1f32, 1.0, 10.0, 80.0] {
            let x: Vec<f32> = (0..n).map(|_| (rng.next_f32() * 2.0 - 1.0) * scale).collect();
            let (got, want) = (softmaxed(&x), softmax_f64(&x));
            for (g, w) in got.iter().zip(&want) {
                assert!((f64::from(*g) - w).abs() <= SOFTMAX_TOL, "n {n} scale {scale}: {g} vs {w}");
            }
            let sum: f32 = got.iter().sum();
            assert!((sum - 1.0).abs() <= 1e-5, "sum {sum}");
        }
    }
}

#[test]
fn softmax_extreme_logits() {
    // +-1000 would overflow exp() without subtracting the max.
    assert_eq!(softmaxed(&[1000.0, -1000.0, 0.0]), [1.0, 0.0, 0.0]);
    assert_eq!(softmaxed(&[-1000.0, 1000.0]), [0.0, 1.0]);
    let p = softmaxed(&[-1000.0, -1000.0, -1000.0, -1000.0]);
    assert!(p.iter().all(|&v| v == 0.25), "{p:?}");
    // All equal: uniform.
    let p = softmaxed(&[3.5; 7]);
    for v in p {
        assert!((f64::from(v) - 1.0 / 7.0).abs() <= SOFTMAX_TOL);
    }
    // One huge logit takes all the mass; the rest underflow to exactly 0.
    assert_eq!(softmaxed(&[1.0, f32::MAX, 2.0]), [0.0, 1.0, 0.0]);
    // A difference of 10 between two logits, far from zero.
    let p = softmaxed(&[1e4, 1e4 + 10.0]);
    assert!((f64::from(p[1]) - 1.0 / (1.0 + (-10f64).exp())).abs() <= SOFTMAX_TOL);
}

#[test]
fn softmax_degenerate_inputs_stay_a_distribution() {
    assert_eq!(softmaxed(&[f32::INFINITY, 0.0, f32::INFINITY]), [0.5, 0.0, 0.5]);
    assert_eq!(softmaxed(&[f32::NEG_INFINITY; 4]), [0.25; 4]);
    assert_eq!(softmaxed(&[f32::NEG_INFINITY, 0.0]), [0.0, 1.0]);
    assert_eq!(softmaxed(&[f32::NAN, 0.0]), [0.0, 1.0]);
    assert_eq!(softmaxed(&[]), Vec::<f32>::new());
}

/// tanh is within 2.4e-7 absolute (about 2 ulp near +-1) of f64's tanh.
#[test]
fn tanh_matches_f64_reference() {
    let mut xs: Vec<f32> = (-3000..=3000).map(|i| i as f32 * 0.01).collect();
    xs.extend([-1000.0, 1000.0, 1e-30, -1e-30, 0.0, f32::MAX, f32::MIN]);
    let mut ys = xs.clone();
    tanh(&mut ys);
    for (x, y) in xs.iter().zip(&ys) {
        let want = f64::from(*x).tanh();
        assert!((f64::from(*y) - want).abs() <= 2.4e-7, "tanh({x}) = {y}, want {want}");
        assert!(y.abs() <= 1.0);
    }
    let mut inf = [f32::INFINITY, f32::NEG_INFINITY];
    tanh(&mut inf);
    assert_eq!(inf, [1.0, -1.0]);
}

#[test]
fn logsumexp_matches_reference_and_extremes() {
    let x = [0.5f32, -1.0, 2.0, 0.0];
    let want = x.iter().map(|&v| f64::from(v).exp()).sum::<f64>().ln();
    assert!((f64::from(logsumexp(&x)) - want).abs() <= 1e-6);
    assert_eq!(logsumexp(&[1000.0, -1000.0]), 1000.0);
    assert!((logsumexp(&[-1000.0, -1000.0]) - (-1000.0 + 2f32.ln())).abs() <= 1e-4);
    assert_eq!(logsumexp(&[]), f32::NEG_INFINITY);
}

#[test]
fn argmax_takes_first_of_ties_and_ignores_nan() {
    assert_eq!(argmax(&[1.0, 3.0, 3.0, 2.0]), 1);
    assert_eq!(argmax(&[f32::NAN, -5.0, f32::NAN]), 1);
    assert_eq!(argmax(&[]), 0);
}

#[test]
fn linear_kernels_match_f64_reference() {
    let (n_in, n_out) = (7, 5);
    let w: Vec<f32> = (0..n_in * n_out).map(|i| ((i * 37 % 23) as f32 - 11.0) / 7.0).collect();
    let b: Vec<f32> = (0..n_out).map(|i| i as f32 * 0.25 - 0.5).collect();
    let x: Vec<f32> = (0..n_in).map(|i| (i as f32 - 3.0) * 0.3).collect();
    let want: Vec<f64> = (0..n_out)
        .map(|i| (0..n_in).map(|j| f64::from(w[i * n_in + j]) * f64::from(x[j])).sum::<f64>() + f64::from(b[i]))
        .collect();
    let mut out = vec![0.0; n_out];
    linear_f32(&mut out, &x, &to_words(&w), &to_words(&b));
    for (o, w) in out.iter().zip(&want) {
        assert!((f64::from(*o) - w).abs() <= 1e-5, "{o} vs {w}");
    }
    // int8: the integer weights times one scale per row reproduce the same products exactly.
    let q: Vec<i8> = (0..n_in * n_out).map(|i| (i * 37 % 23) as i8 - 11).collect();
    let scales = vec![1.0f32 / 7.0; n_out];
    linear_i8(&mut out, &x, &q, &to_words(&scales), &to_words(&b));
    for (o, w) in out.iter().zip(&want) {
        assert!((f64::from(*o) - w).abs() <= 1e-5, "{o} vs {w}");
    }
}

#[test]
fn dequant_i8_scales_each_value() {
    let mut out = [0.0; 3];
    dequant_i8(&mut out, &[-127, 0, 64], 0.5);
    assert_eq!(out, [-63.5, 0.0, 32.0]);
}

#[test]
fn kernels_tolerate_short_slices_without_panicking() {
    let mut out = [9.0f32; 3];
    linear_f32(&mut out, &[1.0, 2.0], &to_words(&[1.0, 1.0]), &to_words(&[0.5]));
    assert_eq!(out, [3.5, 9.0, 9.0]);
    linear_i8(&mut out, &[], &[], &[], &to_words(&[1.0, 2.0]));
    assert_eq!(out, [1.0, 2.0, 9.0]);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    /// The four-rows-at-a-time kernels give the reference kernels' results bit for bit, for
    /// every shape (row counts that are not multiples of 4 included) and extreme values.
    #[test]
    fn fast_linear_kernels_equal_the_reference_bit_for_bit(
        n_in in 0usize..40,
        n_out in 0usize..23,
        seed in any::<u64>(),
        scale in prop::sample::select(vec![1e-3f32, 1.0, 30.0, 1e30]),
    ) {
        let mut rng = runtime::Pcg32::from_seed(seed);
        let mut r = |s: f32| (rng.next_f32() * 2.0 - 1.0) * s;
        let x: Vec<f32> = (0..n_in).map(|_| r(scale)).collect();
        let w: Vec<f32> = (0..n_in * n_out).map(|_| r(1.0)).collect();
        let b: Vec<f32> = (0..n_out).map(|_| r(1.0)).collect();
        let q: Vec<i8> = w.iter().map(|v| (v * 127.0) as i8).collect();
        let s: Vec<f32> = (0..n_out).map(|_| r(0.01).abs()).collect();
        let (w, b, s) = (to_words(&w), to_words(&b), to_words(&s));
        let (mut want, mut got) = (vec![0.0f32; n_out], vec![0.0f32; n_out]);
        linear_f32(&mut want, &x, &w, &b);
        linear_f32_x4(&mut got, &x, &w, &b);
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        prop_assert_eq!(bits(&got), bits(&want));
        linear_i8(&mut want, &x, &q, &s, &b);
        linear_i8_x4(&mut got, &x, &q, &s, &b);
        prop_assert_eq!(bits(&got), bits(&want));
    }
}
