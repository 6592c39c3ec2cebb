//! Builders for small models used across the runtime's tests, and references computed
//! independently of the runtime's kernels.
#![allow(dead_code)]

use makemore_runtime::{FloatBody, FloatLinear, FloatModel, Model, Network, Pcg32, Quant, Scratch};

/// Uniform values in [-scale, scale) from a seeded PCG32.
pub fn random_values(n: usize, scale: f32, seed: u64) -> Vec<f32> {
    let mut rng = Pcg32::from_seed(seed);
    (0..n).map(|_| (rng.next_f32() * 2.0 - 1.0) * scale).collect()
}

/// A random layer stack: `layers` as (n_merge, n_out), the last one's n_out the vocabulary.
pub fn stack(vocab: &str, block_size: usize, n_embd: usize, layers: &[(usize, usize)], seed: u64) -> FloatModel {
    let v = vocab.chars().count();
    let mut width = n_embd;
    let mut out = Vec::new();
    for (k, &(n_merge, n_out)) in layers.iter().enumerate() {
        let n_in = n_merge * width;
        let s = seed + 10 * k as u64;
        out.push(FloatLinear {
            n_merge,
            w: random_values(n_out * n_in, 1.5 / (n_in as f32).sqrt(), s),
            b: random_values(n_out, 0.1, s + 1),
        });
        width = n_out;
    }
    assert_eq!(width, v, "the last layer's n_out is the vocabulary size");
    FloatModel {
        vocab: vocab.into(),
        block_size,
        body: FloatBody::Mlp { n_embd, c: random_values(v * n_embd, 1.0, seed + 99), layers: out },
    }
}

/// Bengio's MLP: one hidden layer over the whole context.
pub fn mlp(vocab: &str, block_size: usize, n_embd: usize, n_hidden: usize, seed: u64) -> FloatModel {
    stack(vocab, block_size, n_embd, &[(block_size, n_hidden), (1, vocab.chars().count())], seed)
}

/// A bigram table model.
pub fn bigram(vocab: &str, table: &[f32]) -> FloatModel {
    FloatModel { vocab: vocab.into(), block_size: 1, body: FloatBody::Bigram { table: table.to_vec() } }
}

pub fn encoded(model: &FloatModel, quant: Quant) -> Vec<u8> {
    model.encode(quant, "").expect("valid model").bytes
}

pub const NAMES: &str = ".abcdefghijklmnopqrstuvwxyz";

/// A small MLP file over the names alphabet, for decoder and sampler tests.
pub fn names_mlp(quant: Quant) -> Vec<u8> {
    encoded(&mlp(NAMES, 3, 4, 16, 7), quant)
}

/// A file of each shape: MLP, deeper MLP, WaveNet-style hierarchy, bigram.
pub fn shapes(quant: Quant) -> Vec<(&'static str, Vec<u8>)> {
    let table = random_values(27 * 27, 3.0, 5);
    vec![
        ("mlp", names_mlp(quant)),
        ("deep", encoded(&stack(NAMES, 3, 5, &[(3, 12), (1, 10), (1, 27)], 3), quant)),
        ("wavenet", encoded(&stack(NAMES, 8, 4, &[(2, 9), (2, 7), (2, 6), (1, 27)], 4), quant)),
        ("bigram", encoded(&bigram(NAMES, &table), quant)),
    ]
}

/// Reference forward pass in f64 over the f32 weights: logits for `ctx`.
pub fn forward_f64(model: &FloatModel, ctx: &[u8]) -> Vec<f64> {
    let v = model.vocab.chars().count();
    match &model.body {
        FloatBody::Bigram { table } => {
            let prev = usize::from(*ctx.last().unwrap());
            table[prev * v..(prev + 1) * v].iter().map(|&x| f64::from(x)).collect()
        }
        FloatBody::Mlp { n_embd, c, layers } => {
            // Positions of features: start with the embeddings.
            let mut act: Vec<f64> = ctx
                .iter()
                .flat_map(|&id| {
                    c[usize::from(id) * n_embd..(usize::from(id) + 1) * n_embd].iter().map(|&x| f64::from(x))
                })
                .collect();
            for (k, l) in layers.iter().enumerate() {
                let n_out = l.b.len();
                let n_in = l.w.len() / n_out;
                let mut next = Vec::new();
                for x in act.chunks(n_in) {
                    for i in 0..n_out {
                        let dot: f64 = (0..n_in).map(|j| f64::from(l.w[i * n_in + j]) * x[j]).sum::<f64>();
                        let y = dot + f64::from(l.b[i]);
                        next.push(if k + 1 < layers.len() { y.tanh() } else { y });
                    }
                }
                act = next;
            }
            act
        }
    }
}

/// Mean NLL of `words` under a model file, by the runtime.
pub fn nll_of(bytes: &[u8], words: &[&str]) -> f64 {
    let model = Model::from_bytes(bytes).unwrap();
    let mut buf = vec![0; model.scratch_words()];
    let mut s = Scratch::new(&model, &mut buf).unwrap();
    makemore_runtime::nll(&model, &mut s, words.iter().copied()).unwrap().mean()
}
