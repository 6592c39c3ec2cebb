//! Export: trainer weights -> runtime model files, in f32 and int8 per row. Burn types stop
//! here: the runtime's own encoder writes the bytes, and the runtime itself measures the
//! test NLL written into each file's model card.

use crate::model::mlp::MlpConfig;
use crate::model::Params;
use runtime::{FloatBody, FloatModel, Model, Network, Quant, Scratch};

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
    /// Per quantized tensor: the largest |w - dequant(q(w))| (none for f32).
    pub max_errors: QuantErrors,
}

/// The trainer's weights in the runtime's host-side form (`[out, in]` matrices).
pub fn float_model(vocab: &str, source: &Source) -> anyhow::Result<FloatModel> {
    Ok(match source {
        Source::Bigram { table } => {
            FloatModel { vocab: vocab.into(), block_size: 1, body: FloatBody::Bigram { table: table.to_vec() } }
        }
        Source::Mlp { shape, params } => {
            let layers = shape.folded(params)?;
            let c = params.get("C")?.values.clone();
            FloatModel {
                vocab: vocab.into(),
                block_size: shape.block_size,
                body: FloatBody::Mlp { n_embd: shape.n_embd, c, layers },
            }
        }
    })
}

/// Encodes `source` in `quant` with `card`; also returns each quantized tensor's largest
/// quantization error.
pub fn encode_model(vocab: &str, source: &Source, quant: Quant, card: &str) -> anyhow::Result<(Vec<u8>, QuantErrors)> {
    let e = float_model(vocab, source)?.encode(quant, card)?;
    Ok((e.bytes, e.max_errors))
}

/// Mean NLL of `words` under a model file, computed by the runtime.
pub fn runtime_nll(bytes: &[u8], words: &[String]) -> anyhow::Result<f64> {
    let model = Model::from_bytes(bytes)?;
    let mut buf = vec![0; model.scratch_words()];
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
    for quant in [Quant::F32, Quant::Int8] {
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
        Quant::Int8 => "model-int8.mkmr",
        _ => "model-f32.mkmr",
    }
}
