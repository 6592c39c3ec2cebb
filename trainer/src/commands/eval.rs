//! `trainer eval`: a trained run's loss on its train/dev/test splits (Burn), and the test NLL
//! of its exported files (the runtime).

use super::train::split_losses;
use super::{prepare, Global};
use crate::config::ModelChoice;
use crate::model::mlp::MlpConfig;
use crate::run_dir::{RunDir, Weights};
use crate::{export, model, with_backend};
use anyhow::{bail, Context};
use runtime::Quant;
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args, Clone, Debug)]
pub struct RunArgs {
    /// A run directory written by `trainer train` (e.g. out/mlp).
    #[arg(long, default_value = "out/mlp")]
    pub run: PathBuf,
}

/// What `eval` reports.
#[derive(Clone, Debug, Serialize)]
pub struct EvalReport {
    pub model: &'static str,
    pub n_params: usize,
    pub train_loss: f64,
    pub dev_loss: f64,
    pub test_loss: f64,
    pub steps: usize,
    /// This evaluation's time.
    pub seconds: f64,
    /// The training speed, from the run's report.
    pub steps_per_second: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime_test_nll_f32: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime_test_nll_int8: Option<f64>,
}

pub fn eval(global: &Global, args: &RunArgs) -> anyhow::Result<EvalReport> {
    let say = global.say();
    let start = Instant::now();
    let run = RunDir::new(&args.run);
    let cfg = run.config()?;
    if cfg.model == ModelChoice::Bigram {
        bail!("eval reads neural runs; the bigram's losses are in its report.json");
    }
    let ck = run.checkpoint(Weights::Latest)?;
    let cfg = &ck.config;
    let p = prepare(cfg, say)?;
    let v = p.ds.vocab.len();
    let (tr, dv, te) = match cfg.model {
        ModelChoice::NnBigram => with_backend!(global.backend()?, global.device, |B, device| {
            type I = <B as burn::tensor::backend::AutodiffBackend>::InnerBackend;
            let m = model::bigram::NnBigram::<I>::load(v, cfg.weight_decay, &ck.params, &device)?;
            split_losses(&m, &p, &device)
        }),
        _ => with_backend!(global.backend()?, global.device, |B, device| {
            let m = MlpConfig::new(cfg, v)
                .load::<<B as burn::tensor::backend::AutodiffBackend>::InnerBackend>(&ck.params, &device)?;
            split_losses(&m, &p, &device)
        }),
    };
    // Training speed comes from the run's report; `seconds` here is this evaluation's time.
    let trained: Option<serde_json::Value> =
        std::fs::read(run.report_file()).ok().and_then(|b| serde_json::from_slice(&b).ok());
    say.line(format!("{}: train {tr:.4}  dev {dv:.4}  test {te:.4}", run.path().display()));
    let mut nlls = [None, None];
    for (quant, slot) in [Quant::F32, Quant::Int8].into_iter().zip(&mut nlls) {
        let path = run.model_file(quant);
        if let Ok(bytes) = std::fs::read(&path) {
            let nll = export::runtime_nll(&bytes, &p.splits.test)
                .with_context(|| format!("cannot evaluate {} on the test split", path.display()))?;
            say.line(format!("  {} (runtime): test {nll:.4}, {} bytes", export::file_name(quant), bytes.len()));
            *slot = Some(nll);
        }
    }
    Ok(EvalReport {
        model: cfg.model.dir_name(),
        n_params: ck.params.count(),
        train_loss: tr,
        dev_loss: dv,
        test_loss: te,
        steps: ck.step,
        seconds: start.elapsed().as_secs_f64(),
        steps_per_second: trained.as_ref().and_then(|r| r.get("steps_per_second")).and_then(|v| v.as_f64()),
        runtime_test_nll_f32: nlls[0],
        runtime_test_nll_int8: nlls[1],
    })
}
