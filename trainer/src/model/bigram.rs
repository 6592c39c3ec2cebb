//! The bigram models: counts with smoothing (closed form) and the neural version (one-hot x W
//! learned by gradient descent, which converges towards the log of the smoothed counts).

use super::{host, randn, Net, Params};
use crate::data::Vocab;
use burn::module::{Module, Param};
use burn::prelude::*;

/// `[vocab, vocab]` counts of (previous, next) symbol pairs, boundary included.
pub fn counts<S: AsRef<str>>(words: &[S], vocab: &Vocab) -> Vec<Vec<u64>> {
    let v = vocab.len();
    let mut n = vec![vec![0u64; v]; v];
    for w in words {
        let mut prev = 0usize;
        for id in vocab.targets(w.as_ref()).map(usize::from) {
            n[prev][id] += 1;
            prev = id;
        }
    }
    n
}

/// Log-probabilities `ln((N[i][j] + smoothing) / sum_k (N[i][k] + smoothing))`, row-major.
/// A zero probability (no smoothing, unseen pair) is clamped to ln(1e-30) so the table stays
/// finite for export.
pub fn log_probs(counts: &[Vec<u64>], smoothing: f64) -> Vec<f64> {
    let mut out = Vec::new();
    for row in counts {
        let total: f64 = row.iter().map(|&c| c as f64 + smoothing).sum();
        out.extend(row.iter().map(|&c| {
            let p = (c as f64 + smoothing) / total.max(f64::MIN_POSITIVE);
            p.max(1e-30).ln()
        }));
    }
    out
}

/// Mean NLL of `words` under a table of log-probabilities, summed in f64 (the lecture's 2.4546).
pub fn nll<S: AsRef<str>>(log_probs: &[f64], vocab: &Vocab, words: &[S]) -> f64 {
    let v = vocab.len();
    let (mut sum, mut n) = (0.0f64, 0usize);
    for w in words {
        let mut prev = 0usize;
        for id in vocab.targets(w.as_ref()).map(usize::from) {
            sum -= log_probs[prev * v + id];
            n += 1;
            prev = id;
        }
    }
    sum / n.max(1) as f64
}

/// The neural bigram: logits = one-hot(prev) x W, i.e. row `prev` of W.
#[derive(Module, Debug)]
pub struct NnBigram<B: Backend> {
    /// `[vocab, vocab]`.
    pub w: Param<Tensor<B, 2>>,
    /// The lecture's regularisation strength: loss += reg * mean(W^2).
    pub reg: f64,
}

impl<B: Backend> NnBigram<B> {
    pub fn init_params(vocab_size: usize, rng: &mut runtime::Pcg32) -> Params {
        let values = randn(rng, vocab_size * vocab_size);
        Params { tensors: vec![super::HostTensor { name: "W".into(), shape: vec![vocab_size, vocab_size], values }] }
    }

    pub fn load(vocab_size: usize, reg: f64, p: &Params, device: &B::Device) -> anyhow::Result<Self> {
        Ok(Self { w: Param::from_tensor(p.tensor("W", [vocab_size, vocab_size], device)?), reg })
    }
}

impl<B: Backend> Net<B> for NnBigram<B> {
    fn logits(&self, x: Tensor<B, 2, Int>) -> Tensor<B, 2> {
        let [n, block] = x.dims();
        // Selecting row `prev` is the one-hot matrix product without building the one-hot.
        self.w.val().select(0, x.slice([0..n, block - 1..block]).reshape([n]))
    }

    fn penalty(&self) -> Option<Tensor<B, 1>> {
        (self.reg > 0.0).then(|| self.w.val().powi_scalar(2).mean() * self.reg)
    }

    fn params(&self) -> Params {
        Params { tensors: vec![host("W", self.w.val())] }
    }
}
