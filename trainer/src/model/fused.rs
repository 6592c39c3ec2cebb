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
        let x = x.to_contiguous();
        let Some(src) = x.as_slice::<f32>() else {
            return Self::float_tanh(x); // not f32: Burn's own
        };
        let mut out = FlexTensor::empty(x.shape(), x.dtype());
        for (o, &v) in out.storage_mut::<f32>().iter_mut().zip(src) {
            *o = tanh_f32(v);
        }
        out
    }

    fn fused_tanh_backward(h: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        let (h, grad) = (h.to_contiguous(), grad.to_contiguous());
        let (Some(hs), Some(gs)) = (h.as_slice::<f32>(), grad.as_slice::<f32>()) else {
            return tanh_backward_ops::<Self>(h, grad);
        };
        let mut out = FlexTensor::empty(grad.shape(), grad.dtype());
        for ((o, &h), &g) in out.storage_mut::<f32>().iter_mut().zip(hs).zip(gs) {
            *o = g * (1.0 - h * h);
        }
        out
    }

    fn fused_cross_entropy_forward(
        logits: FloatTensor<Self>,
        y: IntTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        let logits = logits.to_contiguous();
        let (Some(l), Some(targets), [n, v]) = (logits.as_slice::<f32>(), int_targets(&y), dims2(&logits)) else {
            return cross_entropy_forward_ops::<Self>(logits, y);
        };
        let mut p = FlexTensor::empty(logits.shape(), logits.dtype());
        let mut total = 0.0f64;
        for ((row, p_row), &t) in l.chunks_exact(v).zip(p.storage_mut::<f32>().chunks_exact_mut(v)).zip(&targets) {
            let m = row.iter().fold(f32::NEG_INFINITY, |m, &x| m.max(x));
            let mut sum = 0.0f32;
            for (p, &x) in p_row.iter_mut().zip(row) {
                *p = (x - m).exp();
                sum += *p;
            }
            for p in p_row.iter_mut() {
                *p /= sum;
            }
            // -log p[t] = log(sum) - (x[t] - m)
            total += f64::from(sum.ln() - (row.get(t).copied().unwrap_or(f32::NAN) - m));
        }
        let loss = (total / n.max(1) as f64) as f32;
        (FlexTensor::from_data(TensorData::new(vec![loss], [1])), p)
    }

    fn fused_cross_entropy_backward(
        p: FloatTensor<Self>,
        y: IntTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let p = p.to_contiguous();
        let (Some(ps), Some(targets), Some(&g), [n, v]) = (
            p.as_slice::<f32>(),
            int_targets(&y),
            grad.to_contiguous().as_slice::<f32>().and_then(|g| g.first()),
            dims2(&p),
        ) else {
            return cross_entropy_backward_ops::<Self>(p, y, grad);
        };
        let scale = g / n.max(1) as f32;
        let mut out = FlexTensor::empty(p.shape(), p.dtype());
        for ((o_row, p_row), &t) in out.storage_mut::<f32>().chunks_exact_mut(v).zip(ps.chunks_exact(v)).zip(&targets) {
            for (k, (o, &p)) in o_row.iter_mut().zip(p_row).enumerate() {
                *o = (p - if k == t { 1.0 } else { 0.0 }) * scale;
            }
        }
        out
    }
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

    #[cfg(feature = "flex")]
    #[test]
    fn flex_fused_ops_match_burns() {
        check_tanh::<Autodiff<Flex>>();
        check_cross_entropy::<Autodiff<Flex>>();
    }

    /// CI runs it: `cargo test -p trainer --features ndarray --lib fused`.
    #[cfg(feature = "ndarray")]
    #[test]
    fn ndarray_fused_ops_match_burns() {
        check_tanh::<Autodiff<burn::backend::NdArray>>();
        check_cross_entropy::<Autodiff<burn::backend::NdArray>>();
    }
}
