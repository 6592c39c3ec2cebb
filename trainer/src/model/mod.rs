//! The models. Both neural models implement [`Net`], so one training loop and one evaluator
//! serve them (makemore's "every model has the same interface").

pub mod bigram;
pub mod fused;
pub mod mlp;

use burn::module::Module;
use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use serde::{Deserialize, Serialize};

/// A network mapping context windows to next-symbol logits.
pub trait Net<B: Backend>: Module<B> {
    /// `x: [n, block_size]` symbol ids -> `[n, vocab_size]` logits.
    fn logits(&self, x: Tensor<B, 2, Int>) -> Tensor<B, 2>;
    /// Extra loss term (the neural bigram's L2 penalty); `None` for most models.
    fn penalty(&self) -> Option<Tensor<B, 1>> {
        None
    }
    /// The weights, copied to the host (for checkpoints and export).
    fn params(&self) -> Params;
    /// Dropout probability while training (0: none, and no random numbers drawn for it).
    fn dropout(&self) -> f64 {
        0.0
    }
}

/// Summed cross-entropy (for exact means over a whole split).
pub fn cross_entropy_sum<B: Backend>(logits: Tensor<B, 2>, y: Tensor<B, 1, Int>) -> f64 {
    let n = y.dims()[0];
    let s: f32 = log_softmax(logits, 1).gather(1, y.reshape([n, 1])).sum().neg().into_scalar().elem();
    f64::from(s)
}

/// `ln(sum(exp(scale * z)))` over a row of logits `z`, in f64, shifted by the row's maximum
/// so that no `exp` overflows.
pub fn log_sum_exp(row: &[f32], scale: f64) -> f64 {
    let max = row.iter().fold(f64::NEG_INFINITY, |m, &z| m.max(f64::from(z) * scale));
    max + row.iter().map(|&z| (f64::from(z) * scale - max).exp()).sum::<f64>().ln()
}

/// One named tensor on the host: shape and row-major f32 values (Burn's layout: a linear
/// weight is `[in, out]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HostTensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

/// All of a model's weights on the host, in a fixed order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Params {
    pub tensors: Vec<HostTensor>,
}

/// The error of a tensor a checkpoint lacks.
fn missing(name: &str) -> anyhow::Error {
    anyhow::anyhow!("checkpoint has no tensor {name}; it was written by another model kind")
}

impl Params {
    pub fn get(&self, name: &str) -> anyhow::Result<&HostTensor> {
        self.tensors.iter().find(|t| t.name == name).ok_or_else(|| missing(name))
    }

    /// [`Params::get`], to change the tensor in place.
    pub fn get_mut(&mut self, name: &str) -> anyhow::Result<&mut HostTensor> {
        self.tensors.iter_mut().find(|t| t.name == name).ok_or_else(|| missing(name))
    }

    /// Number of parameters (batch norm's running statistics are state, not parameters).
    pub fn count(&self) -> usize {
        let state = |name: &str| name.ends_with(".mean") || name.ends_with(".var");
        self.tensors.iter().filter(|t| !state(&t.name)).map(|t| t.values.len()).sum()
    }

    /// Tensor `name` on `device`, checking its shape.
    pub fn tensor<B: Backend, const D: usize>(
        &self,
        name: &str,
        shape: [usize; D],
        device: &B::Device,
    ) -> anyhow::Result<Tensor<B, D>> {
        let t = self.get(name)?;
        anyhow::ensure!(
            t.shape == shape && t.values.len() == shape.iter().product::<usize>(),
            "tensor {name} has shape {:?}, expected {shape:?}; the checkpoint does not match the configuration",
            t.shape
        );
        Ok(Tensor::from_data(TensorData::new(t.values.clone(), shape), device))
    }
}

/// `[rows, cols]` row-major -> `[cols, rows]` row-major (Burn's `[in, out]` to the file's
/// `[out, in]`). It lives with the host tensors, below both the MLP (which folds batch norm
/// into the file's layout) and the export, so that the dependency points one way.
pub fn transpose(values: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0; values.len()];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = values[r * cols + c];
        }
    }
    out
}

/// Copies a tensor to the host.
pub fn host<B: Backend, const D: usize>(name: &str, t: Tensor<B, D>) -> HostTensor {
    let shape = t.dims().to_vec();
    let values = t.into_data().convert::<f32>().to_vec::<f32>().unwrap_or_default();
    HostTensor { name: name.into(), shape, values }
}

/// Standard normal samples from a seeded PCG32 (Box-Muller), so initialisation is the same
/// on every backend and device.
pub fn randn(rng: &mut runtime::Pcg32, n: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(n + 1);
    while out.len() < n {
        // u1 in (0, 1] so ln(u1) is finite.
        let u1 = (f64::from(rng.next_u32() >> 8) + 1.0) / 16_777_216.0;
        let u2 = f64::from(rng.next_u32() >> 8) / 16_777_216.0;
        let r = (-2.0 * u1.ln()).sqrt();
        let t = std::f64::consts::TAU * u2;
        out.push((r * t.cos()) as f32);
        out.push((r * t.sin()) as f32);
    }
    out.truncate(n);
    out
}
