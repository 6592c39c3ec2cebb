//! The host side of the format (`alloc` feature): a model's f32 weights as the trainer holds
//! them, and their encoding as an f32 file (the float reference) or an int8 file (the
//! integer model, quantized here so that its fixed-point formats live in one crate).

use crate::format::{encode, Header, LayerShape, LayerShapes, Linear, ModelKind, Quant, Weights, MAX_LAYERS};
use crate::layout::to_row_quads;
use crate::quant::{
    multiplier, quantize_linear, quantize_row, QuantError, ACT_FRAC_BITS, BIGRAM_SHIFT, EMBED_SHIFT, PRE_FRAC_BITS,
    Q_MAX,
};
use crate::tensor::F32Le;
use crate::vocab::Vocab;
use crate::DecodeError;
use alloc::string::String;
use alloc::vec::Vec;

/// f32 values as stored words (little-endian).
pub fn to_words(values: &[f32]) -> Vec<F32Le> {
    values.iter().map(|v| v.to_le_bytes()).collect()
}

/// f32 values as stored bytes.
fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// i32 values as stored bytes.
fn i32_bytes(values: &[i32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// int8 values as stored bytes.
fn i8_bytes(values: &[i8]) -> Vec<u8> {
    values.iter().map(|&v| v as u8).collect()
}

/// One linear layer's f32 weights in the runtime's layout.
#[derive(Clone, Debug, PartialEq)]
pub struct FloatLinear {
    /// Consecutive positions concatenated into one input.
    pub n_merge: usize,
    /// `[n_out, n_in]` row-major (PyTorch's `Linear` layout; Burn's `[in, out]` transposed).
    pub w: Vec<f32>,
    /// `[n_out]`.
    pub b: Vec<f32>,
}

/// What a model computes, with its f32 weights.
#[derive(Clone, Debug, PartialEq)]
pub enum FloatBody {
    /// `[vocab, vocab]` logits (log-probabilities for a counts model), row-major.
    Bigram {
        /// The table.
        table: Vec<f32>,
    },
    /// `c: [vocab, n_embd]` and the layer stack (see [`crate::format`]).
    Mlp {
        /// Embedding width.
        n_embd: usize,
        /// The embedding table.
        c: Vec<f32>,
        /// The layers, first first; the last one makes the logits.
        layers: Vec<FloatLinear>,
    },
}

/// A model's weights on the host, ready to be written as either kind of file.
#[derive(Clone, Debug, PartialEq)]
pub struct FloatModel {
    /// The symbols in id order, `'.'` first.
    pub vocab: String,
    /// Context length in symbols (1 for a bigram).
    pub block_size: usize,
    /// The weights.
    pub body: FloatBody,
}

/// An encoded file and what quantisation cost.
#[derive(Clone, Debug, PartialEq)]
pub struct Encoded {
    /// The model file.
    pub bytes: Vec<u8>,
    /// Per quantized tensor: its name and largest `|w - dequant(q(w))|` (empty for f32).
    pub max_errors: Vec<(&'static str, f32)>,
}

/// Why a model could not be encoded.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum EncodeError {
    /// The weights' lengths do not match the shapes.
    Shape {
        /// The tensor's name.
        tensor: &'static str,
    },
    /// A row cannot be represented by the integer model (see [`QuantError`]).
    Quant {
        /// The tensor's name.
        tensor: &'static str,
        /// Which row and why.
        error: QuantError,
    },
    /// The encoded file is invalid (the decoder's reason).
    Decode(DecodeError),
}

impl core::fmt::Display for EncodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            EncodeError::Shape { tensor } => write!(f, "tensor {tensor} does not have the length its shape implies"),
            EncodeError::Quant { tensor, error: QuantError::Multiplier { row, real } } => write!(
                f,
                "tensor {tensor} row {row}: the integer model cannot scale its sums by {real:e} (must be below 0.5); its weights are far too large for int8"
            ),
            EncodeError::Quant { tensor, error: QuantError::Bias { row } } => write!(
                f,
                "tensor {tensor} row {row}: the bias does not fit a 32-bit sum beside its weights; the weights or the bias are far too large for int8"
            ),
            EncodeError::Decode(e) => write!(f, "the encoded file is invalid: {e}"),
        }
    }
}

impl core::error::Error for EncodeError {}

impl From<DecodeError> for EncodeError {
    fn from(e: DecodeError) -> Self {
        EncodeError::Decode(e)
    }
}

const W_NAMES: [&str; MAX_LAYERS] = ["W1", "W2", "W3", "W4", "W5", "W6"];

impl FloatModel {
    /// The header fields of this model.
    fn header<'a>(&self, vocab: Vocab<'a>, quant: Quant, card: &'a str) -> Result<Header<'a>, EncodeError> {
        let shape = EncodeError::Shape { tensor: "layers" };
        let (kind, n_embd, layers) = match &self.body {
            FloatBody::Bigram { .. } => (ModelKind::Bigram, 0, LayerShapes::default()),
            FloatBody::Mlp { n_embd, layers, .. } => {
                let shapes: Vec<LayerShape> =
                    layers.iter().map(|l| LayerShape { n_merge: l.n_merge, n_out: l.b.len() }).collect();
                (ModelKind::Mlp, *n_embd, LayerShapes::new(&shapes).ok_or(shape)?)
            }
        };
        Ok(Header { kind, vocab, block_size: self.block_size, n_embd, layers, quant, card })
    }

    /// The model as a file of `quant` numbers with `card` as its model card: f32 as it is, or
    /// the integer model ([`crate::quant`]): the embedding int8 with one scale, each weight
    /// row int8 with its own scale, biases and scales folded into i32 biases and multipliers.
    pub fn encode(&self, quant: Quant, card: &str) -> Result<Encoded, EncodeError> {
        let vocab = Vocab::new(&self.vocab)?;
        let header = self.header(vocab, quant, card)?;
        let v = vocab.len();
        let shape = |tensor| EncodeError::Shape { tensor };
        match (&self.body, quant) {
            (FloatBody::Bigram { table }, Quant::F32) => {
                if table.len() != v * v {
                    return Err(shape("table"));
                }
                let table = f32_bytes(table);
                let bytes = encode(&header, &Weights::Bigram { table: &table, requant: &[] })?;
                Ok(Encoded { bytes, max_errors: Vec::new() })
            }
            (FloatBody::Bigram { table }, _) => {
                if table.len() != v * v {
                    return Err(shape("table"));
                }
                let mut q = alloc::vec![0i8; v * v];
                let mut m = Vec::with_capacity(v);
                let mut err = 0.0f32;
                for (row, out) in table.chunks_exact(v).zip(q.chunks_exact_mut(v)) {
                    let scale = quantize_row(row, out);
                    err = err.max(max_error(row, out, scale));
                    // z (Q12) = q * scale * 2^12 = requant(q << 16, m) = q * m / 2^16.
                    let real = f64::from(scale) * f64::from(1u32 << PRE_FRAC_BITS) / f64::from(1u32 << BIGRAM_SHIFT);
                    let row_idx = m.len();
                    m.push(multiplier(real).ok_or(EncodeError::Quant {
                        tensor: "table",
                        error: QuantError::Multiplier { row: row_idx, real },
                    })?);
                }
                let (table, m) = (i8_bytes(&q), i32_bytes(&m));
                let bytes = encode(&header, &Weights::Bigram { table: &table, requant: &m })?;
                Ok(Encoded { bytes, max_errors: alloc::vec![("table", err)] })
            }
            (FloatBody::Mlp { n_embd, c, layers }, Quant::F32) => {
                if c.len() != v * n_embd {
                    return Err(shape("C"));
                }
                let buffers: Vec<(Vec<u8>, Vec<u8>)> =
                    layers.iter().map(|l| (f32_bytes(&l.w), f32_bytes(&l.b))).collect();
                let mut stack = heapless::Vec::new();
                for (k, ((l, (w, b)), name)) in layers.iter().zip(&buffers).zip(W_NAMES).enumerate() {
                    if l.w.len() != l.b.len() * l.n_merge * header.stage(k).1 {
                        return Err(shape(name));
                    }
                    stack.push(Linear { w, b, requant: &[] }).map_err(|_| shape("layers"))?;
                }
                let c = f32_bytes(c);
                let bytes = encode(&header, &Weights::Mlp { c: &c, layers: stack })?;
                Ok(Encoded { bytes, max_errors: Vec::new() })
            }
            (FloatBody::Mlp { n_embd, c, layers }, _) => {
                if c.len() != v * n_embd {
                    return Err(shape("C"));
                }
                // The embedding: one scale for the table (its rows meet in the same sums).
                let max_abs = c.iter().fold(0.0f32, |m, &x| m.max(x.abs()));
                let c_scale = if max_abs > 0.0 { max_abs / Q_MAX } else { 1.0 };
                let c_q: Vec<i8> = c.iter().map(|&x| libm::roundf(x / c_scale).clamp(-Q_MAX, Q_MAX) as i8).collect();
                let mut max_errors = alloc::vec![("C", max_error(c, &c_q, c_scale))];
                // Inputs: the embedding widened (q << 8), then tanh outputs in Q15; every
                // layer's sums go to Q12 (tanh's argument, or the logits).
                let mut x_scale = f64::from(c_scale) / f64::from(1u32 << EMBED_SHIFT);
                let out_scale = 1.0 / f64::from(1u32 << PRE_FRAC_BITS);
                let mut buffers = Vec::new();
                for (k, (l, name)) in layers.iter().zip(W_NAMES).enumerate() {
                    let n_in = l.n_merge * header.stage(k).1;
                    if l.w.len() != l.b.len() * n_in {
                        return Err(shape(name));
                    }
                    let q = quantize_linear(&l.w, &l.b, n_in, x_scale, out_scale)
                        .map_err(|error| EncodeError::Quant { tensor: name, error })?;
                    max_errors.push((name, q.max_error));
                    buffers.push((i8_bytes(&to_row_quads(&q.w, l.b.len(), n_in)), i32_bytes(&q.b), i32_bytes(&q.m)));
                    x_scale = 1.0 / f64::from(1u32 << ACT_FRAC_BITS);
                }
                let mut stack = heapless::Vec::new();
                for (w, b, m) in &buffers {
                    stack.push(Linear { w, b, requant: m }).map_err(|_| shape("layers"))?;
                }
                let c = i8_bytes(&c_q);
                let bytes = encode(&header, &Weights::Mlp { c: &c, layers: stack })?;
                Ok(Encoded { bytes, max_errors })
            }
        }
    }
}

/// Largest `|w - q * scale|`.
fn max_error(w: &[f32], q: &[i8], scale: f32) -> f32 {
    w.iter().zip(q).fold(0.0f32, |m, (&w, &q)| m.max((w - f32::from(q) * scale).abs()))
}
