//! Export: trainer weights -> runtime model files, in f32 and int8 per row. Burn types stop
//! here: the runtime's own encoder writes the bytes, and the runtime itself measures the
//! test NLL written into each file's model card.

use crate::model::mlp::MlpConfig;
use crate::model::Params;
use anyhow::Context;
use runtime::{encode, to_words, Header, Model, ModelKind, OwnedMatrix, Quant, Scratch, Vocab, Weights};

/// What is being exported, with its weights in the trainer's layout.
#[derive(Clone, Debug)]
pub enum Source<'a> {
    /// A `[vocab, vocab]` table of logits or log-probabilities, row-major.
    Bigram {
        table: &'a [f32],
    },
    Mlp {
        shape: MlpConfig,
        params: &'a Params,
    },
}

/// Per weight matrix: its name and largest quantization error.
pub type QuantErrors = Vec<(&'static str, f32)>;

/// One exported file.
#[derive(Clone, Debug)]
pub struct Exported {
    pub quant: Quant,
    pub bytes: Vec<u8>,
    /// Mean NLL of the test words under this file, computed by the runtime.
    pub test_nll: f64,
    /// Per weight tensor: the largest |w - dequant(q(w))| (0 for f32).
    pub max_errors: QuantErrors,
}

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

/// Encodes `source` in `quant` with `card`; also returns each weight matrix's largest
/// quantization error.
pub fn encode_model(vocab: &str, source: &Source, quant: Quant, card: &str) -> anyhow::Result<(Vec<u8>, QuantErrors)> {
    let vocab = Vocab::new(vocab)?;
    let v = vocab.len();
    match source {
        Source::Bigram { table } => {
            let header = Header { kind: ModelKind::Bigram, vocab, block_size: 1, n_embd: 0, n_hidden: 0, quant, card };
            let m = matrix(v, v, table, quant)?;
            let err = vec![("table", m.max_abs_error(table))];
            Ok((encode(&header, &Weights::Bigram { table: m.view() })?, err))
        }
        Source::Mlp { shape, params } => {
            let (h, n_in) = (shape.n_hidden, shape.block_size * shape.n_embd);
            let header = Header {
                kind: ModelKind::Mlp,
                vocab,
                block_size: shape.block_size,
                n_embd: shape.n_embd,
                n_hidden: h,
                quant,
                card,
            };
            let c_f = params.get("C")?.values.clone();
            let w1_f = transpose(&params.get("W1")?.values, n_in, h);
            let w2_f = transpose(&params.get("W2")?.values, h, v);
            let (c, w1, w2) =
                (matrix(v, shape.n_embd, &c_f, quant)?, matrix(h, n_in, &w1_f, quant)?, matrix(v, h, &w2_f, quant)?);
            let err =
                vec![("C", c.max_abs_error(&c_f)), ("W1", w1.max_abs_error(&w1_f)), ("W2", w2.max_abs_error(&w2_f))];
            let (b1, b2) = (to_words(&params.get("b1")?.values), to_words(&params.get("b2")?.values));
            let weights = Weights::Mlp { c: c.view(), w1: w1.view(), b1: &b1, w2: w2.view(), b2: &b2 };
            Ok((encode(&header, &weights)?, err))
        }
    }
}

/// Mean NLL of `words` under a model file, computed by the runtime.
pub fn runtime_nll(bytes: &[u8], words: &[String]) -> anyhow::Result<f64> {
    let model = Model::from_bytes(bytes)?;
    let mut buf = vec![0.0; model.scratch_words()];
    let mut scratch = Scratch::new(&model, &mut buf)?;
    Ok(runtime::nll(&model, &mut scratch, words.iter().map(String::as_str))?.mean())
}

/// Exports `source` in f32 and int8. Both files carry the same model card: `card_lines`
/// (training provenance) followed by the test NLL of each file as the runtime computes it.
pub fn export(
    vocab: &str,
    source: &Source,
    test_words: &[String],
    card_lines: &[String],
) -> anyhow::Result<Vec<Exported>> {
    let mut out = Vec::new();
    for quant in [Quant::F32, Quant::Int8PerRow] {
        // The NLL does not depend on the card, so measure on a card-less encoding first.
        let (bytes, max_errors) = encode_model(vocab, source, quant, "")?;
        let test_nll = runtime_nll(&bytes, test_words)?;
        out.push(Exported { quant, bytes, test_nll, max_errors });
    }
    let mut card = card_lines.join("\n");
    for e in &out {
        let key = if e.quant == Quant::F32 { "test_nll_f32" } else { "test_nll_int8" };
        card.push_str(&format!("\n{key}: {:.6}", e.test_nll));
    }
    for e in &mut out {
        e.bytes = encode_model(vocab, source, e.quant, &card)?.0;
    }
    Ok(out)
}

/// The file name of an export in a run directory.
pub fn file_name(quant: Quant) -> &'static str {
    match quant {
        Quant::Int8PerRow => "model-int8.mkmr",
        _ => "model-f32.mkmr",
    }
}
