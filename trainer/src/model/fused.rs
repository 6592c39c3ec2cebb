//! The two costliest element-wise parts of a training step as single autodiff ops with
//! one-pass backwards: the hidden layer's tanh and the cross-entropy.
//!
//! Written with Burn's tensor ops, each is several tracked ops: Burn's own `tanh()`
//! recomputes a scalar `tanhf` in the backward pass, `2 sigmoid(2x) - 1` is four ops whose
//! backward recomputes the sigmoid, and `log_softmax(..).gather(..).mean().neg()` is about ten
//! small ops each way (BENCHMARKS.md's profile: `expf` was 19% of a step, element-wise ops
//! 20%). Here tanh keeps its output and its backward is `grad * (1 - h^2)`; the cross-entropy
//! keeps the probabilities and its backward is `grad * (p - onehot(y)) / n`. On flex both run
//! straight over the tensors' memory (tanh as a rational function the compiler vectorises);
//! other backends run the same maths with their own tensor ops.
//!
//! The runtime keeps `libm::tanhf` (bit-exact sampling on every platform); this tanh is
//! within 5e-7 of the true value (tested), far below what training can see.

use burn::backend::autodiff::checkpoint::{base::Checkpointer, strategy::CheckpointStrategy};
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{unary, Backward, Ops, OpsKind};
use burn::backend::Autodiff;
#[cfg(feature = "flex")]
use burn::backend::{flex::FlexTensor, Flex};
use burn::prelude::*;
use burn::tensor::activation::log_softmax;
#[cfg(any(feature = "flex", feature = "ndarray"))]
use burn::tensor::ops::FloatTensorOps;
use burn::tensor::ops::{FloatTensor, IntTensor};
use burn::tensor::TensorPrimitive;
#[cfg(feature = "flex")]
use burn::tensor::{DType, TensorData, TensorMetadata};

/// A backend that can run [`tanh`] and [`cross_entropy`] as fused ops. The provided methods
/// use the backend's tensor ops; flex overrides them with loops over memory, and the
/// autodiff backend turns each into one tracked op.
pub trait FusedOps: Backend {
    /// `tanh(x)`.
    fn fused_tanh(x: FloatTensor<Self>) -> FloatTensor<Self> {
        Self::float_tanh(x)
    }

    /// The gradient of the input of a tanh whose output was `h`: `grad * (1 - h^2)`.
    fn fused_tanh_backward(h: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        tanh_backward_ops::<Self>(h, grad)
    }

    /// A linear layer, `x w + b` for `x: [n, i]`, `w: [i, o]`, `b: [o]`: the autodiff
    /// backend tracks it as one op (Burn's matmul and broadcast add are two, plus the bias's
    /// reshape, each with its own buffers).
    fn fused_linear(x: FloatTensor<Self>, w: FloatTensor<Self>, b: FloatTensor<Self>) -> FloatTensor<Self> {
        let y = Self::float_matmul(x, w);
        let [_, o] = shape2::<Self>(&y);
        Self::float_add(y, Self::float_reshape(b, [1, o].into()))
    }

    /// Mean cross-entropy of `logits: [n, v]` against `y: [n]`: a `[1]` tensor.
    fn fused_cross_entropy(logits: FloatTensor<Self>, y: IntTensor<Self>) -> FloatTensor<Self> {
        Self::fused_cross_entropy_forward(logits, y).0
    }

    /// The mean cross-entropy and the probabilities `softmax(logits)`, `[n, v]`.
    fn fused_cross_entropy_forward(
        logits: FloatTensor<Self>,
        y: IntTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        cross_entropy_forward_ops::<Self>(logits, y)
    }

    /// Batch norm over a batch, `x: [n, c]`: `(y, batch mean [c], batch variance [c])` with
    /// `y = (x - mean) / sqrt(var + eps) * gamma + beta` and the biased variance (Burn's
    /// `BatchNorm` in training). The autodiff backend tracks `y` as one op.
    fn fused_batch_norm(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        eps: f64,
    ) -> [FloatTensor<Self>; 3] {
        let [y, _, _, mean, var] = Self::fused_batch_norm_forward(x, gamma, beta, eps);
        [y, mean, var]
    }

    /// Batch norm's forward pass: `[y, xhat [n, c], inv_std [c], mean [c], var [c]]`, where
    /// `xhat = (x - mean) inv_std` and `inv_std = 1 / sqrt(var + eps)` are what the backward
    /// pass needs.
    fn fused_batch_norm_forward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        eps: f64,
    ) -> [FloatTensor<Self>; 5] {
        batch_norm_forward_ops::<Self>(x, gamma, beta, eps)
    }

    /// Batch norm's backward pass from the output's gradient `grad [n, c]`: `[dx, dgamma,
    /// dbeta]` with `dbeta = sum(grad)`, `dgamma = sum(grad xhat)` over the batch and
    /// `dx = gamma inv_std / n (n grad - dbeta - xhat dgamma)`.
    fn fused_batch_norm_backward(
        xhat: FloatTensor<Self>,
        inv_std: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> [FloatTensor<Self>; 3] {
        batch_norm_backward_ops::<Self>(xhat, inv_std, gamma, grad)
    }

    /// One SGD step on a parameter: `w - (w * weight_decay + g) * lr`, or `w - g * lr` when
    /// `weight_decay` is 0: Burn's `Sgd` arithmetic, in its order (so the same bits).
    fn fused_sgd(w: FloatTensor<Self>, g: FloatTensor<Self>, lr: f32, weight_decay: f32) -> FloatTensor<Self> {
        sgd_ops::<Self>(w, g, lr, weight_decay)
    }

    /// The gradient of the logits: `grad * (p - onehot(y)) / n`, `grad: [1]`.
    fn fused_cross_entropy_backward(
        p: FloatTensor<Self>,
        y: IntTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        cross_entropy_backward_ops::<Self>(p, y, grad)
    }
}

/// [`FusedOps::fused_cross_entropy_forward`] with the backend's tensor ops.
fn cross_entropy_forward_ops<B: Backend>(logits: FloatTensor<B>, y: IntTensor<B>) -> (FloatTensor<B>, FloatTensor<B>) {
    let logits = Tensor::<B, 2>::from_primitive(TensorPrimitive::Float(logits));
    let y = Tensor::<B, 1, Int>::from_primitive(y);
    let n = y.dims()[0];
    let logp = log_softmax(logits, 1);
    let loss = logp.clone().gather(1, y.reshape([n, 1])).mean().neg();
    (loss.into_primitive().tensor(), logp.exp().into_primitive().tensor())
}

/// [`FusedOps::fused_cross_entropy_backward`] with the backend's tensor ops.
fn cross_entropy_backward_ops<B: Backend>(p: FloatTensor<B>, y: IntTensor<B>, grad: FloatTensor<B>) -> FloatTensor<B> {
    let p = Tensor::<B, 2>::from_primitive(TensorPrimitive::Float(p));
    let [n, v] = p.dims();
    let onehot = Tensor::<B, 1, Int>::from_primitive(y).one_hot::<2>(v).float();
    let grad = Tensor::<B, 1>::from_primitive(TensorPrimitive::Float(grad)).unsqueeze::<2>();
    ((p - onehot) * grad / n as f64).into_primitive().tensor()
}

/// The two dimensions of a matrix (`[0, 0]` for anything else).
fn shape2<B: Backend>(t: &FloatTensor<B>) -> [usize; 2] {
    use burn::tensor::TensorMetadata;
    match *t.shape().as_slice() {
        [n, o] => [n, o],
        _ => [0, 0],
    }
}

/// `x w + b` as one op: the output is `x w` with the bias added in place, and the backward
/// pass is Burn's, `grad w^T`, `x^T grad` and the column sums of `grad` (the same ops Burn's
/// matmul and broadcast add run, so the same bits).
pub fn linear<B: FusedOps>(x: Tensor<B, 2>, w: Tensor<B, 2>, b: Tensor<B, 1>) -> Tensor<B, 2> {
    float(B::fused_linear(prim(x), prim(w), prim(b)))
}

fn float<B: Backend, const D: usize>(t: FloatTensor<B>) -> Tensor<B, D> {
    Tensor::from_primitive(TensorPrimitive::Float(t))
}

fn prim<B: Backend, const D: usize>(t: Tensor<B, D>) -> FloatTensor<B> {
    t.into_primitive().tensor()
}

/// [`FusedOps::fused_batch_norm_forward`] with the backend's tensor ops.
fn batch_norm_forward_ops<B: Backend>(
    x: FloatTensor<B>,
    gamma: FloatTensor<B>,
    beta: FloatTensor<B>,
    eps: f64,
) -> [FloatTensor<B>; 5] {
    let x = float::<B, 2>(x);
    let c = x.dims()[1];
    let mean = x.clone().mean_dim(0); // [1, c]
    let centered = x - mean.clone();
    let var = centered.clone().square().mean_dim(0); // [1, c]
    let inv_std = var.clone().add_scalar(eps).sqrt().recip();
    let xhat = centered * inv_std.clone();
    let y = xhat.clone() * float::<B, 1>(gamma).unsqueeze::<2>() + float::<B, 1>(beta).unsqueeze::<2>();
    [prim(y), prim(xhat), prim(inv_std.reshape([c])), prim(mean.reshape([c])), prim(var.reshape([c]))]
}

/// [`FusedOps::fused_batch_norm_backward`] with the backend's tensor ops.
fn batch_norm_backward_ops<B: Backend>(
    xhat: FloatTensor<B>,
    inv_std: FloatTensor<B>,
    gamma: FloatTensor<B>,
    grad: FloatTensor<B>,
) -> [FloatTensor<B>; 3] {
    let (xhat, dy) = (float::<B, 2>(xhat), float::<B, 2>(grad));
    let [n, c] = dy.dims();
    let dbeta = dy.clone().sum_dim(0); // [1, c]
    let dgamma = (dy.clone() * xhat.clone()).sum_dim(0); // [1, c]
    let scale = (float::<B, 1>(gamma) * float::<B, 1>(inv_std) / n as f64).unsqueeze::<2>();
    let dx = (dy * n as f64 - dbeta.clone() - xhat * dgamma.clone()) * scale;
    [prim(dx), prim(dgamma.reshape([c])), prim(dbeta.reshape([c]))]
}

/// Batch norm of `x: [n, c]` over the batch, with [`FusedOps`]'s forward and backward:
/// `(y, batch mean, batch variance)`; the statistics are not tracked (they feed the running
/// averages only).
pub fn batch_norm<B: FusedOps>(
    x: Tensor<B, 2>,
    gamma: Tensor<B, 1>,
    beta: Tensor<B, 1>,
    eps: f64,
) -> (Tensor<B, 2>, Tensor<B, 1>, Tensor<B, 1>) {
    let [y, mean, var] = B::fused_batch_norm(prim(x), prim(gamma), prim(beta), eps);
    (float(y), float(mean), float(var))
}

/// [`FusedOps::fused_sgd`] with the backend's tensor ops (Burn's `Sgd` and `WeightDecay`).
fn sgd_ops<B: Backend>(w: FloatTensor<B>, g: FloatTensor<B>, lr: f32, weight_decay: f32) -> FloatTensor<B> {
    let g = if weight_decay != 0.0 { B::float_add(B::float_mul_scalar(w.clone(), weight_decay.into()), g) } else { g };
    B::float_sub(w, B::float_mul_scalar(g, lr.into()))
}

/// Mean cross-entropy of `logits: [n, v]` against the targets `y: [n]`, as one op.
pub fn cross_entropy<B: FusedOps>(logits: Tensor<B, 2>, y: Tensor<B, 1, Int>) -> Tensor<B, 1> {
    Tensor::from_primitive(TensorPrimitive::Float(B::fused_cross_entropy(
        logits.into_primitive().tensor(),
        y.into_primitive(),
    )))
}

/// `grad * (1 - h^2)` with the backend's tensor ops.
fn tanh_backward_ops<B: Backend>(h: FloatTensor<B>, grad: FloatTensor<B>) -> FloatTensor<B> {
    let one_minus_h2 = B::float_add_scalar(B::float_neg(B::float_mul(h.clone(), h)), 1.0.into());
    B::float_mul(grad, one_minus_h2)
}

/// `tanh(x)`, elementwise, with [`FusedOps`]'s forward and backward.
pub fn tanh<B: FusedOps, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    Tensor::from_primitive(TensorPrimitive::Float(B::fused_tanh(x.into_primitive().tensor())))
}

impl<B: FusedOps, C: CheckpointStrategy> FusedOps for Autodiff<B, C> {
    fn fused_tanh(x: FloatTensor<Self>) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct Tanh;

        impl<B: FusedOps> Backward<B, 1> for Tanh {
            /// The forward pass's output.
            type State = FloatTensor<B>;

            fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
                let h = ops.state;
                unary::<B, _>(ops.parents, ops.node, grads, |grad| B::fused_tanh_backward(h, grad));
            }
        }

        match Tanh.prepare::<C>([x.node.clone()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let h = B::fused_tanh(x.primitive);
                prep.finish(h.clone(), h)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::fused_tanh(x.primitive)),
        }
    }

    fn fused_linear(x: FloatTensor<Self>, w: FloatTensor<Self>, b: FloatTensor<Self>) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct Linear;

        impl<B: FusedOps> Backward<B, 3> for Linear {
            /// The input and the weights.
            type State = (FloatTensor<B>, FloatTensor<B>);

            fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
                let (x, w) = ops.state;
                let grad = grads.consume::<B>(&ops.node);
                let [node_x, node_w, node_b] = ops.parents;
                if let Some(node) = node_x {
                    grads.register::<B>(node.id, B::float_matmul(grad.clone(), B::float_transpose(w)));
                }
                if let Some(node) = node_w {
                    grads.register::<B>(node.id, B::float_matmul(B::float_transpose(x), grad.clone()));
                }
                if let Some(node) = node_b {
                    let [_, o] = shape2::<B>(&grad);
                    grads.register::<B>(node.id, B::float_reshape(B::float_sum_dim(grad, 0), [o].into()));
                }
            }
        }

        let parents = [x.node.clone(), w.node.clone(), b.node.clone()];
        match Linear.prepare::<C>(parents).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let y = B::fused_linear(x.primitive.clone(), w.primitive.clone(), b.primitive);
                prep.finish((x.primitive, w.primitive), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::fused_linear(x.primitive, w.primitive, b.primitive)),
        }
    }

    fn fused_batch_norm(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        eps: f64,
    ) -> [FloatTensor<Self>; 3] {
        #[derive(Debug)]
        struct BatchNorm;

        impl<B: FusedOps> Backward<B, 3> for BatchNorm {
            /// `xhat`, `inv_std` and `gamma` of the forward pass.
            type State = (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>);

            fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
                let (xhat, inv_std, gamma) = ops.state;
                let grad = grads.consume::<B>(&ops.node);
                let [dx, dgamma, dbeta] = B::fused_batch_norm_backward(xhat, inv_std, gamma, grad);
                for (parent, g) in ops.parents.into_iter().zip([dx, dgamma, dbeta]) {
                    if let Some(node) = parent {
                        grads.register::<B>(node.id, g);
                    }
                }
            }
        }

        let parents = [x.node.clone(), gamma.node.clone(), beta.node.clone()];
        let g = gamma.primitive;
        let stats = |t| <Self as burn::tensor::backend::AutodiffBackend>::from_inner(t);
        match BatchNorm.prepare::<C>(parents).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let [y, xhat, inv_std, mean, var] =
                    B::fused_batch_norm_forward(x.primitive, g.clone(), beta.primitive, eps);
                [prep.finish((xhat, inv_std, g), y), stats(mean), stats(var)]
            }
            OpsKind::UnTracked(prep) => {
                let [y, mean, var] = B::fused_batch_norm(x.primitive, g, beta.primitive, eps);
                [prep.finish(y), stats(mean), stats(var)]
            }
        }
    }

    fn fused_cross_entropy(logits: FloatTensor<Self>, y: IntTensor<Self>) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct CrossEntropy;

        impl<B: FusedOps> Backward<B, 1> for CrossEntropy {
            /// The probabilities and the targets.
            type State = (FloatTensor<B>, IntTensor<B>);

            fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
                let (p, y) = ops.state;
                unary::<B, _>(ops.parents, ops.node, grads, |grad| B::fused_cross_entropy_backward(p, y, grad));
            }
        }

        match CrossEntropy.prepare::<C>([logits.node.clone()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let (loss, p) = B::fused_cross_entropy_forward(logits.primitive, y.clone());
                prep.finish((p, y), loss)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::fused_cross_entropy(logits.primitive, y)),
        }
    }
}

#[cfg(feature = "flex")]
impl FusedOps for Flex {
    fn fused_tanh(x: FloatTensor<Self>) -> FloatTensor<Self> {
        let x = contiguous(x);
        if x.as_slice::<f32>().is_none() {
            return Self::float_tanh(x); // not f32: Burn's own
        }
        rewrite(x, |v| v.iter_mut().for_each(|v| *v = tanh_f32(*v)))
    }

    fn fused_tanh_backward(h: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        let (h, grad) = (contiguous(h), contiguous(grad));
        let (Some(hs), Some(n)) = (h.as_slice::<f32>(), grad.as_slice::<f32>().map(<[f32]>::len)) else {
            return tanh_backward_ops::<Self>(h, grad);
        };
        if hs.len() != n {
            return tanh_backward_ops::<Self>(h, grad);
        }
        rewrite(grad, |gs| {
            for (g, &h) in gs.iter_mut().zip(hs) {
                *g *= 1.0 - h * h;
            }
        })
    }

    fn fused_linear(x: FloatTensor<Self>, w: FloatTensor<Self>, b: FloatTensor<Self>) -> FloatTensor<Self> {
        let y = contiguous(Self::float_matmul(x, w));
        let b = contiguous(b);
        let [_, o] = shape2::<Self>(&y);
        match (y.as_slice::<f32>(), b.as_slice::<f32>()) {
            // The product is a new buffer of this op's own: the bias goes in in place.
            (Some(_), Some(bs)) if bs.len() == o && o > 0 => rewrite(y, |ys| {
                for row in ys.chunks_exact_mut(o) {
                    for (v, &bias) in row.iter_mut().zip(bs) {
                        *v += bias;
                    }
                }
            }),
            _ => Self::float_add(y, Self::float_reshape(b, [1, o].into())),
        }
    }

    fn fused_batch_norm_forward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        eps: f64,
    ) -> [FloatTensor<Self>; 5] {
        let (x, gamma, beta) = (contiguous(x), contiguous(gamma), contiguous(beta));
        let (Some(xs), Some(gs), Some(bs), [n, c]) =
            (x.as_slice::<f32>(), gamma.as_slice::<f32>(), beta.as_slice::<f32>(), dims2(&x))
        else {
            return batch_norm_forward_ops::<Self>(x, gamma, beta, eps);
        };
        if gs.len() != c || bs.len() != c || n == 0 {
            return batch_norm_forward_ops::<Self>(x, gamma, beta, eps);
        }
        // Column statistics row by row (the inner loops run along the channels, contiguous),
        // summed in f64.
        let mut sum = vec![0.0f64; c];
        for row in xs.chunks_exact(c) {
            for (s, &v) in sum.iter_mut().zip(row) {
                *s += f64::from(v);
            }
        }
        let mean: Vec<f32> = sum.iter().map(|s| (s / n as f64) as f32).collect();
        let mut sq = vec![0.0f64; c];
        for row in xs.chunks_exact(c) {
            for ((s, &v), &m) in sq.iter_mut().zip(row).zip(&mean) {
                let d = f64::from(v - m);
                *s += d * d;
            }
        }
        let var: Vec<f32> = sq.iter().map(|s| (s / n as f64) as f32).collect();
        let inv_std: Vec<f32> = var.iter().map(|&v| (1.0 / (f64::from(v) + eps).sqrt()) as f32).collect();
        // x becomes xhat (in place when x is this op's alone), and y is made from it.
        let xhat = rewrite(x, |xs| {
            for row in xs.chunks_exact_mut(c) {
                for ((v, &m), &i) in row.iter_mut().zip(&mean).zip(&inv_std) {
                    *v = (*v - m) * i;
                }
            }
        });
        let y: Vec<f32> = xhat
            .as_slice::<f32>()
            .unwrap_or_default()
            .chunks_exact(c)
            .flat_map(|row| row.iter().zip(gs).zip(bs).map(|((&h, &g), &b)| h * g + b))
            .collect();
        let y = FlexTensor::from_data(TensorData::new(y, [n, c]));
        let vector = |v: Vec<f32>| FlexTensor::from_data(TensorData::new(v, [c]));
        [y, xhat, vector(inv_std), vector(mean), vector(var)]
    }

    fn fused_batch_norm_backward(
        xhat: FloatTensor<Self>,
        inv_std: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> [FloatTensor<Self>; 3] {
        let (xhat, inv_std, gamma, grad) = (contiguous(xhat), contiguous(inv_std), contiguous(gamma), contiguous(grad));
        let (Some(hs), Some(is), Some(gs), Some(dys), [n, c]) = (
            xhat.as_slice::<f32>(),
            inv_std.as_slice::<f32>(),
            gamma.as_slice::<f32>(),
            grad.as_slice::<f32>(),
            dims2(&grad),
        ) else {
            return batch_norm_backward_ops::<Self>(xhat, inv_std, gamma, grad);
        };
        if is.len() != c || gs.len() != c || hs.len() != dys.len() {
            return batch_norm_backward_ops::<Self>(xhat, inv_std, gamma, grad);
        }
        let (mut dbeta, mut dgamma) = (vec![0.0f32; c], vec![0.0f32; c]);
        for (dy_row, h_row) in dys.chunks_exact(c).zip(hs.chunks_exact(c)) {
            for (((db, dg), &dy), &h) in dbeta.iter_mut().zip(dgamma.iter_mut()).zip(dy_row).zip(h_row) {
                *db += dy;
                *dg += dy * h;
            }
        }
        let nf = n as f32;
        let scale: Vec<f32> = gs.iter().zip(is).map(|(&g, &i)| g * i / nf).collect();
        // The output's gradient becomes the input's (in place when it is this op's alone).
        let dx = rewrite(grad, |dys| {
            for (dy_row, h_row) in dys.chunks_exact_mut(c).zip(hs.chunks_exact(c)) {
                for (j, (dy, &h)) in dy_row.iter_mut().zip(h_row).enumerate() {
                    *dy = scale[j] * (nf * *dy - dbeta[j] - h * dgamma[j]);
                }
            }
        });
        let vector = |v: Vec<f32>| FlexTensor::from_data(TensorData::new(v, [c]));
        [dx, vector(dgamma), vector(dbeta)]
    }

    fn fused_sgd(w: FloatTensor<Self>, g: FloatTensor<Self>, lr: f32, weight_decay: f32) -> FloatTensor<Self> {
        let (w, g) = (contiguous(w), contiguous(g));
        let (Some(_), Some(gs)) = (w.as_slice::<f32>(), g.as_slice::<f32>()) else {
            return sgd_ops::<Self>(w, g, lr, weight_decay);
        };
        if w.shape() != g.shape() {
            return sgd_ops::<Self>(w, g, lr, weight_decay);
        }
        // In place when the buffer is the parameter's alone (it is, between steps).
        rewrite(w, |ws| {
            if weight_decay != 0.0 {
                for (w, &g) in ws.iter_mut().zip(gs) {
                    *w -= (*w * weight_decay + g) * lr;
                }
            } else {
                for (w, &g) in ws.iter_mut().zip(gs) {
                    *w -= g * lr;
                }
            }
        })
    }

    fn fused_cross_entropy_forward(
        logits: FloatTensor<Self>,
        y: IntTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        let logits = contiguous(logits);
        let (true, Some(targets), [n, v]) = (logits.as_slice::<f32>().is_some(), int_targets(&y), dims2(&logits))
        else {
            return cross_entropy_forward_ops::<Self>(logits, y);
        };
        let mut total = 0.0f64;
        // The logits become the probabilities (in place when they are this op's alone).
        let p = rewrite(logits, |l| {
            for (row, &t) in l.chunks_exact_mut(v).zip(&targets) {
                let m = row.iter().fold(f32::NEG_INFINITY, |m, &x| m.max(x));
                // -log p[t] = log(sum) - (x[t] - m), x[t] read before the row is overwritten.
                let xt = row.get(t).copied().unwrap_or(f32::NAN) - m;
                let mut sum = 0.0f32;
                for x in row.iter_mut() {
                    *x = (*x - m).exp();
                    sum += *x;
                }
                for p in row.iter_mut() {
                    *p /= sum;
                }
                total += f64::from(sum.ln() - xt);
            }
        });
        let loss = (total / n.max(1) as f64) as f32;
        (FlexTensor::from_data(TensorData::new(vec![loss], [1])), p)
    }

    fn fused_cross_entropy_backward(
        p: FloatTensor<Self>,
        y: IntTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let p = contiguous(p);
        let (true, Some(targets), Some(&g), [n, v]) = (
            p.as_slice::<f32>().is_some(),
            int_targets(&y),
            grad.to_contiguous().as_slice::<f32>().and_then(|g| g.first()),
            dims2(&p),
        ) else {
            return cross_entropy_backward_ops::<Self>(p, y, grad);
        };
        let scale = g / n.max(1) as f32;
        // The probabilities become the logits' gradient (in place: they are this op's state).
        rewrite(p, |ps| {
            for (row, &t) in ps.chunks_exact_mut(v).zip(&targets) {
                for (k, p) in row.iter_mut().enumerate() {
                    *p = (*p - if k == t { 1.0 } else { 0.0 }) * scale;
                }
            }
        })
    }
}

/// `t` itself when its values are one contiguous f32 run from the start of its buffer (so it
/// stays the buffer's only owner), else a contiguous copy.
#[cfg(feature = "flex")]
fn contiguous(t: FlexTensor) -> FlexTensor {
    if t.as_slice::<f32>().is_some() {
        t
    } else {
        t.to_contiguous()
    }
}

/// Runs `f` over the values of `t` (f32; callers check) as a buffer it may overwrite: `t`'s
/// own when nothing else holds it and its values are one run from its buffer's start, else
/// a contiguous copy. A fused op's output thus reuses its input's
/// buffer where it can: flex's `FlexTensor::empty` zeroes a new buffer and then copies it
/// into an aligned one (callgrind: 24% of a training step's instructions, most of it in the
/// matrix products' outputs, which are flex's own).
#[cfg(feature = "flex")]
fn rewrite(t: FlexTensor, f: impl FnOnce(&mut [f32])) -> FlexTensor {
    let mut t = contiguous(t);
    let n = t.shape().num_elements();
    if t.as_slice::<f32>().is_some() {
        if let Some(values) = t.try_storage_mut::<f32>().and_then(|s| s.get_mut(..n)) {
            f(values);
            return t;
        }
    }
    let mut values = t.as_slice::<f32>().map_or_else(|| vec![0.0; n], <[f32]>::to_vec);
    f(&mut values);
    FlexTensor::from_data(TensorData::new(values, t.shape()))
}

/// The shape of a 2-D flex tensor, `[0, 0]` (treated as not fusable) otherwise.
#[cfg(feature = "flex")]
fn dims2(t: &FlexTensor) -> [usize; 2] {
    match *t.shape().as_slice() {
        [n, v] if v > 0 => [n, v],
        _ => [0, 0],
    }
}

/// A flex integer tensor's values as indices (`None`: an unexpected type, use the fallback).
#[cfg(feature = "flex")]
fn int_targets(y: &FlexTensor) -> Option<Vec<usize>> {
    let y = y.to_contiguous();
    match y.dtype() {
        DType::I32 => y.as_slice::<i32>().map(|s| s.iter().map(|&t| t as usize).collect()),
        DType::I64 => y.as_slice::<i64>().map(|s| s.iter().map(|&t| t as usize).collect()),
        _ => None,
    }
}

#[cfg(feature = "ndarray")]
impl FusedOps for burn::backend::NdArray {
    /// `2 sigmoid(2x) - 1`: ndarray's `tanh` is a scalar `tanhf` per value, its sigmoid is not.
    fn fused_tanh(x: FloatTensor<Self>) -> FloatTensor<Self> {
        use burn::tensor::ops::ActivationOps;
        let s = Self::sigmoid(Self::float_mul_scalar(x, 2.0.into()));
        Self::float_sub_scalar(Self::float_mul_scalar(s, 2.0.into()), 1.0.into())
    }
}

#[cfg(feature = "cuda")]
impl FusedOps for burn::backend::Cuda {}

/// tanh as a clamped rational function, `x P(x^2) / Q(x^2)` (the minimax fit Eigen uses for
/// float tanh): within 5e-7 of the true value (tested), no branches, so it vectorises.
#[inline]
pub fn tanh_f32(x: f32) -> f32 {
    // Beyond +-7.905 tanh rounds to +-1 in f32, and the clamp keeps x^2 from overflowing
    // (so +-inf give +-1). NaN passes through the clamp and comes out NaN.
    let x = x.clamp(-7.905_311, 7.905_311);
    let x2 = x * x;
    let p = x2 * -2.760_768_5e-16 + 2.000_188e-13;
    let p = x2 * p + -8.604_672e-11;
    let p = x2 * p + 5.122_297e-8;
    let p = x2 * p + 1.485_722_4e-5;
    let p = x2 * p + 6.372_619_3e-4;
    let p = x2 * p + 4.893_524_6e-3;
    let q = x2 * 1.198_258_4e-6 + 1.185_347e-4;
    let q = x2 * q + 2.268_434_6e-3;
    let q = x2 * q + 4.893_525e-3;
    x * p / q
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::backend::AutodiffBackend;

    #[test]
    fn rational_tanh_is_within_a_few_ulps() {
        let mut worst = 0.0f64;
        for i in -2_000_000..=2_000_000 {
            let x = i as f32 * 1e-5; // [-20, 20]
            let got = f64::from(tanh_f32(x));
            let want = f64::from(x).tanh();
            worst = worst.max((got - want).abs());
        }
        assert!(worst < 5e-7, "worst absolute error {worst:e}");
        assert_eq!(tanh_f32(f32::INFINITY), 1.0);
        assert_eq!(tanh_f32(f32::NEG_INFINITY), -1.0);
        assert!(tanh_f32(f32::NAN).is_nan());
        assert_eq!(tanh_f32(0.0), 0.0);
    }

    /// The fused cross-entropy's loss and gradient against Burn's log-softmax, on backend `B`.
    fn check_cross_entropy<B: AutodiffBackend + FusedOps>() {
        let device = Default::default();
        let logits: Vec<f32> = (0..5 * 27).map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.2).collect();
        let targets = Tensor::<B, 1, Int>::from_ints([0, 26, 3, 3, 12], &device);
        let a = Tensor::<B, 1>::from_floats(logits.as_slice(), &device).reshape([5, 27]).require_grad();
        let b = a.clone().detach().require_grad();
        let fused = cross_entropy(a.clone(), targets.clone());
        let plain = log_softmax(b.clone(), 1).gather(1, targets.reshape([5, 1])).mean().neg();
        let (lf, lp): (f32, f32) = (fused.clone().into_scalar().elem(), plain.clone().into_scalar().elem());
        assert!((lf - lp).abs() <= 1e-5 * lp.abs(), "{lf} vs {lp}");
        let (gf, gp) = (fused.backward(), plain.backward());
        let ga = a.grad(&gf).unwrap().into_data().to_vec::<f32>().unwrap();
        let gb = b.grad(&gp).unwrap().into_data().to_vec::<f32>().unwrap();
        assert!(ga.iter().zip(&gb).all(|(x, y)| (x - y).abs() <= 1e-6), "{ga:?} vs {gb:?}");
        assert!(ga.iter().any(|&g| g != 0.0));
    }

    /// The fused tanh's values and gradient against Burn's `tanh`, on backend `B`.
    fn check_tanh<B: AutodiffBackend + FusedOps>() {
        let device = Default::default();
        let values: Vec<f32> = (0..200).map(|i| (i as f32 - 100.0) * 0.09).collect();
        let x = Tensor::<B, 1>::from_floats(values.as_slice(), &device).reshape([10, 20]).require_grad();
        let y = Tensor::<B, 1>::from_floats(values.as_slice(), &device).reshape([10, 20]).require_grad();
        let w = Tensor::<B, 2>::random([10, 20], burn::tensor::Distribution::Default, &device);
        let fused = (tanh(x.clone()) * w.clone()).sum();
        let reference = (y.clone().tanh() * w).sum();
        let (gf, gr) = (fused.backward(), reference.backward());
        let close = |a: Vec<f32>, b: Vec<f32>| a.iter().zip(&b).all(|(a, b)| (a - b).abs() <= 1e-6);
        assert!(close(tanh(x.clone()).into_data().to_vec().unwrap(), y.clone().tanh().into_data().to_vec().unwrap()));
        let gx = x.grad(&gf).unwrap().into_data().to_vec::<f32>().unwrap();
        let gy = y.grad(&gr).unwrap().into_data().to_vec::<f32>().unwrap();
        assert!(close(gx, gy));
    }

    /// The fused batch norm's output, gradients (input, gamma, beta) and statistics against
    /// Burn's `BatchNorm` in training, on backend `B`.
    fn check_batch_norm<B: AutodiffBackend + FusedOps>() {
        use burn::nn::BatchNormConfig;
        let device = Default::default();
        let (n, c) = (12, 5);
        let values: Vec<f32> = (0..n * c).map(|i| ((i * 37 % 23) as f32 - 11.0) * 0.3 + (i % c) as f32).collect();
        let input = || Tensor::<B, 1>::from_floats(values.as_slice(), &device).reshape([n, c]).require_grad();
        let mut bn = BatchNormConfig::new(c).init::<B>(&device);
        let gamma: Vec<f32> = (0..c).map(|j| 0.5 + j as f32 * 0.25).collect();
        let beta: Vec<f32> = (0..c).map(|j| j as f32 * 0.1 - 0.2).collect();
        bn.gamma = burn::module::Param::from_tensor(Tensor::from_floats(gamma.as_slice(), &device));
        bn.beta = burn::module::Param::from_tensor(Tensor::from_floats(beta.as_slice(), &device));
        let w = Tensor::<B, 2>::random([n, c], burn::tensor::Distribution::Default, &device);
        let (x, xr) = (input(), input());
        let (g, b) = (bn.gamma.val(), bn.beta.val());
        let (y, mean, var) = batch_norm(x.clone(), g.clone(), b.clone(), bn.epsilon);
        let reference = bn.forward(xr.clone());
        fn v<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
            t.into_data().to_vec::<f32>().unwrap()
        }
        let v1 = v::<B::InnerBackend, 1>;
        let close =
            |a: &[f32], b: &[f32], tol: f32| a.iter().zip(b).all(|(a, b)| (a - b).abs() <= tol * (1.0 + b.abs()));
        assert!(close(&v(y.clone()), &v(reference.clone()), 1e-5));
        let gf = (y * w.clone()).sum().backward();
        let gr = (reference * w).sum().backward();
        assert!(close(&v(x.grad(&gf).unwrap()), &v(xr.grad(&gr).unwrap()), 1e-4));
        assert!(close(&v1(g.grad(&gf).unwrap()), &v1(bn.gamma.val().grad(&gr).unwrap()), 1e-4));
        assert!(close(&v1(b.grad(&gf).unwrap()), &v1(bn.beta.val().grad(&gr).unwrap()), 1e-5));
        // The batch statistics: column means and biased variances.
        let cols = |j: usize| values.iter().skip(j).step_by(c).map(|&x| f64::from(x)).collect::<Vec<_>>();
        for (j, (m, s2)) in v(mean).iter().zip(v(var)).enumerate() {
            let col = cols(j);
            let want_m = col.iter().sum::<f64>() / n as f64;
            let want_v = col.iter().map(|x| (x - want_m).powi(2)).sum::<f64>() / n as f64;
            assert!((f64::from(*m) - want_m).abs() < 1e-5 && (f64::from(s2) - want_v).abs() < 1e-4 * want_v);
        }
    }

    /// The fused linear layer equals Burn's matmul and broadcast add bit for bit: output and
    /// the gradients of input, weights and bias.
    fn check_linear<B: AutodiffBackend + FusedOps>() {
        let device = Default::default();
        let t = |n: usize, seed: usize| -> Vec<f32> {
            (0..n).map(|i| ((i * 37 + seed * 11) % 41) as f32 * 0.07 - 1.3).collect()
        };
        let (n, i, o) = (6, 5, 7);
        let make = || {
            let x = Tensor::<B, 1>::from_floats(t(n * i, 1).as_slice(), &device).reshape([n, i]).require_grad();
            let w = Tensor::<B, 1>::from_floats(t(i * o, 2).as_slice(), &device).reshape([i, o]).require_grad();
            let b = Tensor::<B, 1>::from_floats(t(o, 3).as_slice(), &device).require_grad();
            (x, w, b)
        };
        let (x, w, b) = make();
        let (xr, wr, br) = make();
        let out = Tensor::<B, 2>::random([n, o], burn::tensor::Distribution::Default, &device);
        let y = linear(x.clone(), w.clone(), b.clone());
        let yr = xr.clone().matmul(wr.clone()) + br.clone().unsqueeze::<2>();
        let v = |t: Tensor<B, 2>| t.into_data().to_vec::<f32>().unwrap();
        assert_eq!(v(y.clone()), v(yr.clone()));
        let (g, gr) = ((y * out.clone()).sum().backward(), (yr * out).sum().backward());
        let d = |t: Option<Tensor<B::InnerBackend, 2>>| t.unwrap().into_data().to_vec::<f32>().unwrap();
        assert_eq!(d(x.grad(&g)), d(xr.grad(&gr)));
        assert_eq!(d(w.grad(&g)), d(wr.grad(&gr)));
        let d1 = |t: Option<Tensor<B::InnerBackend, 1>>| t.unwrap().into_data().to_vec::<f32>().unwrap();
        assert_eq!(d1(b.grad(&g)), d1(br.grad(&gr)));
    }

    /// The fused SGD step gives Burn's `Sgd` (with and without weight decay) bit for bit.
    fn check_sgd<B: AutodiffBackend + FusedOps>()
    where
        B::InnerBackend: FusedOps,
    {
        use burn::optim::decay::WeightDecayConfig;
        use burn::optim::{GradientsParams, Optimizer, SgdConfig};
        let device = Default::default();
        for wd in [0.0f32, 1e-3] {
            let cfg = crate::config::TrainConfig { block_size: 2, n_embd: 3, n_hidden: 7, ..Default::default() };
            let shape = crate::model::mlp::MlpConfig::new(&cfg, 11);
            let init = shape.init_params(true, &mut runtime::Pcg32::new(3, 1));
            let x = Tensor::<B, 2, Int>::from_ints([[1, 2], [3, 4], [0, 10], [5, 5]], &device);
            let y = Tensor::<B, 1, Int>::from_ints([2, 0, 9, 1], &device);
            let step =
                |optim: &mut dyn FnMut(crate::model::mlp::Mlp<B>, GradientsParams) -> crate::model::mlp::Mlp<B>| {
                    let mut m = shape.load::<B>(&init, &device).unwrap();
                    for _ in 0..3 {
                        let loss = cross_entropy(crate::model::Net::logits(&m, x.clone()), y.clone());
                        let grads = GradientsParams::from_grads(loss.backward(), &m);
                        m = optim(m, grads);
                    }
                    crate::model::Net::params(&m)
                };
            let mut ours = crate::optim::Sgd::new(wd);
            let decay = (wd > 0.0).then(|| WeightDecayConfig::new(wd));
            let mut burns = SgdConfig::new().with_weight_decay(decay).init();
            let a = step(&mut |m, g| ours.step(0.3, m, g));
            let b = step(&mut |m, g| burns.step(0.3, m, g));
            assert_eq!(a, b, "weight decay {wd}");
        }
    }

    #[cfg(feature = "flex")]
    #[test]
    fn flex_fused_ops_match_burns() {
        check_tanh::<Autodiff<Flex>>();
        check_cross_entropy::<Autodiff<Flex>>();
        check_batch_norm::<Autodiff<Flex>>();
        check_linear::<Autodiff<Flex>>();
        check_sgd::<Autodiff<Flex>>();
    }

    /// CI runs it: `cargo test -p trainer --features ndarray --lib fused`.
    #[cfg(feature = "ndarray")]
    #[test]
    fn ndarray_fused_ops_match_burns() {
        check_tanh::<Autodiff<burn::backend::NdArray>>();
        check_cross_entropy::<Autodiff<burn::backend::NdArray>>();
        check_batch_norm::<Autodiff<burn::backend::NdArray>>();
        check_linear::<Autodiff<burn::backend::NdArray>>();
        check_sgd::<Autodiff<burn::backend::NdArray>>();
    }
}
