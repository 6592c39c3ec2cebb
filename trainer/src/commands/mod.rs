//! The trainer's commands, one module each (the layout of cargo's `commands/`): each takes
//! its parsed arguments and the [`Global`] options, does its work and returns a typed report,
//! which `--json` prints with serde. `main.rs` only parses the command line and dispatches;
//! tests call these functions directly.

pub mod eval;
pub mod export;
pub mod inspect;
pub mod lr_find;
pub mod sample;
pub mod train;

use crate::backend::{CpuBackend, Device};
use crate::config::{ModelChoice, Schedule, TrainConfig};
use crate::data::{Dataset, Examples, Splits};
use crate::run_dir::RunDir;
use anyhow::bail;
use runtime::{Model, Network, Quant};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Options every command takes.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct Global {
    /// Print one JSON object with the figures on stdout at the end; human output goes to stderr.
    #[arg(long, global = true)]
    pub json: bool,
    /// Hide progress bars (they are hidden anyway when stderr is not a terminal).
    #[arg(long, global = true)]
    pub quiet: bool,
    /// CPU backend for training and evaluation: flex (default) or ndarray.
    #[arg(long, global = true, value_enum)]
    pub backend: Option<CpuBackend>,
    /// Device: cpu, or cuda (needs `--features cuda` and an NVIDIA GPU).
    #[arg(long, global = true, value_enum, default_value_t = Device::Cpu)]
    pub device: Device,
}

impl Global {
    /// Where human-readable lines go.
    pub fn say(&self) -> Say {
        Say { json: self.json }
    }

    /// The CPU backend to use; `--backend` picks among CPU backends only, so it is an error
    /// next to `--device cuda` (which would otherwise ignore it).
    pub fn backend(&self) -> anyhow::Result<CpuBackend> {
        match (self.device, self.backend) {
            (Device::Cuda, Some(b)) => {
                bail!("--backend {b:?} picks a CPU backend; with --device cuda leave --backend out")
            }
            (_, b) => Ok(b.unwrap_or_default()),
        }
    }
}

/// Human-readable output: stdout normally, stderr under `--json` so that stdout holds only the
/// JSON report.
#[derive(Clone, Copy, Debug)]
pub struct Say {
    json: bool,
}

impl Say {
    /// A line of the command's output.
    pub fn line(&self, s: impl AsRef<str>) {
        if self.json {
            eprintln!("{}", s.as_ref());
        } else {
            println!("{}", s.as_ref());
        }
    }

    /// A note about the output (a summary, a warning): always on stderr, so that stdout can be
    /// a clean list (`trainer sample -n 1000 > names.txt`).
    pub fn note(&self, s: impl AsRef<str>) {
        eprintln!("{}", s.as_ref());
    }
}

/// A dataset, its splits, and the examples of each split.
pub(crate) struct Prepared {
    pub ds: Dataset,
    pub splits: Splits,
    pub train: Examples,
    pub dev: Examples,
    pub test: Examples,
}

/// Loads a run's data as its configuration says, and says what loading removed.
pub(crate) fn prepare(cfg: &TrainConfig, say: Say) -> anyhow::Result<Prepared> {
    let (ds, cleaning) = Dataset::load_with(&cfg.data, cfg.load_options())?;
    if let Some(summary) = cleaning.summary(&cfg.data) {
        say.note(summary);
    }
    let splits = ds.split(cfg.seed);
    let b = cfg.block_size.max(1);
    let ex = |w: &[String]| Examples::build(w, &ds.vocab, b);
    let (train, dev, test) = (ex(&splits.train), ex(&splits.dev), ex(&splits.test));
    Ok(Prepared { ds, splits, train, dev, test })
}

/// The counts bigram fitted on the training split: `[vocab, vocab]` log-probabilities.
pub(crate) fn train_log_probs(p: &Prepared, smoothing: f64) -> Vec<f64> {
    use crate::model::bigram::{counts, log_probs};
    log_probs(&counts(&p.splits.train, &p.ds.vocab), smoothing)
}

/// The training provenance that opens a model card.
pub(crate) fn card_lines(cfg: &TrainConfig, p: &Prepared, figures: &[(&str, f64)]) -> Vec<String> {
    let mut lines = vec![
        format!("model: {}", cfg.model.dir_name()),
        format!("dataset: {} ({} words, seed {})", cfg.data.display(), p.ds.words.len(), cfg.seed),
    ];
    match cfg.model {
        ModelChoice::Bigram => lines.push(format!("smoothing: {}", cfg.smoothing)),
        ModelChoice::NnBigram => {
            lines.push(format!("steps: {}, full batch, lr: {}", cfg.steps, cfg.lr));
            lines.push(format!("penalty: {} * mean(W^2)", cfg.weight_decay));
        }
        ModelChoice::Mlp => {
            // Every setting that shaped the weights besides the shape, which the file's header
            // holds, in two short lines: the card is part of the file, and the tiny preset's
            // must stay under 4 KB.
            let schedule = match cfg.schedule {
                Schedule::Step if cfg.lr_milestones.is_empty() => "constant".to_string(),
                Schedule::Step => {
                    let at: Vec<String> = cfg.lr_milestones.iter().map(usize::to_string).collect();
                    format!("step x{} at {}", cfg.lr_decay, at.join(","))
                }
                Schedule::Cosine => format!("cosine to lr x {}", (cfg.lr_decay * cfg.lr_decay) as f32),
            };
            lines.push(format!(
                "steps: {}, batch_size: {}, lr: {}, schedule: {schedule}",
                cfg.steps, cfg.batch_size, cfg.lr
            ));
            let bn = if cfg.batch_norm { "folded" } else { "no" };
            let init = if cfg.scaled_init { "scaled" } else { "plain" };
            lines.push(format!(
                "weight_decay: {}, dropout: {}, batch_norm: {bn}, init: {init}",
                cfg.weight_decay, cfg.dropout
            ));
        }
    }
    lines.extend(figures.iter().map(|(k, v)| format!("{k}: {v:.6}")));
    lines
}

/// One exported model file, as reports show it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExportRow {
    pub file: PathBuf,
    pub quant: &'static str,
    pub bytes: usize,
    pub n_params: usize,
    pub ram_bytes: usize,
    /// Mean NLL of the test words under this file, computed by the runtime.
    pub test_nll: f64,
    /// The largest quantization error per quantized tensor (empty for f32).
    pub max_abs_error: BTreeMap<String, f32>,
}

/// Exports a run in f32 and int8 into its directory and prints the largest quantization
/// error per tensor and each file's figures.
pub(crate) fn write_exports(
    run: &RunDir,
    vocab: &str,
    source: &crate::export::Source,
    p: &Prepared,
    card: &[String],
    say: Say,
) -> anyhow::Result<Vec<ExportRow>> {
    let exports = crate::export::export(vocab, source, &p.splits.test, card)?;
    let mut rows = vec![];
    for e in &exports {
        let path = run.write(crate::export::file_name(e.quant), &e.bytes)?;
        let model = Model::from_bytes(&e.bytes)?;
        if e.quant == Quant::Int8 {
            let errs: Vec<String> = e.max_errors.iter().map(|(n, err)| format!("{n} {err:.2e}")).collect();
            say.line(format!("  largest int8 quantization error per tensor: {}", errs.join(", ")));
        }
        say.line(format!(
            "  {}: {} params, {} bytes, {} bytes of RAM, test NLL (runtime) {:.4}",
            path.display(),
            model.n_params(),
            e.bytes.len(),
            model.ram_bytes(),
            e.test_nll
        ));
        rows.push(ExportRow {
            file: path,
            quant: e.quant.name(),
            bytes: e.bytes.len(),
            n_params: model.n_params(),
            ram_bytes: model.ram_bytes(),
            test_nll: e.test_nll,
            max_abs_error: e.max_errors.iter().map(|(n, v)| (n.to_string(), *v)).collect(),
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_is_refused_next_to_cuda_instead_of_ignored() {
        let cuda = Global { device: Device::Cuda, ..Global::default() };
        assert_eq!(cuda.backend().unwrap(), CpuBackend::default());
        let both = Global { backend: Some(CpuBackend::Ndarray), ..cuda };
        assert!(both.backend().unwrap_err().to_string().contains("with --device cuda leave --backend out"));
        let cpu = Global { backend: Some(CpuBackend::Ndarray), ..Global::default() };
        assert_eq!(cpu.backend().unwrap(), CpuBackend::Ndarray);
    }
}
