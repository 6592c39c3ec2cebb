//! `trainer inspect`: a model file's header, tensors, multipliers, CRC and model card.

use super::Global;
use anyhow::Context;
use runtime::{Model, Network};
use serde::Serialize;
use std::path::PathBuf;

#[derive(clap::Args, Clone, Debug)]
pub struct InspectArgs {
    /// A model file (.mkmr).
    pub file: PathBuf,
}

/// One tensor of a model file.
#[derive(Clone, Debug, Serialize)]
pub struct TensorRow {
    pub name: &'static str,
    pub shape: [usize; 2],
    pub encoding: &'static str,
    pub multiplier_min: Option<i32>,
    pub multiplier_max: Option<i32>,
}

/// What `inspect` reports.
#[derive(Clone, Debug, Serialize)]
pub struct InspectReport {
    pub file: PathBuf,
    pub bytes: usize,
    pub format_version: u16,
    pub crc32: u32,
    pub crc_ok: bool,
    pub kind: &'static str,
    pub quant: &'static str,
    pub vocab: String,
    pub block_size: usize,
    pub n_embd: usize,
    pub n_hidden: usize,
    pub layers: Vec<[usize; 2]>,
    pub n_params: usize,
    pub ram_bytes: usize,
    /// Of `ram_bytes`, the streaming rings of a WaveNet-style hierarchy (0 for an MLP).
    pub stream_bytes: usize,
    pub tensors: Vec<TensorRow>,
    pub card: String,
}

pub fn inspect(global: &Global, args: &InspectArgs) -> anyhow::Result<InspectReport> {
    let say = global.say();
    let file = &args.file;
    let bytes = std::fs::read(file).with_context(|| format!("cannot read model file {}", file.display()))?;
    // Decoding checks the CRC among everything else.
    let model = Model::from_bytes(&bytes).with_context(|| format!("{} is not a valid model file", file.display()))?;
    let h = model.header();
    // The file's own version (a file from an older exporter is read too).
    let version = runtime::file_version(&bytes).unwrap_or(runtime::FORMAT_VERSION);
    let crc = bytes.last_chunk::<4>().map_or(0, |c| u32::from_le_bytes(*c));
    say.line(format!("{}: {} bytes, format v{}, CRC-32 {crc:#010x} ok", file.display(), bytes.len(), version));
    say.line(format!("  {} ({}), vocab {}: {:?}", h.kind.name(), h.quant.name(), h.vocab.len(), h.vocab.as_str()));
    let layers: Vec<String> = h.layers.as_slice().iter().map(|l| format!("({}, {})", l.n_merge, l.n_out)).collect();
    say.line(format!(
        "  block_size {}, n_embd {}, layers (n_merge, n_out) {}",
        h.block_size,
        h.n_embd,
        layers.join(" ")
    ));
    let stream_bytes = model.stream_words() * 4;
    if stream_bytes > 0 {
        say.line(format!(
            "  {} params, {} bytes of RAM (scratch; {stream_bytes} of them the streaming rings of the hierarchy)",
            model.n_params(),
            model.ram_bytes()
        ));
    } else {
        say.line(format!("  {} params, {} bytes of RAM (scratch)", model.n_params(), model.ram_bytes()));
    }
    let mut tensors = vec![];
    for t in model.tensors() {
        let ms: Vec<i32> = (0..t.rows).filter_map(|r| t.multiplier(r)).collect();
        let (lo, hi) = (ms.iter().copied().min(), ms.iter().copied().max());
        let range_text = lo.zip(hi).map_or(String::new(), |(lo, hi)| format!("  multipliers {lo} .. {hi} (/ 2^32)"));
        say.line(format!("  {:<5} [{}, {}]  {}{range_text}", t.name, t.rows, t.cols, t.encoding.name()));
        tensors.push(TensorRow {
            name: t.name,
            shape: [t.rows, t.cols],
            encoding: t.encoding.name(),
            multiplier_min: lo,
            multiplier_max: hi,
        });
    }
    if !h.card.is_empty() {
        say.line("  model card:");
        for line in h.card.lines() {
            say.line(format!("    {line}"));
        }
    }
    Ok(InspectReport {
        file: file.clone(),
        bytes: bytes.len(),
        format_version: version,
        crc32: crc,
        crc_ok: true,
        kind: h.kind.name(),
        quant: h.quant.name(),
        vocab: h.vocab.as_str().to_string(),
        block_size: h.block_size,
        n_embd: h.n_embd,
        n_hidden: h.n_hidden(),
        layers: h.layers.as_slice().iter().map(|l| [l.n_merge, l.n_out]).collect(),
        n_params: model.n_params(),
        ram_bytes: model.ram_bytes(),
        stream_bytes,
        tensors,
        card: h.card.to_string(),
    })
}
