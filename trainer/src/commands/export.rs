//! `trainer export`: write a run's model files again from its checkpoint, with the
//! configuration the checkpoint was trained with.

use super::{card_lines, prepare, train_log_probs, write_exports, ExportRow, Global};
use crate::config::ModelChoice;
use crate::model::mlp::MlpConfig;
use crate::run_dir::{RunDir, Weights};
use crate::{calibrate, export, model};
use anyhow::bail;
use std::path::PathBuf;

#[derive(clap::Args, Clone, Debug)]
pub struct ExportArgs {
    /// A run directory written by `trainer train` (e.g. out/mlp).
    #[arg(long, default_value = "out/mlp")]
    pub run: PathBuf,
    /// Export the best-by-dev checkpoint (best.json) instead of the last one.
    #[arg(long)]
    pub best: bool,
}

pub fn export_run(global: &Global, args: &ExportArgs) -> anyhow::Result<Vec<ExportRow>> {
    let say = global.say();
    let run = RunDir::new(&args.run);
    let cfg = run.config()?;
    if cfg.model == ModelChoice::Bigram {
        // The counts model is exported from its counts, recomputed from the run's data.
        let p = prepare(&cfg, say)?;
        let lp = train_log_probs(&p, cfg.smoothing);
        let table: Vec<f32> = lp.iter().map(|&v| v as f32).collect();
        let figures = [("test_loss", model::bigram::nll(&lp, &p.ds.vocab, &p.splits.test))];
        let card = card_lines(&cfg, &p, &figures);
        let vocab = p.ds.vocab.as_string();
        return write_exports(&run, &vocab, &export::Source::Bigram { table: &table }, &p, &card, say);
    }
    let which = if args.best { Weights::Best } else { Weights::Latest };
    // The weights with the configuration they were trained with (checked against config.toml).
    let ck = run.checkpoint(which)?;
    let cfg = &ck.config;
    let p = prepare(cfg, say)?;
    let vocab = p.ds.vocab.as_string();
    if ck.vocab != vocab {
        bail!("the run's dataset changed since training (its vocabulary differs); export needs the same data");
    }
    let mut card = card_lines(cfg, &p, &[]);
    card.push(format!("exported from: {} at step {}", run.checkpoint_file(which).display(), ck.step));
    // The run's model (its weights' average when it averages), or the best step's weights.
    let mut params = if args.best { ck.params.clone() } else { ck.model_params()? };
    let shape = MlpConfig::new(cfg, p.ds.vocab.len());
    if cfg.calibrate {
        // Fitted again on the dev split, as `train` did (the same weights give the same T).
        let (calibrated, t) = calibrate::calibrate(&vocab, shape, &params, &p.dev)?;
        params = calibrated;
        card.push(format!("temperature: {t:.6}"));
    }
    let source = match cfg.model {
        ModelChoice::Mlp => export::Source::Mlp { shape, params: &params },
        _ => export::Source::Bigram { table: &params.get("W")?.values },
    };
    write_exports(&run, &vocab, &source, &p, &card, say)
}
