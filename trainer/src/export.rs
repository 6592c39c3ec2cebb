//! Conversion of trained weights to the runtime's model format. Burn types stop here: the
//! runtime's own encoder writes the bytes.

use crate::model::mlp::MlpConfig;
use crate::model::Params;
use anyhow::Context;
use runtime::{encode, to_words, Header, ModelKind, OwnedMatrix, Quant, Vocab, Weights};

fn matrix(rows: usize, cols: usize, values: &[f32], quant: Quant) -> anyhow::Result<OwnedMatrix> {
    match quant {
        Quant::Int8PerRow => OwnedMatrix::quantize_i8(rows, cols, values),
        _ => OwnedMatrix::f32(rows, cols, values),
    }
    .context("tensor length does not match its shape")
}

/// `[rows, cols]` row-major -> `[cols, rows]` row-major (Burn's `[in, out]` to the file's `[out, in]`).
pub fn transpose(values: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0; values.len()];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = values[r * cols + c];
        }
    }
    out
}

/// A bigram model file from a `[vocab, vocab]` table of logits (or log-probabilities).
pub fn bigram(vocab: &str, table: &[f32], quant: Quant) -> anyhow::Result<Vec<u8>> {
    let vocab = Vocab::new(vocab)?;
    let v = vocab.len();
    let header = Header { kind: ModelKind::Bigram, vocab, block_size: 1, n_embd: 0, n_hidden: 0, quant };
    let table = matrix(v, v, table, quant)?;
    Ok(encode(&header, &Weights::Bigram { table: table.view() })?)
}

/// An MLP model file from the trainer's parameters.
pub fn mlp(vocab: &str, shape: &MlpConfig, p: &Params, quant: Quant) -> anyhow::Result<Vec<u8>> {
    let vocab = Vocab::new(vocab)?;
    let (v, h, n_in) = (shape.vocab_size, shape.n_hidden, shape.block_size * shape.n_embd);
    let header =
        Header { kind: ModelKind::Mlp, vocab, block_size: shape.block_size, n_embd: shape.n_embd, n_hidden: h, quant };
    let c = matrix(v, shape.n_embd, &p.get("C")?.values, quant)?;
    let w1 = matrix(h, n_in, &transpose(&p.get("W1")?.values, n_in, h), quant)?;
    let w2 = matrix(v, h, &transpose(&p.get("W2")?.values, h, v), quant)?;
    let (b1, b2) = (to_words(&p.get("b1")?.values), to_words(&p.get("b2")?.values));
    let weights = Weights::Mlp { c: c.view(), w1: w1.view(), b1: &b1, w2: w2.view(), b2: &b2 };
    Ok(encode(&header, &weights)?)
}
