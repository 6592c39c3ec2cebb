//! The RNG against published vectors, and the sampler's statistics.

use runtime::{sample, sample_mult, top_k, Pcg32, SampleConfig};

#[test]
fn pcg32_matches_the_reference_demo_vectors() {
    // pcg32-demo from the PCG reference implementation: pcg32_srandom_r(&rng, 42, 54).
    let mut rng = Pcg32::new(42, 54);
    let got: Vec<u32> = (0..6).map(|_| rng.next_u32()).collect();
    assert_eq!(got, [0xa15c02b7, 0x7b47f409, 0xba1d3330, 0x83d2f293, 0xbfa4784b, 0xcbed606e]);
    assert_eq!(Pcg32::from_seed(42), Pcg32::new(42, 54));
}

#[test]
fn pcg32_matches_rand_pcg() {
    use rand_core::RngCore;
    for (seed, stream) in [(0u64, 0u64), (1, 1), (u64::MAX, 12345), (0xdead_beef, u64::MAX >> 1)] {
        let mut ours = Pcg32::new(seed, stream);
        let mut theirs = rand_pcg::Pcg32::new(seed, stream);
        for _ in 0..1000 {
            assert_eq!(ours.next_u32(), theirs.next_u32());
        }
    }
}

#[test]
fn coins_are_in_unit_interval() {
    let mut rng = Pcg32::from_seed(3);
    let coins: Vec<f32> = (0..100_000).map(|_| rng.next_f32()).collect();
    assert!(coins.iter().all(|&c| (0.0..1.0).contains(&c)));
    let mean = coins.iter().map(|&c| f64::from(c)).sum::<f64>() / coins.len() as f64;
    assert!((mean - 0.5).abs() < 0.005, "mean {mean}");
}

/// Pearson's chi-square statistic of observed counts against expected probabilities.
fn chi_square(counts: &[u64], probs: &[f64]) -> f64 {
    let n: u64 = counts.iter().sum();
    counts
        .iter()
        .zip(probs)
        .filter(|(_, &p)| p > 0.0)
        .map(|(&o, &p)| {
            let e = p * n as f64;
            (o as f64 - e).powi(2) / e
        })
        .sum()
}

/// Chi-square critical value for 3 degrees of freedom at p = 0.001. The draws are seeded, so
/// this is not flaky: a biased sampler fails it by orders of magnitude.
const CHI2_3DOF_P001: f64 = 16.27;

#[test]
fn sample_mult_draws_from_the_distribution() {
    let probs = [0.1f32, 0.2, 0.3, 0.4];
    let mut rng = Pcg32::from_seed(1);
    let mut counts = [0u64; 4];
    for _ in 0..100_000 {
        counts[sample_mult(&probs, rng.next_f32())] += 1;
    }
    let chi2 = chi_square(&counts, &[0.1, 0.2, 0.3, 0.4]);
    assert!(chi2 < CHI2_3DOF_P001, "chi2 {chi2}, counts {counts:?}");
}

#[test]
fn sample_mult_edges() {
    let probs = [0.25f32, 0.0, 0.75, 0.0];
    assert_eq!(sample_mult(&probs, 0.0), 0);
    assert_eq!(sample_mult(&probs, 0.2499), 0);
    assert_eq!(sample_mult(&probs, 0.25), 2);
    // A coin at the top never lands on a zero-probability entry, even past the rounded sum.
    assert_eq!(sample_mult(&probs, 0.99999994), 2);
    assert_eq!(sample_mult(&probs, 1.5), 2);
    assert_eq!(sample_mult(&[], 0.5), 0);
    assert_eq!(sample_mult(&[0.0, 0.0], 0.5), 0);
}

fn sample_counts(logits: &[f32], cfg: SampleConfig, n: usize) -> Vec<u64> {
    let mut rng = Pcg32::from_seed(17);
    let mut counts = vec![0u64; logits.len()];
    let mut buf = logits.to_vec();
    for _ in 0..n {
        buf.copy_from_slice(logits);
        counts[sample(&mut buf, &cfg, &mut rng).unwrap()] += 1;
    }
    counts
}

#[test]
fn temperature_and_top_k_reshape_the_distribution() {
    let p = [0.1f64, 0.2, 0.3, 0.4];
    let logits: Vec<f32> = p.iter().map(|v| v.ln() as f32).collect();
    let cfg = SampleConfig::default();

    // T = 1: the model's own distribution.
    let c = sample_counts(&logits, cfg, 100_000);
    assert!(chi_square(&c, &p) < CHI2_3DOF_P001, "{c:?}");

    // T = 2: p^(1/2), renormalized.
    let sq: Vec<f64> = p.iter().map(|v| v.sqrt()).collect();
    let z: f64 = sq.iter().sum();
    let want: Vec<f64> = sq.iter().map(|v| v / z).collect();
    let c = sample_counts(&logits, SampleConfig { temperature: 2.0, ..cfg }, 100_000);
    assert!(chi_square(&c, &want) < CHI2_3DOF_P001, "{c:?}");

    // top-k 2: only the two most likely, in proportion 3:4 (1 degree of freedom: 10.83).
    let c = sample_counts(&logits, SampleConfig { top_k: 2, ..cfg }, 100_000);
    assert_eq!(&c[..2], [0, 0]);
    assert!(chi_square(&c, &[0.0, 0.0, 3.0 / 7.0, 4.0 / 7.0]) < 10.83, "{c:?}");

    // T = 0: always the argmax, and no random numbers drawn.
    let c = sample_counts(&logits, SampleConfig { temperature: 0.0, ..cfg }, 100);
    assert_eq!(c, [0, 0, 0, 100]);
}

#[test]
fn top_k_keeps_k_entries_breaking_ties_towards_lower_ids() {
    let mut x = [1.0f32, 3.0, 2.0, 3.0, 0.0];
    top_k(&mut x, 2);
    assert_eq!(x, [f32::NEG_INFINITY, 3.0, f32::NEG_INFINITY, 3.0, f32::NEG_INFINITY]);
    let mut x = [2.0f32, 2.0, 2.0, 1.0];
    top_k(&mut x, 2);
    assert_eq!(x, [2.0, 2.0, f32::NEG_INFINITY, f32::NEG_INFINITY]);
    let mut x = [5.0f32, 1.0, 4.0];
    top_k(&mut x, 0);
    assert_eq!(x, [5.0, 1.0, 4.0]);
    top_k(&mut x, 3);
    assert_eq!(x, [5.0, 1.0, 4.0]);
    // Fewer finite entries than k: all finite ones stay, NaN goes.
    let mut x = [f32::NEG_INFINITY, 1.0, f32::NAN, f32::NEG_INFINITY];
    top_k(&mut x, 3);
    assert_eq!(x[1], 1.0);
    assert!(x.iter().enumerate().all(|(i, &v)| i == 1 || v == f32::NEG_INFINITY), "{x:?}");
}
