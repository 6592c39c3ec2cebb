//! Tiny models worked out by hand, references computed independently of the kernels (f64
//! for the float path, the stated integer rules for the integer model), evaluation (NLL)
//! and generation.

mod common;

use common::*;
use makemore_runtime::quant::{requant, tanh_q15, EMBED_SHIFT};
use makemore_runtime::{
    generate, name_capacity, nll, Error, Model, Network, Pcg32, Quant, SampleConfig, Scratch, ScratchBuf, Stop,
    Temperature, MAX_LEN,
};

fn probs(model: &Model, ctx: &[u8]) -> Vec<f64> {
    let net = model.float().unwrap();
    let mut buf = vec![0; net.scratch_words()];
    let mut scratch = Scratch::new(&net, &mut buf).unwrap();
    let logits = net.logits(ctx, &mut scratch).unwrap();
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
    let bytes = encoded(&bigram(".ab", &table), Quant::F32);
    let model = Model::from_bytes(&bytes).unwrap();
    for (prev, row) in p.iter().enumerate() {
        let got = probs(&model, &[prev as u8]);
        for (g, w) in got.iter().zip(row) {
            assert!((g - w).abs() < 1e-6, "after {prev}: {got:?} vs {row:?}");
        }
    }
    // NLL of "ab": -ln p(a|.) - ln p(b|a) - ln p(.|b), over 3 examples, in both formats.
    let want = -(0.25f64.ln() + 0.8f64.ln() + (1.0f64 / 3.0).ln());
    for quant in [Quant::F32, Quant::Int8] {
        let bytes = encoded(&bigram(".ab", &table), quant);
        let model = Model::from_bytes(&bytes).unwrap();
        let mut buf = vec![0; model.scratch_words()];
        let mut scratch = Scratch::new(&model, &mut buf).unwrap();
        let got = nll(&model, &mut scratch, ["ab"]).unwrap();
        assert_eq!(got.count, 3);
        // int8 rows hold log-probabilities to within half a step of 1.1/127 nats.
        let tol = if quant == Quant::F32 { 1e-5 } else { 0.02 };
        assert!((got.sum - want).abs() < tol, "{quant:?}: {} vs {want}", got.sum);
    }
}

#[test]
fn one_unit_mlp_worked_by_hand() {
    // vocab ".a", block 1, n_embd 1, n_hidden 1.
    // C = [0.5, -1], W1 = [2], b1 = [0], W2 = [1, -1], b2 = [0, 0].
    // After '.': x = 0.5, h = tanh(1), logits = [h, -h], p('a') = 1 / (1 + e^(2h)).
    let m = makemore_runtime::FloatModel {
        vocab: ".a".into(),
        block_size: 1,
        body: makemore_runtime::FloatBody::Mlp {
            n_embd: 1,
            c: vec![0.5, -1.0],
            layers: vec![
                makemore_runtime::FloatLinear { n_merge: 1, w: vec![2.0], b: vec![0.0] },
                makemore_runtime::FloatLinear { n_merge: 1, w: vec![1.0, -1.0], b: vec![0.0, 0.0] },
            ],
        },
    };
    let bytes = encoded(&m, Quant::F32);
    let model = Model::from_bytes(&bytes).unwrap();
    for (prev, x) in [(0u8, 0.5f64), (1, -1.0)] {
        let h = (2.0 * x).tanh();
        let p_a = 1.0 / (1.0 + (2.0 * h).exp());
        let got = probs(&model, &[prev]);
        assert!((got[1] - p_a).abs() < 1e-6, "after {prev}: {} vs {p_a}", got[1]);
        assert!((got[0] - (1.0 - p_a)).abs() < 1e-6);
    }
}

#[test]
fn float_forward_matches_f64_reference_for_every_shape() {
    let models = [
        mlp(".abcdefg", 3, 4, 9, 11),
        stack(".abcdefg", 3, 5, &[(3, 12), (1, 10), (1, 8)], 3),
        stack(".abcdefg", 8, 4, &[(2, 9), (2, 7), (2, 6), (1, 8)], 4),
        stack(".abcdefg", 6, 3, &[(3, 5), (2, 8)], 6),
    ];
    for m in &models {
        let bytes = encoded(m, Quant::F32);
        let model = Model::from_bytes(&bytes).unwrap();
        let net = model.float().unwrap();
        let mut buf = vec![0; net.scratch_words()];
        let mut scratch = Scratch::new(&net, &mut buf).unwrap();
        let mut rng = Pcg32::from_seed(2);
        for _ in 0..20 {
            let ctx: Vec<u8> = (0..m.block_size).map(|_| (rng.next_u32() % 8) as u8).collect();
            let want = forward_f64(m, &ctx);
            let got = net.logits(&ctx, &mut scratch).unwrap();
            for (g, w) in got.iter().zip(&want) {
                assert!((f64::from(*g) - w).abs() < 1e-5, "ctx {ctx:?}: {g} vs {w}");
            }
        }
    }
}

/// The integer model's logits computed from the decoded integer tensors by the rules of
/// `quant` (i64 sums, requantisation, table tanh), one weight at a time: independent of
/// the kernels' loops, layouts and SIMD.
fn int_reference(model: &Model, ctx: &[u8]) -> Vec<i32> {
    let t = model.tensors();
    let h = model.header();
    let c = &t[0];
    let mut act: Vec<i64> = ctx
        .iter()
        .flat_map(|&id| (0..h.n_embd).map(move |e| (c.get(usize::from(id), e).unwrap() as i64) << EMBED_SHIFT))
        .collect();
    let n_layers = h.layers.as_slice().len();
    for k in 0..n_layers {
        let (w, b) = (&t[1 + 2 * k], &t[2 + 2 * k]);
        let mut next = Vec::new();
        for x in act.chunks(w.cols) {
            for i in 0..w.rows {
                let sum: i64 =
                    b.get(0, i).unwrap() as i64 + (0..w.cols).map(|j| w.get(i, j).unwrap() as i64 * x[j]).sum::<i64>();
                let y = requant(i32::try_from(sum).unwrap(), w.multiplier(i).unwrap());
                next.push(if k + 1 < n_layers {
                    i64::from(tanh_q15(y.clamp(-32768, 32767) as i16))
                } else {
                    i64::from(y)
                });
            }
        }
        act = next;
    }
    act.iter().map(|&v| v as i32).collect()
}

#[test]
fn integer_forward_equals_the_stated_rules_for_every_shape() {
    for (name, bytes) in shapes(Quant::Int8).into_iter().filter(|(n, _)| *n != "bigram") {
        let model = Model::from_bytes(&bytes).unwrap();
        let net = model.int().unwrap();
        let mut buf = vec![0; net.scratch_words()];
        let mut scratch = Scratch::new(&net, &mut buf).unwrap();
        let mut rng = Pcg32::from_seed(3);
        for _ in 0..30 {
            let ctx: Vec<u8> = (0..net.block_size()).map(|_| (rng.next_u32() % 27) as u8).collect();
            assert_eq!(net.logits(&ctx, &mut scratch).unwrap(), int_reference(&model, &ctx), "{name} ctx {ctx:?}");
        }
    }
}

#[test]
fn integer_model_stays_close_to_the_float_reference() {
    let words = ["emma", "olivia", "ava", "isabella", "sophia", "zoe", "liam", "noah"];
    for (name, m) in
        [("mlp", mlp(NAMES, 3, 10, 64, 12)), ("wavenet", stack(NAMES, 8, 6, &[(2, 16), (2, 16), (2, 16), (1, 27)], 5))]
    {
        let (f, q) = (nll_of(&encoded(&m, Quant::F32), &words), nll_of(&encoded(&m, Quant::Int8), &words));
        assert!((f - q).abs() < 0.01, "{name}: f32 {f} int8 {q}");
    }
}

#[test]
fn ram_needed_is_stated_and_enforced() {
    let m = mlp(NAMES, 3, 10, 200, 1);
    let (fb, qb) = (encoded(&m, Quant::F32), encoded(&m, Quant::Int8));
    let (f, q) = (Model::from_bytes(&fb).unwrap(), Model::from_bytes(&qb).unwrap());
    // f32: ceil(3/4) + 3*10 + 200 + 27 words; int8: ceil(3/4) + (30 + 200) / 2 (i16) + 27 (i32);
    // each + 27 words: the all-boundary context's logits, kept by the scratch.
    assert_eq!((f.scratch_words(), f.ram_bytes()), (285, 1140));
    assert_eq!((q.scratch_words(), q.ram_bytes()), (170, 680));
    assert_eq!(q.n_params(), 11_897);
    let mut small = vec![0; 169];
    assert_eq!(Scratch::new(&q, &mut small).unwrap_err(), Error::ScratchTooSmall { need: 170, have: 169 });
    let mut buf = ScratchBuf::<170>::new();
    assert!(buf.scratch(&q).is_ok());
    // A typed net refuses the other number format by name.
    assert_eq!(f.int().unwrap_err(), Error::WrongNumberFormat { found: "f32", expected: "int8" });
    assert_eq!(q.float().unwrap_err(), Error::WrongNumberFormat { found: "int8", expected: "f32" });
}

#[test]
fn logits_reject_bad_context_and_foreign_scratch() {
    let bytes = names_mlp(Quant::F32);
    let model = Model::from_bytes(&bytes).unwrap();
    let net = model.float().unwrap();
    let mut buf = vec![0; net.scratch_words()];
    let mut scratch = Scratch::new(&net, &mut buf).unwrap();
    assert_eq!(net.logits(&[0, 0], &mut scratch).unwrap_err(), Error::ContextLength { expected: 3, found: 2 });
    assert_eq!(net.logits(&[0, 0, 27], &mut scratch).unwrap_err(), Error::SymbolOutOfRange { id: 27, vocab_size: 27 });
    let other = encoded(&bigram(".ab", &[0.0; 9]), Quant::F32);
    let other = Model::from_bytes(&other).unwrap();
    assert_eq!(other.float().unwrap().logits(&[0], &mut scratch).unwrap_err(), Error::ScratchForOtherModel);
}

#[test]
fn nll_rejects_symbols_outside_the_vocabulary() {
    let bytes = names_mlp(Quant::Int8);
    let model = Model::from_bytes(&bytes).unwrap();
    let mut buf = vec![0; model.scratch_words()];
    let mut s = Scratch::new(&model, &mut buf).unwrap();
    assert_eq!(nll(&model, &mut s, ["anna", "Bob"]).unwrap_err(), Error::UnknownSymbol { symbol: 'B' });
    assert_eq!(nll(&model, &mut s, ["a.b"]).unwrap_err(), Error::BoundaryInWord);
}

fn names(bytes: &[u8], seed: u64, cfg: SampleConfig, prefix: &str, n: usize) -> Vec<String> {
    let model = Model::from_bytes(bytes).unwrap();
    let mut buf = vec![0; model.scratch_words()];
    let mut s = Scratch::new(&model, &mut buf).unwrap();
    let mut rng = Pcg32::from_seed(seed);
    let mut out = heapless::String::<{ 4 * MAX_LEN }>::new();
    (0..n)
        .map(|_| {
            generate(&model, &mut s, &mut rng, &cfg, prefix, &mut out).unwrap();
            out.to_string()
        })
        .collect()
}

/// Names drawn step by step with [`Network::next_symbol`], every step's forward pass run
/// (the first one too): what `generate` must give with its cached first distribution.
fn names_by_forward_passes(net: &Model, seed: u64, cfg: &SampleConfig, n: usize) -> Vec<String> {
    let sampler = net.sampler(cfg).unwrap();
    let mut work = vec![0; net.work_words()];
    let mut rng = Pcg32::from_seed(seed);
    (0..n)
        .map(|_| {
            let mut ctx = vec![0u8; net.block_size()];
            let mut name = String::new();
            for _ in 0..cfg.max_len {
                let id = net.next_symbol(&ctx, &mut work, &sampler, &mut rng);
                if id == 0 {
                    break;
                }
                name.push(net.vocab().symbol(id as u8).unwrap());
                ctx.remove(0);
                ctx.push(id as u8);
            }
            name
        })
        .collect()
}

#[test]
fn the_cached_first_distribution_gives_the_names_of_a_forward_pass_at_every_step() {
    let settings = [
        SampleConfig::DEFAULT,
        SampleConfig { temperature: Temperature::from_milli(0), ..SampleConfig::DEFAULT },
        SampleConfig { temperature: Temperature::from_milli(1700), top_k: 3, ..SampleConfig::DEFAULT },
    ];
    let wavenet = stack(NAMES, 8, 6, &[(2, 16), (2, 16), (2, 16), (1, 27)], 5);
    for model in [mlp(NAMES, 3, 4, 16, 7), wavenet] {
        for quant in [Quant::F32, Quant::Int8] {
            let bytes = encoded(&model, quant);
            let net = Model::from_bytes(&bytes).unwrap();
            for cfg in settings {
                let want = names_by_forward_passes(&net, 3, &cfg, 200);
                assert_eq!(names(&bytes, 3, cfg, "", 200), want, "{quant:?} {cfg:?}");
            }
        }
    }
}

#[test]
fn a_scratch_made_for_another_model_of_the_same_size_does_not_lend_it_its_first_step() {
    // Same shape, other weights: the scratch of `a` used with `b` must give `b`'s names.
    for quant in [Quant::F32, Quant::Int8] {
        let (a, b) = (encoded(&mlp(NAMES, 3, 4, 16, 7), quant), encoded(&mlp(NAMES, 3, 4, 16, 8), quant));
        let (ma, mb) = (Model::from_bytes(&a).unwrap(), Model::from_bytes(&b).unwrap());
        assert_eq!(ma.scratch_words(), mb.scratch_words());
        let mut buf = vec![0; ma.scratch_words()];
        let mut s = Scratch::new(&ma, &mut buf).unwrap();
        let cfg = SampleConfig::DEFAULT;
        let mut rng = Pcg32::from_seed(3);
        let mut out = heapless::String::<{ 4 * MAX_LEN }>::new();
        let got: Vec<String> = (0..200)
            .map(|_| {
                generate(&mb, &mut s, &mut rng, &cfg, "", &mut out).unwrap();
                out.to_string()
            })
            .collect();
        assert_eq!(got, names_by_forward_passes(&mb, 3, &cfg, 200), "{quant:?}");
        assert_ne!(got, names_by_forward_passes(&ma, 3, &cfg, 200), "{quant:?}: the two models differ");
    }
}

#[test]
fn generate_is_deterministic_per_seed_and_varies_across_seeds() {
    for quant in [Quant::F32, Quant::Int8] {
        let bytes = names_mlp(quant);
        let cfg = SampleConfig::default();
        let a = names(&bytes, 1, cfg, "", 20);
        assert_eq!(a, names(&bytes, 1, cfg, "", 20));
        assert_ne!(a, names(&bytes, 2, cfg, "", 20));
        assert!(a.iter().all(|w| w.chars().all(|c| c.is_ascii_lowercase())));
        // Twenty draws from a random model are not all the same word.
        assert!(a.iter().any(|w| w != &a[0]), "{a:?}");
    }
}

#[test]
fn generate_follows_the_argmax_path_at_temperature_zero() {
    // A bigram that spells "abc" and stops.
    let mut table = vec![-10.0f32; 16];
    for (prev, next) in [(0, 1), (1, 2), (2, 3), (3, 0)] {
        table[prev * 4 + next] = 0.0;
    }
    for quant in [Quant::F32, Quant::Int8] {
        let bytes = encoded(&bigram(".abc", &table), quant);
        let cfg = SampleConfig { temperature: Temperature::ARGMAX, ..SampleConfig::default() };
        assert_eq!(names(&bytes, 0, cfg, "", 2), ["abc", "abc"]);
        // With a prefix, generation continues from the prefix's last symbol.
        assert_eq!(names(&bytes, 0, cfg, "b", 1), ["bc"]);
        // top-k 1 at any temperature is the argmax path too.
        let cfg = SampleConfig { temperature: Temperature::from_milli(5000), top_k: 1, ..SampleConfig::default() };
        assert_eq!(names(&bytes, 3, cfg, "", 1), ["abc"]);
    }
}

#[test]
fn generate_stops_at_max_len_and_reports_it() {
    // A bigram that never emits the boundary: always 'a'.
    let bytes = encoded(&bigram(".a", &[-100.0, 0.0, -100.0, 0.0]), Quant::Int8);
    let model = Model::from_bytes(&bytes).unwrap();
    let mut buf = vec![0; model.scratch_words()];
    let mut s = Scratch::new(&model, &mut buf).unwrap();
    let mut rng = Pcg32::from_seed(0);
    let mut out = heapless::String::<8>::new();
    let cfg = SampleConfig { max_len: 5, ..SampleConfig::default() };
    assert_eq!(generate(&model, &mut s, &mut rng, &cfg, "", &mut out), Ok(Stop::MaxLen));
    assert_eq!(out, "aaaaa");
    // The output string must hold max_len symbols: a smaller one is refused, not filled.
    let cfg = SampleConfig { max_len: 9, ..SampleConfig::default() };
    assert_eq!(
        generate(&model, &mut s, &mut rng, &cfg, "", &mut out),
        Err(Error::NameBufferTooSmall { need: 9, have: 8 })
    );
}

#[test]
fn generate_with_a_multi_byte_vocabulary_counts_symbols_not_bytes() {
    // 'é' is two bytes: a name of max_len symbols needs 2 * max_len bytes.
    let mut table = vec![-20.0f32; 9];
    table[3 + 2] = 0.0; // after 'a' -> 'é'
    table[6 + 1] = 0.0; // after 'é' -> 'a'
    table[1] = 0.0; // after '.' -> 'a'
    let bytes = encoded(&bigram(".aé", &table), Quant::Int8);
    let model = Model::from_bytes(&bytes).unwrap();
    assert_eq!(model.vocab().widest_symbol(), 2);
    assert_eq!(name_capacity(5, 2), 10);
    let mut buf = vec![0; model.scratch_words()];
    let mut s = Scratch::new(&model, &mut buf).unwrap();
    let mut rng = Pcg32::from_seed(0);
    let cfg = SampleConfig { temperature: Temperature::ARGMAX, max_len: 5, ..SampleConfig::default() };
    let mut out = heapless::String::<10>::new();
    assert_eq!(generate(&model, &mut s, &mut rng, &cfg, "", &mut out), Ok(Stop::MaxLen));
    assert_eq!(out, "aéaéa");
    let mut short = heapless::String::<9>::new();
    assert_eq!(
        generate(&model, &mut s, &mut rng, &cfg, "", &mut short),
        Err(Error::NameBufferTooSmall { need: 10, have: 9 })
    );
}

#[test]
fn generate_with_prefix_starts_every_word_with_it() {
    let bytes = names_mlp(Quant::Int8);
    for w in names(&bytes, 9, SampleConfig::default(), "ka", 20) {
        assert!(w.starts_with("ka"), "{w}");
    }
}

#[test]
fn generate_rejects_bad_prefix_and_temperature() {
    let bytes = names_mlp(Quant::F32);
    let model = Model::from_bytes(&bytes).unwrap();
    let mut buf = vec![0; model.scratch_words()];
    let mut s = Scratch::new(&model, &mut buf).unwrap();
    let mut rng = Pcg32::from_seed(0);
    let mut out = heapless::String::<4>::new();
    let cfg = SampleConfig { max_len: 4, ..SampleConfig::default() };
    let mut gen = |cfg: &SampleConfig, prefix: &str| generate(&model, &mut s, &mut rng, cfg, prefix, &mut out);
    assert_eq!(gen(&cfg, "K"), Err(Error::UnknownSymbol { symbol: 'K' }));
    assert_eq!(gen(&cfg, "a."), Err(Error::BoundaryInWord));
    assert_eq!(gen(&cfg, "abcde"), Err(Error::PrefixTooLong { len: 5, max: 4 }));
    let bad = SampleConfig { temperature: Temperature::from_milli(200_000), ..cfg };
    assert_eq!(gen(&bad, ""), Err(Error::BadTemperature { milli: 200_000 }));
}

#[test]
fn streaming_gives_the_logits_of_the_full_forward_pass_at_every_step() {
    // Hierarchies of several shapes (merges of 2, of 3 and 4, dense layers above the merges),
    // each fed 60 random symbols after the boundary context: the window slides 50 times.
    let shapes: [(usize, &[(usize, usize)]); 4] = [
        (8, &[(2, 16), (2, 16), (2, 16), (1, 27)]),
        (9, &[(3, 12), (3, 10), (1, 27)]),
        (8, &[(4, 12), (2, 9), (1, 14), (1, 27)]),
        (4, &[(2, 5), (2, 7), (1, 27)]),
    ];
    for (i, (block, layers)) in shapes.into_iter().enumerate() {
        for quant in [Quant::F32, Quant::Int8] {
            let bytes = encoded(&stack(NAMES, block, 5, layers, 40 + i as u64), quant);
            let net = Model::from_bytes(&bytes).unwrap();
            assert!(net.stream_words() > 0, "{layers:?}");
            let mut state = vec![0; net.stream_words()];
            let mut work = vec![0; net.work_words()];
            net.stream_init(&mut state, &mut work);
            net.stream_begin(&mut state);
            let mut ctx = vec![0u8; block];
            let mut rng = Pcg32::from_seed(i as u64);
            let v = net.vocab().len();
            for step in 0..60 {
                let (mut want, mut got) = (vec![0u32; v], vec![0u32; v]);
                net.logits_into(&ctx, &mut work, &mut want);
                net.stream_logits(&ctx, &mut state, &mut work, &mut got);
                assert_eq!(got, want, "{quant:?} {layers:?} step {step}");
                ctx.remove(0);
                ctx.push((rng.next_u32() % v as u32) as u8);
                net.stream_push(&ctx, &mut state, &mut work);
            }
        }
    }
}

#[test]
fn a_bengio_mlp_has_nothing_to_stream() {
    let bytes = encoded(&mlp(NAMES, 3, 4, 16, 7), Quant::Int8);
    assert_eq!(Model::from_bytes(&bytes).unwrap().stream_words(), 0);
}

#[test]
fn a_hierarchy_streams_with_a_prefix_and_not_with_another_models_scratch() {
    let shape = [(2, 16), (2, 16), (2, 16), (1, 27)];
    for quant in [Quant::F32, Quant::Int8] {
        let (a, b) = (encoded(&stack(NAMES, 8, 6, &shape, 5), quant), encoded(&stack(NAMES, 8, 6, &shape, 6), quant));
        let (ma, mb) = (Model::from_bytes(&a).unwrap(), Model::from_bytes(&b).unwrap());
        // A prefix longer than the context: the rings catch up on it symbol by symbol.
        let cfg = SampleConfig::DEFAULT;
        let with_prefix = names(&a, 9, cfg, "christopher", 50);
        let mut rng = Pcg32::from_seed(9);
        let sampler = ma.sampler(&cfg).unwrap();
        let mut work = vec![0; ma.work_words()];
        for got in &with_prefix {
            let mut ctx = vec![0u8; 8];
            let mut name = String::from("christopher");
            for c in name.clone().chars() {
                ctx.remove(0);
                ctx.push(ma.vocab().as_str().chars().position(|s| s == c).unwrap() as u8);
            }
            while name.chars().count() < cfg.max_len {
                let id = ma.next_symbol(&ctx, &mut work, &sampler, &mut rng);
                if id == 0 {
                    break;
                }
                name.push(ma.vocab().symbol(id as u8).unwrap());
                ctx.remove(0);
                ctx.push(id as u8);
            }
            assert_eq!(got, &name, "{quant:?}");
        }
        // The scratch of `a` lent to `b` (same size): `b`'s names, by full forward passes.
        let mut buf = vec![0; ma.scratch_words()];
        let mut s = Scratch::new(&ma, &mut buf).unwrap();
        let mut rng = Pcg32::from_seed(3);
        let mut out = heapless::String::<{ 4 * MAX_LEN }>::new();
        let got: Vec<String> = (0..100)
            .map(|_| {
                generate(&mb, &mut s, &mut rng, &cfg, "", &mut out).unwrap();
                out.to_string()
            })
            .collect();
        assert_eq!(got, names_by_forward_passes(&mb, 3, &cfg, 100), "{quant:?}");
    }
}

#[test]
fn a_net_without_streaming_gives_the_same_names_by_full_forward_passes() {
    let bytes = encoded(&stack(NAMES, 8, 6, &[(2, 16), (2, 16), (2, 16), (1, 27)], 5), Quant::Int8);
    let model = Model::from_bytes(&bytes).unwrap();
    let (streaming, flat) = (model.int().unwrap(), model.int().unwrap().without_streaming());
    assert!(streaming.stream_words() > 0);
    assert_eq!(flat.stream_words(), 0);
    assert!(flat.scratch_words() < streaming.scratch_words());
    let cfg = SampleConfig::DEFAULT;
    let mut buf_a = vec![0; streaming.scratch_words()];
    let mut sa = Scratch::new(&streaming, &mut buf_a).unwrap();
    let mut rng = Pcg32::from_seed(4);
    let mut out = heapless::String::<{ 4 * MAX_LEN }>::new();
    let streamed: Vec<String> = (0..100)
        .map(|_| {
            generate(&streaming, &mut sa, &mut rng, &cfg, "", &mut out).unwrap();
            out.to_string()
        })
        .collect();
    let mut buf_b = vec![0; flat.scratch_words()];
    let mut sb = Scratch::new(&flat, &mut buf_b).unwrap();
    let mut rng = Pcg32::from_seed(4);
    let full: Vec<String> = (0..100)
        .map(|_| {
            generate(&flat, &mut sb, &mut rng, &cfg, "", &mut out).unwrap();
            out.to_string()
        })
        .collect();
    assert_eq!(streamed, full);
}
