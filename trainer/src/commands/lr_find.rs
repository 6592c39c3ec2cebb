//! `trainer lr-find`: the lectures' learning-rate sweep, plotted, with a suggested rate.

use super::train::{resolve_config, Overrides, RunSpec};
use super::{prepare, Global};
use crate::config::ModelChoice;
use crate::model::mlp::MlpConfig;
use crate::{model, plot, training, with_backend};
use anyhow::{bail, Context};
use runtime::Pcg32;
use serde::Serialize;
use std::path::PathBuf;

#[derive(clap::Args, Clone, Debug)]
pub struct LrFindArgs {
    /// The model and its settings; the plot goes to OUT/lr-find-MODEL.png, beside the run
    /// directories and never into one (give `--out out/mlp` to put it there).
    #[command(flatten)]
    pub spec: RunSpec,
    /// Smallest rate of the sweep.
    #[arg(long, default_value_t = 1e-3)]
    pub min_lr: f64,
    /// Largest rate of the sweep.
    #[arg(long, default_value_t = 1.0)]
    pub max_lr: f64,
}

/// What `lr-find` reports.
#[derive(Clone, Debug, Serialize)]
pub struct LrFindReport {
    pub model: &'static str,
    pub suggested_lr: f64,
    pub lrs: Vec<f64>,
    pub losses: Vec<f64>,
    pub plot: PathBuf,
}

pub fn lr_find(global: &Global, args: &LrFindArgs) -> anyhow::Result<LrFindReport> {
    let say = global.say();
    if args.spec.model == ModelChoice::Bigram {
        bail!("the counts bigram has no learning rate; use --model mlp or nn-bigram");
    }
    if !(args.min_lr > 0.0 && args.max_lr > args.min_lr) {
        bail!("need 0 < --min-lr < --max-lr (got {} and {})", args.min_lr, args.max_lr);
    }
    let o = &args.spec.overrides;
    let spec =
        RunSpec { overrides: Overrides { steps: Some(o.steps.unwrap_or(1000)), ..o.clone() }, ..args.spec.clone() };
    let cfg = resolve_config(&spec)?;
    let p = prepare(&cfg, say)?;
    let v = p.ds.vocab.len();
    let range = (args.min_lr, args.max_lr);
    let sweep = with_backend!(global.backend()?, global.device, |B, device| {
        let mut init_rng = Pcg32::new(cfg.seed, 1);
        if cfg.model == ModelChoice::Mlp {
            let shape = MlpConfig::new(&cfg, v);
            let m = shape.load::<B>(&shape.init_params(cfg.scaled_init, &mut init_rng), &device)?;
            training::lr_find(m, &p.train, cfg.batch_size, cfg.seed, cfg.steps, range, &device)
        } else {
            let init = model::bigram::NnBigram::<B>::init_params(v, &mut init_rng);
            let m = model::bigram::NnBigram::<B>::load(v, cfg.weight_decay, &init, &device)?;
            training::lr_find(m, &p.train, p.train.len(), cfg.seed, cfg.steps, range, &device)
        }
    });
    let suggested = training::suggest_lr(&sweep).context("the sweep diverged at once; lower --min-lr")?;
    // The plot sits beside the runs, not in one: a sweep is not part of any training run,
    // and a run directory holds exactly the files of its run.
    let (lrs, losses): (Vec<f64>, Vec<f64>) = sweep.iter().copied().unzip();
    std::fs::create_dir_all(&spec.out).with_context(|| format!("cannot create {}", spec.out.display()))?;
    let plot_path = spec.out.join(format!("lr-find-{}.png", cfg.model.dir_name()));
    plot::lr_finder(&plot_path, &lrs, &losses, suggested)?;
    say.line(format!(
        "swept {} rates from {:.0e} to {:.0e}: suggested lr {suggested:.3} (minimum of the smoothed loss); plot: {}",
        lrs.len(),
        args.min_lr,
        args.max_lr,
        plot_path.display()
    ));
    Ok(LrFindReport { model: cfg.model.dir_name(), suggested_lr: suggested, lrs, losses, plot: plot_path })
}
