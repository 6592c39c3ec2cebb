//! Bengio et al. 2003: embedding table, concatenated context, tanh hidden layer, logits.

use super::fused::{tanh, FusedOps};
use super::{host, randn, Net, Params};
use crate::config::TrainConfig;
use burn::module::{Module, Param};
use burn::prelude::*;

#[derive(Module, Debug)]
pub struct Mlp<B: Backend> {
    /// `[vocab, n_embd]` embedding table.
    pub c: Param<Tensor<B, 2>>,
    /// `[block_size * n_embd, n_hidden]`.
    pub w1: Param<Tensor<B, 2>>,
    /// `[n_hidden]`.
    pub b1: Param<Tensor<B, 1>>,
    /// `[n_hidden, vocab]`.
    pub w2: Param<Tensor<B, 2>>,
    /// `[vocab]`.
    pub b2: Param<Tensor<B, 1>>,
}

/// The shapes of an MLP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MlpConfig {
    pub vocab_size: usize,
    pub block_size: usize,
    pub n_embd: usize,
    pub n_hidden: usize,
}

impl MlpConfig {
    pub fn new(cfg: &TrainConfig, vocab_size: usize) -> Self {
        Self { vocab_size, block_size: cfg.block_size, n_embd: cfg.n_embd, n_hidden: cfg.n_hidden }
    }

    /// Initial weights. Scaled: W1 x (5/3)/sqrt(fan_in) (Kaiming for tanh), b1 x 0.01,
    /// W2 x 0.01 and b2 = 0 (so the first logits are near uniform). Plain: all N(0, 1).
    pub fn init_params(&self, scaled: bool, rng: &mut runtime::Pcg32) -> Params {
        let n_in = self.block_size * self.n_embd;
        let (v, h) = (self.vocab_size, self.n_hidden);
        let mut t = |name: &str, shape: Vec<usize>, scale: f32| {
            let n = shape.iter().product();
            let values = randn(rng, n).into_iter().map(|x| x * scale).collect();
            super::HostTensor { name: name.into(), shape, values }
        };
        let gain = if scaled { (5.0 / 3.0) / (n_in as f32).sqrt() } else { 1.0 };
        let small = if scaled { 0.01 } else { 1.0 };
        let zero = if scaled { 0.0 } else { 1.0 };
        Params {
            tensors: vec![
                t("C", vec![v, self.n_embd], 1.0),
                t("W1", vec![n_in, h], gain),
                t("b1", vec![h], small),
                t("W2", vec![h, v], small),
                t("b2", vec![v], zero),
            ],
        }
    }

    pub fn load<B: Backend>(&self, p: &Params, device: &B::Device) -> anyhow::Result<Mlp<B>> {
        let n_in = self.block_size * self.n_embd;
        let (v, h) = (self.vocab_size, self.n_hidden);
        Ok(Mlp {
            c: Param::from_tensor(p.tensor("C", [v, self.n_embd], device)?),
            w1: Param::from_tensor(p.tensor("W1", [n_in, h], device)?),
            b1: Param::from_tensor(p.tensor("b1", [h], device)?),
            w2: Param::from_tensor(p.tensor("W2", [h, v], device)?),
            b2: Param::from_tensor(p.tensor("b2", [v], device)?),
        })
    }
}

impl<B: FusedOps> Net<B> for Mlp<B> {
    fn logits(&self, x: Tensor<B, 2, Int>) -> Tensor<B, 2> {
        let [n, block_size] = x.dims();
        let [_, n_embd] = self.c.dims();
        let emb = self.c.val().select(0, x.reshape([n * block_size])); // [n * block, n_embd]
        let emb = emb.reshape([n, block_size * n_embd]); // [n, block * n_embd]
        let pre = emb.matmul(self.w1.val()) + self.b1.val().unsqueeze::<2>(); // [n, n_hidden]

        // One fused op with a one-pass backward (see tanh.rs for what it saves).
        let h = tanh(pre);
        h.matmul(self.w2.val()) + self.b2.val().unsqueeze::<2>() // [n, vocab]
    }

    fn params(&self) -> Params {
        Params {
            tensors: vec![
                host("C", self.c.val()),
                host("W1", self.w1.val()),
                host("b1", self.b1.val()),
                host("W2", self.w2.val()),
                host("b2", self.b2.val()),
            ],
        }
    }
}
