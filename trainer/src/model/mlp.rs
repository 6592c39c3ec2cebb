//! The MLP family: an embedding table, then a stack of linear layers over the context's
//! positions, tanh between them, logits at the end. Bengio et al. 2003 is the one-hidden-layer
//! case (all positions concatenated, tanh, logits); the lectures' deeper MLP adds hidden
//! layers; the WaveNet-style hierarchy concatenates `merge` consecutive positions per layer
//! (`FlattenConsecutive`), so that the context is read in a tree. Optional batch norm after
//! each hidden linear layer is folded into that layer at export, so the runtime still only
//! runs embedding, linear, tanh and softmax.
//!
//! Parameter names: `C`, then `W{k}`, `b{k}` for layer `k = 1..` (`[n_in, n_out]`, Burn's
//! layout) and, with batch norm, `bn{k}.gamma`, `bn{k}.beta`, `bn{k}.mean`, `bn{k}.var`. The
//! one-hidden-layer MLP's names are `C, W1, b1, W2, b2`, as before the stack existed.

use super::fused::{self, tanh, FusedOps};
use super::{host, randn, HostTensor, Net, Params};
use crate::config::TrainConfig;
use burn::module::{Module, Param, RunningState};
use burn::nn::{BatchNorm, BatchNormConfig, DropoutConfig};
use burn::prelude::*;

/// One linear layer of the stack, with its batch norm if any.
#[derive(Module, Debug)]
pub struct Layer<B: Backend> {
    /// `[n_in, n_out]`.
    pub w: Param<Tensor<B, 2>>,
    /// `[n_out]`.
    pub b: Param<Tensor<B, 1>>,
    pub bn: Option<BatchNorm<B>>,
}

#[derive(Module, Debug)]
pub struct Mlp<B: Backend> {
    /// `[vocab, n_embd]` embedding table.
    pub c: Param<Tensor<B, 2>>,
    pub layers: Vec<Layer<B>>,
    /// Each layer's `n_merge` (positions concatenated).
    #[module(skip)]
    pub merges: Vec<usize>,
    /// Dropout after each hidden layer's tanh, in training only (the autodiff backend).
    #[module(skip)]
    pub dropout: f64,
}

impl<B: Backend> Mlp<B> {
    /// The same model with dropout `p` after each hidden layer while training.
    pub fn with_dropout(self, p: f64) -> Self {
        Self { dropout: p, ..self }
    }
}

/// The shapes of an MLP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MlpConfig {
    pub vocab_size: usize,
    pub block_size: usize,
    pub n_embd: usize,
    pub n_hidden: usize,
    /// Hidden layers of a flat stack (`merge == 0`).
    pub n_layers: usize,
    /// 0: the first layer concatenates every position; `m >= 2`: each layer merges `m`.
    pub merge: usize,
    pub batch_norm: bool,
}

/// One layer of the stack: its tensors are `W{k}` (`[n_in, n_out]`) and `b{k}`, and, when
/// `hidden` and with batch norm, `bn{k}.*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayerSpec {
    /// 1-based, as in the tensor names.
    pub k: usize,
    pub n_merge: usize,
    pub n_in: usize,
    pub n_out: usize,
    /// Every layer but the logits.
    pub hidden: bool,
}

/// Batch norm's epsilon (Burn's and PyTorch's default); the export folds with the same.
pub const BN_EPSILON: f64 = 1e-5;

impl MlpConfig {
    pub fn new(cfg: &TrainConfig, vocab_size: usize) -> Self {
        Self {
            vocab_size,
            block_size: cfg.block_size,
            n_embd: cfg.n_embd,
            n_hidden: cfg.n_hidden,
            n_layers: cfg.n_layers.max(1),
            merge: cfg.merge,
            batch_norm: cfg.batch_norm,
        }
    }

    /// The layer stack as `(n_merge, n_out)`, the last layer the logits.
    pub fn layers(&self) -> Vec<(usize, usize)> {
        let mut out = vec![];
        if self.merge >= 2 {
            let mut positions = self.block_size;
            while positions > 1 {
                out.push((self.merge, self.n_hidden));
                positions /= self.merge;
            }
        } else {
            out.push((self.block_size, self.n_hidden));
            out.extend(std::iter::repeat_n((1, self.n_hidden), self.n_layers.saturating_sub(1)));
        }
        out.push((1, self.vocab_size));
        out
    }

    /// Every layer of the stack with its parameter number and widths (`n_in`: `n_merge` times
    /// the features entering it): what initialisation, loading and export walk over.
    pub fn specs(&self) -> Vec<LayerSpec> {
        let layers = self.layers();
        let last = layers.len();
        let mut features = self.n_embd;
        layers
            .into_iter()
            .enumerate()
            .map(|(i, (n_merge, n_out))| {
                let n_in = n_merge * features;
                features = n_out;
                LayerSpec { k: i + 1, n_merge, n_in, n_out, hidden: i + 1 < last }
            })
            .collect()
    }

    /// Initial weights. Scaled: each hidden W x (5/3)/sqrt(fan_in) (Kaiming for tanh), b x
    /// 0.01, the last W x 0.01 and b = 0 (so the first logits are near uniform); batch norm
    /// starts as the identity. Plain: all N(0, 1).
    pub fn init_params(&self, scaled: bool, rng: &mut runtime::Pcg32) -> Params {
        let mut t = |name: String, shape: Vec<usize>, scale: f32| {
            let n = shape.iter().product();
            let values = randn(rng, n).into_iter().map(|x| x * scale).collect();
            HostTensor { name, shape, values }
        };
        let mut tensors = vec![t("C".into(), vec![self.vocab_size, self.n_embd], 1.0)];
        for LayerSpec { k, n_in, n_out, hidden, .. } in self.specs() {
            let gain = match (scaled, hidden) {
                (false, _) => 1.0,
                (true, true) => (5.0 / 3.0) / (n_in as f32).sqrt(),
                (true, false) => 0.01,
            };
            let bias = match (scaled, hidden) {
                (false, _) => 1.0,
                (true, true) => 0.01,
                (true, false) => 0.0,
            };
            tensors.push(t(format!("W{k}"), vec![n_in, n_out], gain));
            tensors.push(t(format!("b{k}"), vec![n_out], bias));
            if hidden && self.batch_norm {
                let constant = |name: String, v: f32| HostTensor { name, shape: vec![n_out], values: vec![v; n_out] };
                tensors.push(constant(format!("bn{k}.gamma"), 1.0));
                tensors.push(constant(format!("bn{k}.beta"), 0.0));
                tensors.push(constant(format!("bn{k}.mean"), 0.0));
                tensors.push(constant(format!("bn{k}.var"), 1.0));
            }
        }
        Params { tensors }
    }

    pub fn load<B: Backend>(&self, p: &Params, device: &B::Device) -> anyhow::Result<Mlp<B>> {
        let specs = self.specs();
        let mut out = vec![];
        for &LayerSpec { k, n_in, n_out, hidden, .. } in &specs {
            let bn = if hidden && self.batch_norm {
                let mut bn: BatchNorm<B> = BatchNormConfig::new(n_out).with_epsilon(BN_EPSILON).init(device);
                bn.gamma = Param::from_tensor(p.tensor(&format!("bn{k}.gamma"), [n_out], device)?);
                bn.beta = Param::from_tensor(p.tensor(&format!("bn{k}.beta"), [n_out], device)?);
                bn.running_mean = RunningState::new(p.tensor(&format!("bn{k}.mean"), [n_out], device)?);
                bn.running_var = RunningState::new(p.tensor(&format!("bn{k}.var"), [n_out], device)?);
                Some(bn)
            } else {
                None
            };
            out.push(Layer {
                w: Param::from_tensor(p.tensor(&format!("W{k}"), [n_in, n_out], device)?),
                b: Param::from_tensor(p.tensor(&format!("b{k}"), [n_out], device)?),
                bn,
            });
        }
        Ok(Mlp {
            c: Param::from_tensor(p.tensor("C", [self.vocab_size, self.n_embd], device)?),
            layers: out,
            merges: specs.iter().map(|l| l.n_merge).collect(),
            dropout: 0.0,
        })
    }

    /// The layers as the runtime's file describes them (`w` `[n_out, n_in]` row-major), batch
    /// norm folded into each hidden layer:
    /// `w' = w gamma / s`, `b' = (b - mean) gamma / s + beta`, `s = sqrt(var + eps)`.
    pub fn folded(&self, p: &Params) -> anyhow::Result<Vec<runtime::FloatLinear>> {
        let mut out = vec![];
        for LayerSpec { k, n_merge, n_in, n_out, hidden } in self.specs() {
            let w = &p.get(&format!("W{k}"))?.values;
            let b = &p.get(&format!("b{k}"))?.values;
            anyhow::ensure!(
                w.len() == n_in * n_out && b.len() == n_out,
                "W{k}/b{k} do not have the configuration's shape; the checkpoint belongs to another configuration"
            );
            let (mut wt, mut bt) = (super::transpose(w, n_in, n_out), b.clone());
            if hidden && self.batch_norm {
                let get = |name: &str| p.get(&format!("bn{k}.{name}")).map(|t| t.values.clone());
                let (gamma, beta, mean, var) = (get("gamma")?, get("beta")?, get("mean")?, get("var")?);
                anyhow::ensure!(
                    [&gamma, &beta, &mean, &var].iter().all(|t| t.len() == n_out),
                    "bn{k} does not have {n_out} values per statistic; the checkpoint belongs to another configuration"
                );
                for (i, (row, bias)) in wt.chunks_exact_mut(n_in).zip(bt.iter_mut()).enumerate() {
                    let g = f64::from(gamma[i]) / (f64::from(var[i]) + BN_EPSILON).sqrt();
                    for v in row.iter_mut() {
                        *v = (f64::from(*v) * g) as f32;
                    }
                    *bias = ((f64::from(*bias) - f64::from(mean[i])) * g + f64::from(beta[i])) as f32;
                }
            }
            out.push(runtime::FloatLinear { n_merge, w: wt, b: bt });
        }
        Ok(out)
    }
}

/// Burn's `BatchNorm` with its training pass as one fused op ([`fused::batch_norm`]: about
/// 25 tracked tensor ops become one, with a one-pass backward): the batch statistics
/// normalise, and the running averages move towards them by `momentum` as in Burn
/// (`running (1 - momentum) + batch momentum`, biased variance). Evaluation (no autodiff)
/// is Burn's own pass over the running statistics, as the export folds them.
fn batch_norm<B: FusedOps>(bn: &BatchNorm<B>, z: Tensor<B, 2>) -> Tensor<B, 2> {
    if !B::ad_enabled(&z.device()) {
        return bn.forward(z);
    }
    let (y, mean, var) = fused::batch_norm(z, bn.gamma.val(), bn.beta.val(), bn.epsilon);
    let m = bn.momentum;
    let update = |state: &RunningState<Tensor<B, 1>>, batch: Tensor<B, 1>| {
        state.update(state.value_sync().mul_scalar(1.0 - m).add(batch.mul_scalar(m)).detach());
    };
    update(&bn.running_mean, mean);
    update(&bn.running_var, var);
    y
}

impl<B: FusedOps> Net<B> for Mlp<B> {
    fn dropout(&self) -> f64 {
        self.dropout
    }

    fn logits(&self, x: Tensor<B, 2, Int>) -> Tensor<B, 2> {
        let [n, block_size] = x.dims();
        // `h: [n * positions, features]`, row-major: a layer that merges `m` consecutive
        // positions reads it as `[n * positions / m, m * features]`, a reshape that moves
        // nothing. (Each reshape is a node of the autodiff graph, so layers that merge
        // nothing skip it.)
        let mut h = self.c.val().select(0, x.reshape([n * block_size])); // [n * block_size, n_embd]
        let mut positions = block_size;
        let last = self.layers.len().saturating_sub(1);
        for (k, (layer, &m)) in self.layers.iter().zip(self.merges.iter()).enumerate() {
            let m = m.max(1);
            if m > 1 {
                positions /= m;
                let features = h.dims()[1];
                h = h.reshape([n * positions, m * features]);
            }
            let z = fused::linear(h, layer.w.val(), layer.b.val()); // [n * positions, n_out]
            if k == last {
                return z;
            }
            let z = match &layer.bn {
                Some(bn) => batch_norm(bn, z),
                None => z,
            };
            // tanh: one fused op with a one-pass backward (see fused.rs for what it saves).
            // Burn's dropout acts only on the autodiff backend (and not at all at 0):
            // evaluation and export see the plain layer. The mask comes from the backend's
            // generator, which the training step seeds from the run's RNG (so a resumed run
            // draws the same masks).
            h = DropoutConfig::new(self.dropout).init().forward(tanh(z));
        }
        // Only a stack without layers gets here (none is ever built): the features as they are.
        let features = h.dims()[1];
        h.reshape([n, positions * features])
    }

    fn params(&self) -> Params {
        let mut tensors = vec![host("C", self.c.val())];
        for (k, layer) in self.layers.iter().enumerate().map(|(i, l)| (i + 1, l)) {
            tensors.push(host(&format!("W{k}"), layer.w.val()));
            tensors.push(host(&format!("b{k}"), layer.b.val()));
            if let Some(bn) = &layer.bn {
                tensors.push(host(&format!("bn{k}.gamma"), bn.gamma.val()));
                tensors.push(host(&format!("bn{k}.beta"), bn.beta.val()));
                tensors.push(host(&format!("bn{k}.mean"), bn.running_mean.value()));
                tensors.push(host(&format!("bn{k}.var"), bn.running_var.value()));
            }
        }
        Params { tensors }
    }
}
