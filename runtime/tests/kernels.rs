//! Kernels against f64 references, with the tolerances stated per test.

use makemore_runtime::kernels::{argmax, linear_f32, linear_f32_batch, linear_f32_x4, logsumexp, softmax, tanh};
use makemore_runtime::to_words;
use proptest::prelude::*;

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
    let mut rng = makemore_runtime::Pcg32::from_seed(5);
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
}

#[test]
fn kernels_tolerate_short_slices_without_panicking() {
    let mut out = [9.0f32; 3];
    linear_f32(&mut out, &[1.0, 2.0], &to_words(&[1.0, 1.0]), &to_words(&[0.5]));
    assert_eq!(out, [3.5, 9.0, 9.0]);
    linear_f32(&mut out, &[], &[], &to_words(&[1.0, 2.0]));
    assert_eq!(out, [1.0, 2.0, 9.0]);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    /// The four-rows-at-a-time kernel gives the reference kernel's results bit for bit, for
    /// every shape (row counts that are not multiples of 4 included) and extreme values.
    #[test]
    fn fast_linear_kernels_equal_the_reference_bit_for_bit(
        n_in in 0usize..40,
        n_out in 0usize..23,
        seed in any::<u64>(),
        scale in prop::sample::select(vec![1e-3f32, 1.0, 30.0, 1e30]),
    ) {
        let mut rng = makemore_runtime::Pcg32::from_seed(seed);
        let mut r = |s: f32| (rng.next_f32() * 2.0 - 1.0) * s;
        let x: Vec<f32> = (0..n_in).map(|_| r(scale)).collect();
        let w: Vec<f32> = (0..n_in * n_out).map(|_| r(1.0)).collect();
        let b: Vec<f32> = (0..n_out).map(|_| r(1.0)).collect();
        let (w, b) = (to_words(&w), to_words(&b));
        let (mut want, mut got) = (vec![0.0f32; n_out], vec![0.0f32; n_out]);
        linear_f32(&mut want, &x, &w, &b);
        linear_f32_x4(&mut got, &x, &w, &b);
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        prop_assert_eq!(bits(&got), bits(&want));
    }

    /// Column k of the batch kernel is the reference kernel on example k, bit for bit.
    #[test]
    fn batch_linear_kernel_equals_the_reference_per_column(
        n_in in 0usize..20, n_out in 0usize..30, n_batch in 1usize..40, seed in any::<u64>(),
    ) {
        let mut rng = makemore_runtime::Pcg32::from_seed(seed);
        let mut r = |s: f32| (rng.next_f32() * 2.0 - 1.0) * s;
        let xs: Vec<Vec<f32>> = (0..n_batch).map(|_| (0..n_in).map(|_| r(3.0)).collect()).collect();
        let x_t: Vec<f32> = (0..n_in).flat_map(|j| xs.iter().map(move |x| x[j])).collect();
        let w = to_words(&(0..n_in * n_out).map(|_| r(1.0)).collect::<Vec<_>>());
        let b = to_words(&(0..n_out).map(|_| r(1.0)).collect::<Vec<_>>());
        let mut out_t = vec![0.0f32; n_out * n_batch];
        let mut want = vec![0.0f32; n_out];
        linear_f32_batch(&mut out_t, &x_t, n_batch, &w, &b);
        for (k, x) in xs.iter().enumerate() {
            linear_f32(&mut want, x, &w, &b);
            let got: Vec<u32> = (0..n_out).map(|i| out_t[i * n_batch + k].to_bits()).collect();
            prop_assert_eq!(got, want.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
        }
    }
}

/// With no inputs the batch kernel's output is the bias itself, as the reference's: -0.0
/// stays -0.0.
#[test]
fn batch_linear_kernel_without_inputs_copies_the_bias() {
    let b = to_words(&[-0.0, 1.5]);
    for n_batch in [1, 3] {
        let mut out_t = vec![7.0f32; 2 * n_batch];
        let mut want = vec![0.0f32; 2];
        linear_f32_batch(&mut out_t, &[], n_batch, &[], &b);
        linear_f32(&mut want, &[], &[], &b);
        let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&[out_t[0], out_t[n_batch]]), bits(&want));
    }
}
