//! The RNG against published vectors, the sampling settings, and both samplers' statistics.

use makemore_runtime::{float, int, top_k, FloatSampler, IntSampler, Pcg32, SampleConfig, Temperature};

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

#[test]
fn temperatures_parse_exactly() {
    let t = |s: &str| Temperature::parse(s).map(Temperature::milli);
    assert_eq!(t("0.8"), Ok(800));
    assert_eq!(t("1"), Ok(1000));
    assert_eq!(t("1.25"), Ok(1250));
    assert_eq!(t(".5"), Ok(500));
    assert_eq!(t("0"), Ok(0));
    assert_eq!(t("100"), Ok(100_000));
    for bad in ["", ".", "0.0005", "-1", "1e3", "nan", "100.001", "abc", "1.2.3", "99999999999999999999"] {
        assert!(t(bad).is_err(), "{bad:?}");
    }
    assert_eq!(Temperature::from_milli(800).to_string(), "0.8");
    assert_eq!(Temperature::from_milli(1250).to_string(), "1.25");
    assert_eq!(Temperature::from_milli(1005).to_string(), "1.005");
    assert_eq!(Temperature::ONE.to_string(), "1");
    // Above 100 is refused when sampling starts.
    let cfg = SampleConfig { temperature: Temperature::from_milli(100_001), ..SampleConfig::DEFAULT };
    assert!(FloatSampler::new(&cfg).is_err() && IntSampler::new(&cfg).is_err());
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
        counts[float::sample_mult(&probs, rng.next_f32())] += 1;
    }
    let chi2 = chi_square(&counts, &[0.1, 0.2, 0.3, 0.4]);
    assert!(chi2 < CHI2_3DOF_P001, "chi2 {chi2}, counts {counts:?}");
}

#[test]
fn sample_mult_edges() {
    let probs = [0.25f32, 0.0, 0.75, 0.0];
    assert_eq!(float::sample_mult(&probs, 0.0), 0);
    assert_eq!(float::sample_mult(&probs, 0.2499), 0);
    assert_eq!(float::sample_mult(&probs, 0.25), 2);
    // A coin at the top never lands on a zero-probability entry, even past the rounded sum.
    assert_eq!(float::sample_mult(&probs, 0.99999994), 2);
    assert_eq!(float::sample_mult(&probs, 1.5), 2);
    assert_eq!(float::sample_mult(&[], 0.5), 0);
    assert_eq!(float::sample_mult(&[0.0, 0.0], 0.5), 0);
}

/// Counts of each symbol drawn `n` times from `logits` (f32) with `cfg`, and the RNG after.
fn float_counts(logits: &[f32], cfg: SampleConfig, n: usize) -> (Vec<u64>, Pcg32) {
    let s = FloatSampler::new(&cfg).unwrap();
    let mut rng = Pcg32::from_seed(17);
    let mut counts = vec![0u64; logits.len()];
    let mut buf = logits.to_vec();
    for _ in 0..n {
        buf.copy_from_slice(logits);
        counts[float::sample(&mut buf, &s, &mut rng)] += 1;
    }
    (counts, rng)
}

/// The same for Q12 integer logits.
fn int_counts(logits: &[i32], cfg: SampleConfig, n: usize) -> (Vec<u64>, Pcg32) {
    let s = IntSampler::new(&cfg).unwrap();
    let mut rng = Pcg32::from_seed(17);
    let mut counts = vec![0u64; logits.len()];
    let mut buf = logits.to_vec();
    for _ in 0..n {
        buf.copy_from_slice(logits);
        counts[int::sample(&mut buf, &s, &mut rng)] += 1;
    }
    (counts, rng)
}

#[test]
fn temperature_and_top_k_reshape_the_distribution_in_both_samplers() {
    let p = [0.1f64, 0.2, 0.3, 0.4];
    let logits: Vec<f32> = p.iter().map(|v| v.ln() as f32).collect();
    let q12: Vec<i32> = p.iter().map(|v| (v.ln() * 4096.0).round() as i32).collect();
    let cfg = SampleConfig::DEFAULT;
    let sq: Vec<f64> = p.iter().map(|v| v.sqrt()).collect();
    let z: f64 = sq.iter().sum();
    let t2: Vec<f64> = sq.iter().map(|v| v / z).collect();
    let cases = [
        // T = 1: the model's own distribution.
        (cfg, p.to_vec(), CHI2_3DOF_P001),
        // T = 2: p^(1/2), renormalized.
        (SampleConfig { temperature: Temperature::from_milli(2000), ..cfg }, t2, CHI2_3DOF_P001),
        // top-k 2: only the two most likely, in proportion 3:4 (1 degree of freedom: 10.83).
        (SampleConfig { top_k: 2, ..cfg }, vec![0.0, 0.0, 3.0 / 7.0, 4.0 / 7.0], 10.83),
    ];
    for (cfg, want, limit) in cases {
        let (c, _) = float_counts(&logits, cfg, 100_000);
        assert!(chi_square(&c, &want) < limit, "float {cfg:?}: {c:?}");
        let (c, _) = int_counts(&q12, cfg, 100_000);
        assert!(chi_square(&c, &want) < limit, "int {cfg:?}: {c:?}");
        if cfg.top_k == 2 {
            assert_eq!(&c[..2], [0, 0]);
        }
    }
}

#[test]
fn temperature_zero_is_the_argmax_and_draws_no_random_number() {
    let cfg = SampleConfig { temperature: Temperature::ARGMAX, ..SampleConfig::DEFAULT };
    let untouched = Pcg32::from_seed(17);
    let (c, rng) = float_counts(&[0.0, 2.0, 2.0, -1.0], cfg, 100);
    assert_eq!((c, rng), (vec![0, 100, 0, 0], untouched), "float: first of the ties, RNG unchanged");
    let (c, rng) = int_counts(&[0, 9000, 9000, -4096], cfg, 100);
    assert_eq!((c, rng), (vec![0, 100, 0, 0], untouched), "int: first of the ties, RNG unchanged");
    // Any other temperature draws exactly one number per symbol.
    let mut once = Pcg32::from_seed(17);
    once.next_u32();
    let cfg = SampleConfig { temperature: Temperature::ONE, ..cfg };
    assert_eq!(float_counts(&[0.0, 1.0], cfg, 1).1, once);
    assert_eq!(int_counts(&[0, 4096], cfg, 1).1, once);
}

#[test]
fn integer_weights_keep_every_symbol_possible() {
    // A logit 40 nats below the rest still has weight 1 (probability about 2^-24 here), so
    // the integer model's NLL is finite; top-k removes symbols entirely (weight 0).
    let mut z = [0, -40 * 4096, 0];
    let s = IntSampler::new(&SampleConfig::DEFAULT).unwrap();
    let mut rng = Pcg32::from_seed(1);
    int::sample(&mut z, &s, &mut rng);
    assert_eq!(z, [1 << 23, 1, 1 << 23]);
}

#[test]
fn top_k_keeps_k_entries_breaking_ties_towards_lower_ids() {
    let ninf = f32::NEG_INFINITY;
    let mut x = [1.0f32, 3.0, 2.0, 3.0, 0.0];
    top_k(&mut x, 2, ninf);
    assert_eq!(x, [ninf, 3.0, ninf, 3.0, ninf]);
    let mut x = [2.0f32, 2.0, 2.0, 1.0];
    top_k(&mut x, 2, ninf);
    assert_eq!(x, [2.0, 2.0, ninf, ninf]);
    let mut x = [5.0f32, 1.0, 4.0];
    top_k(&mut x, 0, ninf);
    assert_eq!(x, [5.0, 1.0, 4.0]);
    top_k(&mut x, 3, ninf);
    assert_eq!(x, [5.0, 1.0, 4.0]);
    // Fewer finite entries than k: all finite ones stay, NaN goes.
    let mut x = [ninf, 1.0, f32::NAN, ninf];
    top_k(&mut x, 3, ninf);
    assert_eq!(x[1], 1.0);
    assert!(x.iter().enumerate().all(|(i, &v)| i == 1 || v == ninf), "{x:?}");
    // Integers, with i32::MIN as the mark.
    let mut z = [7, -3, 7, 9];
    top_k(&mut z, 2, i32::MIN);
    assert_eq!(z, [7, i32::MIN, i32::MIN, 9]);
}
