//! Builders for small models used across the runtime's tests.
#![allow(dead_code)]

use runtime::{encode, to_words, Header, ModelKind, OwnedMatrix, Pcg32, Quant, Vocab, Weights};

/// Uniform values in [-scale, scale) from a seeded PCG32.
pub fn random_values(n: usize, scale: f32, seed: u64) -> Vec<f32> {
    let mut rng = Pcg32::from_seed(seed);
    (0..n).map(|_| (rng.next_f32() * 2.0 - 1.0) * scale).collect()
}

pub fn matrix(rows: usize, cols: usize, values: &[f32], quant: Quant) -> OwnedMatrix {
    match quant {
        Quant::F32 => OwnedMatrix::f32(rows, cols, values),
        Quant::Int8PerRow => OwnedMatrix::quantize_i8(rows, cols, values),
        _ => None,
    }
    .expect("values match the shape")
}

/// The f32 parameters of an MLP, row-major `[out, in]`.
pub struct MlpParams {
    pub vocab: String,
    pub block_size: usize,
    pub n_embd: usize,
    pub n_hidden: usize,
    pub c: Vec<f32>,
    pub w1: Vec<f32>,
    pub b1: Vec<f32>,
    pub w2: Vec<f32>,
    pub b2: Vec<f32>,
}

impl MlpParams {
    pub fn random(vocab: &str, block_size: usize, n_embd: usize, n_hidden: usize, seed: u64) -> Self {
        let v = vocab.chars().count();
        Self {
            vocab: vocab.to_string(),
            block_size,
            n_embd,
            n_hidden,
            c: random_values(v * n_embd, 1.0, seed),
            w1: random_values(n_hidden * block_size * n_embd, 0.5, seed + 1),
            b1: random_values(n_hidden, 0.1, seed + 2),
            w2: random_values(v * n_hidden, 0.5, seed + 3),
            b2: random_values(v, 0.1, seed + 4),
        }
    }

    pub fn encode(&self, quant: Quant) -> Vec<u8> {
        let v = self.vocab.chars().count();
        let header = Header {
            kind: ModelKind::Mlp,
            vocab: Vocab::new(&self.vocab).expect("valid vocab"),
            block_size: self.block_size,
            n_embd: self.n_embd,
            n_hidden: self.n_hidden,
            quant,
            card: "",
        };
        let c = matrix(v, self.n_embd, &self.c, quant);
        let w1 = matrix(self.n_hidden, self.block_size * self.n_embd, &self.w1, quant);
        let w2 = matrix(v, self.n_hidden, &self.w2, quant);
        let (b1, b2) = (to_words(&self.b1), to_words(&self.b2));
        let weights = Weights::Mlp { c: c.view(), w1: w1.view(), b1: &b1, w2: w2.view(), b2: &b2 };
        encode(&header, &weights).expect("valid model")
    }

    /// Reference forward pass in f64: logits for `ctx`.
    pub fn forward_f64(&self, ctx: &[u8]) -> Vec<f64> {
        let n_in = self.block_size * self.n_embd;
        let mut x = Vec::with_capacity(n_in);
        for &id in ctx {
            let row = usize::from(id) * self.n_embd;
            x.extend(self.c[row..row + self.n_embd].iter().map(|&v| f64::from(v)));
        }
        let h: Vec<f64> = (0..self.n_hidden)
            .map(|i| {
                let dot: f64 = (0..n_in).map(|j| f64::from(self.w1[i * n_in + j]) * x[j]).sum();
                (dot + f64::from(self.b1[i])).tanh()
            })
            .collect();
        let v = self.vocab.chars().count();
        (0..v)
            .map(|i| {
                let dot: f64 = (0..self.n_hidden).map(|j| f64::from(self.w2[i * self.n_hidden + j]) * h[j]).sum();
                dot + f64::from(self.b2[i])
            })
            .collect()
    }
}

pub fn bigram_bytes(vocab: &str, table: &[f32], quant: Quant) -> Vec<u8> {
    let v = vocab.chars().count();
    let header = Header {
        kind: ModelKind::Bigram,
        vocab: Vocab::new(vocab).expect("valid vocab"),
        block_size: 1,
        n_embd: 0,
        n_hidden: 0,
        quant,
        card: "",
    };
    let table = matrix(v, v, table, quant);
    encode(&header, &Weights::Bigram { table: table.view() }).expect("valid model")
}

/// A small MLP file over the names alphabet, for decoder and sampler tests.
pub fn names_mlp(quant: Quant) -> Vec<u8> {
    MlpParams::random(".abcdefghijklmnopqrstuvwxyz", 3, 4, 16, 7).encode(quant)
}
