//! Plain SGD with weight decay, each parameter updated in one pass over its memory.
//!
//! Burn's `Sgd` (through its `OptimizerAdaptor`) spends four tensor ops per parameter and step
//! with weight decay (`w * wd`, `+ g`, `* lr`, `w - ..`), each a new buffer, plus a
//! per-parameter state record in a hash map that plain SGD never reads. This optimizer does
//! the same arithmetic, in the same order per element, as one op ([`FusedOps::fused_sgd`]):
//! `w - (w * wd + g) * lr`, or `w - g * lr` without decay. On flex that runs in place
//! whenever the parameter's buffer is not shared, so the weights are bit for bit those of
//! Burn's optimizer (tested) at a fraction of the cost.

use crate::model::fused::FusedOps;
use burn::module::{AutodiffModule, ModuleMapper, Param};
use burn::optim::{GradientsParams, LearningRate, MultiGradientsParams, Optimizer};
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::TensorPrimitive;

/// Stateless SGD: `w <- w - lr (g + weight_decay w)`.
#[derive(Clone, Copy, Debug)]
pub struct Sgd {
    weight_decay: f32,
}

impl Sgd {
    /// SGD with L2 weight decay `weight_decay` (0: none).
    pub fn new(weight_decay: f32) -> Self {
        Self { weight_decay }
    }
}

/// Where a step's gradients come from (one device or several, as Burn's optimizers take).
enum Grads<'a> {
    Single(&'a mut GradientsParams),
    Multi(&'a mut MultiGradientsParams),
}

struct Step<'a> {
    grads: Grads<'a>,
    lr: f32,
    weight_decay: f32,
}

impl<B> ModuleMapper<B> for Step<'_>
where
    B: AutodiffBackend,
    B::InnerBackend: FusedOps,
{
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let (id, tensor, mapper) = param.consume();
        let grad: Option<Tensor<B::InnerBackend, D>> = match &mut self.grads {
            Grads::Single(g) => g.remove(id),
            Grads::Multi(g) => g.remove(id).map(|(t, _)| t),
        };
        let Some(grad) = grad else {
            return Param::from_mapped_value(id, tensor, mapper);
        };
        let require_grad = tensor.is_require_grad();
        let w = tensor.inner().into_primitive().tensor();
        let g = grad.into_primitive().tensor();
        let updated = <B::InnerBackend as FusedOps>::fused_sgd(w, g, self.lr, self.weight_decay);
        let mut tensor = Tensor::from_inner(Tensor::from_primitive(TensorPrimitive::Float(updated)));
        if require_grad {
            tensor = tensor.require_grad();
        }
        Param::from_mapped_value(id, tensor, mapper)
    }
}

impl<M, B> Optimizer<M, B> for Sgd
where
    B: AutodiffBackend,
    B::InnerBackend: FusedOps,
    M: AutodiffModule<B>,
{
    type Record = ();

    fn step(&mut self, lr: LearningRate, module: M, mut grads: GradientsParams) -> M {
        module.map(&mut Step { grads: Grads::Single(&mut grads), lr: lr as f32, weight_decay: self.weight_decay })
    }

    fn step_multi(&mut self, lr: LearningRate, module: M, mut grads: MultiGradientsParams) -> M {
        module.map(&mut Step { grads: Grads::Multi(&mut grads), lr: lr as f32, weight_decay: self.weight_decay })
    }

    fn to_record(&self) -> Self::Record {}

    fn load_record(self, _: Self::Record) -> Self {
        self
    }
}
