//! Tiny models whose outputs are worked out by hand, the f64 reference forward pass on a
//! random MLP, evaluation (NLL) and generation.

mod common;

use common::*;
use runtime::{generate, nll, Error, Model, Pcg32, Quant, SampleConfig, Scratch, Stop};

fn probs(model: &Model, ctx: &[u8]) -> Vec<f64> {
    let mut buf = vec![0.0; model.scratch_words()];
    let mut scratch = Scratch::new(model, &mut buf).unwrap();
    let logits = model.forward(ctx, &mut scratch).unwrap();
    let m = logits.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(f64::from(v)));
    let e: Vec<f64> = logits.iter().map(|&v| (f64::from(v) - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|v| v / s).collect()
}

#[test]
fn bigram_of_log_probabilities_gives_those_probabilities() {
    // Rows: after '.', after 'a', after 'b'. Each row holds log-probabilities.
    let p = [[0.5, 0.25, 0.25], [0.1, 0.1, 0.8], [1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0]];
    let table: Vec<f32> = p.iter().flatten().map(|&v: &f64| v.ln() as f32).collect();
    let bytes = bigram_bytes(".ab", &table, Quant::F32);
    let model = Model::from_bytes(&bytes).unwrap();
    for (prev, row) in p.iter().enumerate() {
        let got = probs(&model, &[prev as u8]);
        for (g, w) in got.iter().zip(row) {
            assert!((g - w).abs() < 1e-6, "after {prev}: {got:?} vs {row:?}");
        }
    }
    // NLL of "ab": -ln p(a|.) - ln p(b|a) - ln p(.|b), over 3 examples.
    let mut buf = vec![0.0; model.scratch_words()];
    let mut scratch = Scratch::new(&model, &mut buf).unwrap();
    let got = nll(&model, &mut scratch, ["ab"]).unwrap();
    let want = -(0.25f64.ln() + 0.8f64.ln() + (1.0f64 / 3.0).ln());
    assert_eq!(got.count, 3);
    assert!((got.sum - want).abs() < 1e-5, "{} vs {want}", got.sum);
    assert!((got.mean() - want / 3.0).abs() < 1e-5);
}

#[test]
fn one_unit_mlp_worked_by_hand() {
    // vocab ".a", block 1, n_embd 1, n_hidden 1.
    // C = [0.5, -1], W1 = [2], b1 = [0], W2 = [1, -1], b2 = [0, 0].
    // After '.': x = 0.5, h = tanh(1), logits = [h, -h], p('a') = 1 / (1 + e^(2h)).
    // After 'a': x = -1, h = tanh(-2), p('a') = 1 / (1 + e^(2h)) again with the new h.
    let p = MlpParams {
        vocab: ".a".into(),
        block_size: 1,
        n_embd: 1,
        n_hidden: 1,
        c: vec![0.5, -1.0],
        w1: vec![2.0],
        b1: vec![0.0],
        w2: vec![1.0, -1.0],
        b2: vec![0.0, 0.0],
    };
    let bytes = p.encode(Quant::F32);
    let model = Model::from_bytes(&bytes).unwrap();
    for (prev, x) in [(0u8, 0.5f64), (1, -1.0)] {
        let h = (2.0 * x).tanh();
        let p_a = 1.0 / (1.0 + (2.0 * h).exp());
        let got = probs(&model, &[prev]);
        assert!((got[1] - p_a).abs() < 1e-6, "after {prev}: {} vs {p_a}", got[1]);
        assert!((got[0] - (1.0 - p_a)).abs() < 1e-6);
    }
    // The int8 file of this model is exact: every row is a single value or +-its max.
    let q = p.encode(Quant::Int8PerRow);
    let qm = Model::from_bytes(&q).unwrap();
    assert_eq!(probs(&qm, &[0]), probs(&model, &[0]));
}

#[test]
fn mlp_forward_matches_f64_reference() {
    let p = MlpParams::random(".abcdefg", 3, 4, 9, 11);
    let bytes = p.encode(Quant::F32);
    let model = Model::from_bytes(&bytes).unwrap();
    let mut buf = vec![0.0; model.scratch_words()];
    let mut scratch = Scratch::new(&model, &mut buf).unwrap();
    for ctx in [[0u8, 0, 0], [0, 0, 3], [1, 7, 2], [7, 7, 7]] {
        let want = p.forward_f64(&ctx);
        let got = model.forward(&ctx, &mut scratch).unwrap();
        for (g, w) in got.iter().zip(&want) {
            assert!((f64::from(*g) - w).abs() < 1e-5, "ctx {ctx:?}: {g} vs {w}");
        }
    }
}

#[test]
fn int8_mlp_stays_close_to_f32() {
    let p = MlpParams::random(".abcdefghijklmnopqrstuvwxyz", 3, 10, 64, 12);
    let (fb, qb) = (p.encode(Quant::F32), p.encode(Quant::Int8PerRow));
    let (f, q) = (Model::from_bytes(&fb).unwrap(), Model::from_bytes(&qb).unwrap());
    let words = ["emma", "olivia", "ava", "isabella", "sophia", "zoe"];
    let run = |m: &Model| {
        let mut buf = vec![0.0; m.scratch_words()];
        let mut s = Scratch::new(m, &mut buf).unwrap();
        nll(m, &mut s, words).unwrap()
    };
    let (nf, nq) = (run(&f), run(&q));
    assert_eq!(nf.count, nq.count);
    assert!((nf.mean() - nq.mean()).abs() < 0.01, "f32 {} int8 {}", nf.mean(), nq.mean());
}

#[test]
fn ram_needed_is_stated_and_enforced() {
    let p = MlpParams::random(".abcdefghijklmnopqrstuvwxyz", 3, 10, 200, 1);
    let bytes = p.encode(Quant::Int8PerRow);
    let model = Model::from_bytes(&bytes).unwrap();
    // ceil(3/4) + 3*10 + 200 + 27, as documented on scratch_words.
    assert_eq!(model.scratch_words(), 258);
    assert_eq!(model.ram_bytes(), 1032);
    assert_eq!(model.n_params(), 11_897);
    let mut small = vec![0.0; 257];
    assert_eq!(Scratch::new(&model, &mut small).unwrap_err(), Error::ScratchTooSmall { need: 258, have: 257 });
    let mut buf = runtime::ScratchBuf::<258>::new();
    assert!(buf.scratch(&model).is_ok());
}

#[test]
fn forward_rejects_bad_context_and_foreign_scratch() {
    let bytes = names_mlp(Quant::F32);
    let model = Model::from_bytes(&bytes).unwrap();
    let mut buf = vec![0.0; model.scratch_words()];
    let mut scratch = Scratch::new(&model, &mut buf).unwrap();
    assert_eq!(model.forward(&[0, 0], &mut scratch).unwrap_err(), Error::ContextLength { expected: 3, found: 2 });
    assert_eq!(
        model.forward(&[0, 0, 27], &mut scratch).unwrap_err(),
        Error::SymbolOutOfRange { id: 27, vocab_size: 27 }
    );
    let other = bigram_bytes(".ab", &[0.0; 9], Quant::F32);
    let other = Model::from_bytes(&other).unwrap();
    assert_eq!(other.forward(&[0], &mut scratch).unwrap_err(), Error::ScratchForOtherModel);
}

#[test]
fn nll_rejects_symbols_outside_the_vocabulary() {
    let bytes = names_mlp(Quant::F32);
    let model = Model::from_bytes(&bytes).unwrap();
    let mut buf = vec![0.0; model.scratch_words()];
    let mut s = Scratch::new(&model, &mut buf).unwrap();
    assert_eq!(nll(&model, &mut s, ["anna", "Bob"]).unwrap_err(), Error::UnknownSymbol { symbol: 'B' });
    assert_eq!(nll(&model, &mut s, ["a.b"]).unwrap_err(), Error::BoundaryInWord);
}

fn names(bytes: &[u8], seed: u64, cfg: SampleConfig, prefix: &str, n: usize) -> Vec<String> {
    let model = Model::from_bytes(bytes).unwrap();
    let mut buf = vec![0.0; model.scratch_words()];
    let mut s = Scratch::new(&model, &mut buf).unwrap();
    let mut rng = Pcg32::from_seed(seed);
    let mut out = heapless::String::<32>::new();
    (0..n)
        .map(|_| {
            generate(&model, &mut s, &mut rng, &cfg, prefix, &mut out).unwrap();
            out.to_string()
        })
        .collect()
}

#[test]
fn generate_is_deterministic_per_seed_and_varies_across_seeds() {
    let bytes = names_mlp(Quant::F32);
    let cfg = SampleConfig::default();
    let a = names(&bytes, 1, cfg, "", 20);
    assert_eq!(a, names(&bytes, 1, cfg, "", 20));
    assert_ne!(a, names(&bytes, 2, cfg, "", 20));
    assert!(a.iter().all(|w| w.chars().all(|c| c.is_ascii_lowercase())));
    // Twenty draws from a random model are not all the same word.
    assert!(a.iter().any(|w| w != &a[0]), "{a:?}");
}

#[test]
fn generate_follows_the_argmax_path_at_temperature_zero() {
    // A bigram that spells "abc" and stops.
    let mut table = vec![-10.0f32; 16];
    for (prev, next) in [(0, 1), (1, 2), (2, 3), (3, 0)] {
        table[prev * 4 + next] = 0.0;
    }
    let bytes = bigram_bytes(".abc", &table, Quant::F32);
    let cfg = SampleConfig { temperature: 0.0, ..SampleConfig::default() };
    assert_eq!(names(&bytes, 0, cfg, "", 2), ["abc", "abc"]);
    // With a prefix, generation continues from the prefix's last symbol.
    assert_eq!(names(&bytes, 0, cfg, "b", 1), ["bc"]);
    // top-k 1 at any temperature is the argmax path too.
    let cfg = SampleConfig { temperature: 5.0, top_k: 1, ..SampleConfig::default() };
    assert_eq!(names(&bytes, 3, cfg, "", 1), ["abc"]);
}

#[test]
fn generate_stops_at_max_len_and_reports_it() {
    // A bigram that never emits the boundary: always 'a'.
    let table = [-100.0, 0.0, -100.0, 0.0];
    let bytes = bigram_bytes(".a", &table, Quant::F32);
    let model = Model::from_bytes(&bytes).unwrap();
    let mut buf = vec![0.0; model.scratch_words()];
    let mut s = Scratch::new(&model, &mut buf).unwrap();
    let mut rng = Pcg32::from_seed(0);
    let mut out = heapless::String::<8>::new();
    let cfg = SampleConfig { max_len: 5, ..SampleConfig::default() };
    assert_eq!(generate(&model, &mut s, &mut rng, &cfg, "", &mut out), Ok(Stop::MaxLen));
    assert_eq!(out, "aaaaa");
    // The output string's capacity bounds the word too.
    let cfg = SampleConfig { max_len: 100, ..SampleConfig::default() };
    assert_eq!(generate(&model, &mut s, &mut rng, &cfg, "", &mut out), Ok(Stop::MaxLen));
    assert_eq!(out, "aaaaaaaa");
}

#[test]
fn generate_with_prefix_starts_every_word_with_it() {
    let bytes = names_mlp(Quant::Int8PerRow);
    for w in names(&bytes, 9, SampleConfig::default(), "ka", 20) {
        assert!(w.starts_with("ka"), "{w}");
    }
}

#[test]
fn generate_rejects_bad_prefix_and_temperature() {
    let bytes = names_mlp(Quant::F32);
    let model = Model::from_bytes(&bytes).unwrap();
    let mut buf = vec![0.0; model.scratch_words()];
    let mut s = Scratch::new(&model, &mut buf).unwrap();
    let mut rng = Pcg32::from_seed(0);
    let mut out = heapless::String::<4>::new();
    let cfg = SampleConfig::default();
    let mut gen = |cfg: &SampleConfig, prefix: &str| generate(&model, &mut s, &mut rng, cfg, prefix, &mut out);
    assert_eq!(gen(&cfg, "K"), Err(Error::UnknownSymbol { symbol: 'K' }));
    assert_eq!(gen(&cfg, "a."), Err(Error::BoundaryInWord));
    assert_eq!(gen(&cfg, "abcde"), Err(Error::PrefixTooLong { len: 5, max: 4 }));
    for t in [-1.0, f32::NAN, f32::INFINITY] {
        let bad = SampleConfig { temperature: t, ..cfg };
        assert_eq!(gen(&bad, ""), Err(Error::BadTemperature));
    }
}
