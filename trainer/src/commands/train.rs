//! `trainer train` (and the default job of a bare `trainer`): resolve the configuration
//! (preset, then config file, then flags), train, evaluate, export, plot.

use super::{card_lines, prepare, train_log_probs, write_exports, ExportRow, Global, Prepared, Say};
use crate::checkpoint::Checkpoint;
use crate::config::{ModelChoice, Preset, Schedule, TrainConfig};
use crate::model::fused::FusedOps;
use crate::model::mlp::MlpConfig;
use crate::model::Net;
use crate::run_dir::{RunDir, Weights};
use crate::{calibrate, export, model, plot, training, with_backend};
use anyhow::{bail, Context};
use runtime::{Pcg32, Temperature};
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args, Clone, Debug)]
pub struct TrainArgs {
    #[command(flatten)]
    pub spec: RunSpec,
    /// Continue from OUT/MODEL/checkpoint.json with the same data order and RNG state.
    #[arg(long)]
    pub resume: bool,
}

/// Which model, its settings (preset -> config file -> flags) and where its run goes.
#[derive(clap::Args, Debug, Clone)]
pub struct RunSpec {
    /// Which model.
    #[arg(long, value_enum, default_value_t = ModelChoice::Mlp)]
    pub model: ModelChoice,
    /// Starting settings for the MLP, by the flash its int8 file may take (tiny 4 KB, default
    /// 16 KB, large 64 KB), or the lectures' recipe.
    #[arg(long, value_enum, default_value_t = Preset::Default)]
    pub preset: Preset,
    /// TOML file with any TrainConfig fields (flags given on the command line win).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Output directory; the run goes into OUT/MODEL (e.g. out/mlp).
    #[arg(long, default_value = "out")]
    pub out: PathBuf,
    #[command(flatten)]
    pub overrides: Overrides,
}

impl RunSpec {
    /// The default job's spec for `model`: default preset, out/.
    pub fn default_for(model: ModelChoice) -> Self {
        Self { model, preset: Preset::Default, config: None, out: "out".into(), overrides: Overrides::default() }
    }

    /// The run directory: OUT/MODEL.
    pub fn run_dir(&self) -> RunDir {
        RunDir::new(self.out.join(self.model.dir_name()))
    }
}

/// Flags that override the preset and the config file; names match the config fields.
#[derive(clap::Args, Debug, Default, Clone)]
pub struct Overrides {
    /// Line-per-word UTF-8 dataset [default: data/names.txt].
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Drop the dataset's unusable lines (holding '.', or not UTF-8) instead of refusing the
    /// file; says how many and where.
    #[arg(long)]
    pub skip_bad_lines: bool,
    /// Keep only the first occurrence of each word (data/names.txt repeats 12% of its lines).
    #[arg(long)]
    pub dedup: bool,
    /// Seed of the split, the initialisation and the minibatches [default: 42].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Bigram: added to every pair count [default: 1].
    #[arg(long)]
    pub smoothing: Option<f64>,
    /// MLP context length in symbols [default: from the preset].
    #[arg(long)]
    pub block_size: Option<usize>,
    /// MLP embedding width [default: from the preset].
    #[arg(long)]
    pub n_embd: Option<usize>,
    /// MLP hidden width [default: from the preset].
    #[arg(long)]
    pub n_hidden: Option<usize>,
    /// Hidden layers of a flat MLP [default: 1; large 2].
    #[arg(long)]
    pub n_layers: Option<usize>,
    /// WaveNet-style hierarchy: each hidden layer merges this many consecutive positions (0: a
    /// flat MLP) [default: from the preset].
    #[arg(long)]
    pub merge: Option<usize>,
    /// Batch norm after each hidden layer, folded into it at export [default: false].
    #[arg(long)]
    pub batch_norm: Option<bool>,
    /// Dropout after each hidden layer while training (0: none) [default: 0; large 0.1].
    #[arg(long)]
    pub dropout: Option<f64>,
    /// Minibatch size [default: 64; lecture 32].
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Optimisation steps [default: mlp 200000, large 800000, nn-bigram 200].
    #[arg(long)]
    pub steps: Option<usize>,
    /// Initial SGD learning rate [default: mlp 0.2, lecture 0.1, nn-bigram 50].
    #[arg(long)]
    pub lr: Option<f64>,
    /// Factor applied to the learning rate at each milestone [default: 0.1].
    #[arg(long)]
    pub lr_decay: Option<f64>,
    /// Steps from which the learning rate decays, comma-separated [default: 100000,150000; large 400000,600000; lecture 100000].
    #[arg(long, value_delimiter = ',')]
    pub lr_milestones: Option<Vec<usize>>,
    /// Learning-rate schedule: step decay at the milestones, or a cosine from lr to lr *
    /// lr_decay^2 over the run [default: step].
    #[arg(long, value_enum)]
    pub schedule: Option<Schedule>,
    /// Scaled (Kaiming-style) initialisation [default: true]; false gives plain N(0, 1).
    #[arg(long)]
    pub scaled_init: Option<bool>,
    /// L2 regularisation (SGD weight decay; nn-bigram: reg * mean(W^2)) [default: 1e-4, lecture 0, nn-bigram 0.01].
    #[arg(long)]
    pub weight_decay: Option<f64>,
    /// Evaluate the dev split every N steps (0: at the end) [default: 10000].
    #[arg(long)]
    pub eval_every: Option<usize>,
    /// Write a checkpoint every N steps (0: at the end) [default: 10000].
    #[arg(long)]
    pub checkpoint_every: Option<usize>,
    /// Average the weights of every 100th step over this last fraction of the run; the mean
    /// is the run's model (0: the last step's weights) [default: 0; large 0.25].
    #[arg(long)]
    pub average: Option<f64>,
    /// Fit a temperature for the logits on the dev split and fold it into the output layer
    /// (mlp) [default: false; large true].
    #[arg(long)]
    pub calibrate: Option<bool>,
}

impl Overrides {
    /// Sets every field of `cfg` whose flag was given.
    pub fn apply(&self, cfg: &mut TrainConfig) {
        macro_rules! set {
            ($($f:ident),*) => { $(if let Some(v) = &self.$f { cfg.$f = v.clone(); })* };
        }
        set!(
            data, seed, smoothing, block_size, n_embd, n_hidden, n_layers, merge, batch_norm, dropout, batch_size,
            steps
        );
        set!(lr, lr_decay, lr_milestones, schedule);
        set!(scaled_init, weight_decay, eval_every, checkpoint_every, average, calibrate);
        cfg.skip_bad_lines |= self.skip_bad_lines;
        cfg.dedup |= self.dedup;
    }
}

/// What `train` reports (the JSON keys scripts read).
#[derive(Clone, Debug, Serialize)]
pub struct TrainReport {
    pub model: &'static str,
    pub n_params: usize,
    pub train_loss: f64,
    pub dev_loss: f64,
    pub test_loss: f64,
    /// The counts bigram: its NLL over every word, fitted on every word (the lecture's figure).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nll_all: Option<f64>,
    /// Neural models: the best dev loss seen at an evaluation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub best_dev_loss: Option<f64>,
    pub steps: usize,
    pub seconds: f64,
    pub steps_per_second: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub final_train_minibatch_loss: Option<f32>,
    /// The neural bigram: mean |log_softmax(W) - log P_counts| over the table.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub w_vs_log_counts_mean_abs: Option<f64>,
    /// The neural bigram: its objective (loss plus penalty) at the last step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_loss: Option<f32>,
    /// The MLP with `calibrate`: the temperature folded into its output layer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    pub out: PathBuf,
    pub export: Vec<ExportRow>,
}

/// The configuration of a run: preset, then config file, then flags.
pub fn resolve_config(spec: &RunSpec) -> anyhow::Result<TrainConfig> {
    let mut cfg = TrainConfig::preset(spec.model, spec.preset);
    if let Some(path) = &spec.config {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read config {}", path.display()))?;
        let table: toml::Table =
            toml::from_str(&text).with_context(|| format!("config {} is not valid TOML", path.display()))?;
        // Start from the preset's values so the file needs only the fields it changes.
        let mut base: toml::Table = toml::Table::try_from(&cfg)?;
        base.extend(table);
        cfg = base
            .try_into()
            .with_context(|| format!("config {} has an unknown field or a wrong type", path.display()))?;
        if cfg.model != spec.model {
            bail!("config {} is for model {:?} but --model is {:?}", path.display(), cfg.model, spec.model);
        }
    }
    spec.overrides.apply(&mut cfg);
    cfg.validate()?;
    Ok(cfg)
}

/// Trains the run `args` describes (or resumes it) and exports it.
pub fn train(global: &Global, args: &TrainArgs) -> anyhow::Result<TrainReport> {
    let say = global.say();
    let spec = &args.spec;
    let run = spec.run_dir();
    let (cfg, resumed) = if args.resume {
        // The checkpoint's settings win; only --steps may change (to extend the run).
        let ck = run.checkpoint(Weights::Latest).context("--resume needs a checkpoint from an earlier run")?;
        let mut cfg = ck.config.clone();
        spec.overrides.apply(&mut cfg);
        if (TrainConfig { steps: ck.config.steps, ..cfg.clone() }) != ck.config || spec.config.is_some() {
            bail!("--resume continues with the checkpoint's settings; only --steps may be given");
        }
        (cfg, Some(ck))
    } else {
        (resolve_config(spec)?, None)
    };
    let p = prepare(&cfg, say)?;
    if resumed.is_some() {
        let removed = run.remove_temporaries()?;
        if !removed.is_empty() {
            say.note(format!(
                "removed {} temporary files an interrupted run left in {}",
                removed.len(),
                run.path().display()
            ));
        }
        run.save_config(&cfg)?;
    } else {
        run.start(&cfg, |removed| {
            if !removed.is_empty() {
                let names: Vec<String> =
                    removed.iter().filter_map(|p| p.file_name()).map(|n| n.to_string_lossy().into_owned()).collect();
                say.note(format!("replacing the previous run in {}: {}", run.path().display(), names.join(", ")));
            }
        })?;
    }
    say.line(format!(
        "{}: {} words ({} symbols) from {}; {} / {} / {} examples",
        cfg.model.dir_name(),
        p.ds.words.len(),
        p.ds.vocab.len(),
        cfg.data.display(),
        p.train.len(),
        p.dev.len(),
        p.test.len()
    ));
    let report = match cfg.model {
        ModelChoice::Bigram => train_bigram(&cfg, &p, &run, say)?,
        ModelChoice::NnBigram | ModelChoice::Mlp => {
            with_backend!(global.backend()?, global.device, |B, device| train_neural::<B>(
                global, &cfg, &p, &run, resumed, &device
            ))?
        }
    };
    run.write("report.json", &serde_json::to_vec_pretty(&report)?)?;
    say.line(format!("wrote {}", run.path().display()));
    Ok(report)
}

fn train_bigram(cfg: &TrainConfig, p: &Prepared, run: &RunDir, say: Say) -> anyhow::Result<TrainReport> {
    use model::bigram::{counts, log_probs, nll};
    let start = Instant::now();
    let vocab = &p.ds.vocab;
    let lp = train_log_probs(p, cfg.smoothing);
    let (tr, dv, te) =
        (nll(&lp, vocab, &p.splits.train), nll(&lp, vocab, &p.splits.dev), nll(&lp, vocab, &p.splits.test));
    // The lecture's figure: fitted on every word, evaluated on every word.
    let all_counts = counts(&p.ds.words, vocab);
    let all = nll(&log_probs(&all_counts, cfg.smoothing), vocab, &p.ds.words);
    let seconds = start.elapsed().as_secs_f64();
    say.line(format!("bigram counts: train {tr:.4}  dev {dv:.4}  test {te:.4}  (all words: {all:.4})"));
    let table: Vec<f32> = lp.iter().map(|&v| v as f32).collect();
    let card = card_lines(cfg, p, &[("train_loss", tr), ("dev_loss", dv), ("test_loss", te), ("nll_all", all)]);
    let exports = write_exports(run, &vocab.as_string(), &export::Source::Bigram { table: &table }, p, &card, say)?;
    // The lecture's picture: counts over every word.
    plot::bigram_heatmap(&run.file("bigram-counts.png"), &all_counts, &vocab.as_string())?;
    Ok(TrainReport {
        model: "bigram",
        n_params: vocab.len() * vocab.len(),
        train_loss: tr,
        dev_loss: dv,
        test_loss: te,
        nll_all: Some(all),
        best_dev_loss: None,
        steps: 0,
        seconds,
        steps_per_second: 0.0,
        final_train_minibatch_loss: None,
        w_vs_log_counts_mean_abs: None,
        total_loss: None,
        temperature: None,
        out: run.path().to_path_buf(),
        export: exports,
    })
}

fn train_neural<B>(
    global: &Global,
    cfg: &TrainConfig,
    p: &Prepared,
    run: &RunDir,
    resumed: Option<Checkpoint>,
    device: &B::Device,
) -> anyhow::Result<TrainReport>
where
    B: burn::tensor::backend::AutodiffBackend + FusedOps,
    B::InnerBackend: FusedOps,
{
    let say = global.say();
    let v = p.ds.vocab.len();
    let vocab = p.ds.vocab.as_string();
    let shape = MlpConfig::new(cfg, v);
    let mut ck = match resumed {
        Some(ck) => {
            if ck.vocab != vocab {
                bail!("the dataset's vocabulary changed since the checkpoint was written; resume with the same data");
            }
            say.line(format!("resuming from step {} of {}", ck.step, cfg.steps));
            Checkpoint { config: cfg.clone(), ..ck }
        }
        None => {
            // Initialisation and minibatches use separate streams of the run's seed.
            let mut init_rng = Pcg32::new(cfg.seed, 1);
            let params = match cfg.model {
                ModelChoice::Mlp => shape.init_params(cfg.scaled_init, &mut init_rng),
                _ => model::bigram::NnBigram::<B>::init_params(v, &mut init_rng),
            };
            Checkpoint::new(cfg.clone(), vocab.clone(), 0, Pcg32::new(cfg.seed, 2).state(), params)
        }
    };
    let quiet = global.quiet || global.json;
    let (params, outcome, losses, temperature) = match cfg.model {
        ModelChoice::Mlp => {
            let m = shape.load::<B>(&ck.params, device)?.with_dropout(cfg.dropout);
            let (m, o) = training::train(m, &mut ck, &p.train, &p.dev, run, device, quiet)?;
            // The run's model: its weights' average when it averages (`--average`).
            let m = if ck.average.is_some() { shape.load::<B>(&ck.model_params()?, device)? } else { m };
            // With `--calibrate`, its temperature folded into the output layer.
            let (m, t) = if cfg.calibrate {
                let (params, t) = calibrate::calibrate(&vocab, shape, &m.params(), &p.dev)?;
                say.line(format!("calibrated: temperature {t:.4} (fitted on dev, folded into the output layer)"));
                (shape.load::<B>(&params, device)?, Some(t))
            } else {
                (m, None)
            };
            let l = split_losses(&burn::module::AutodiffModule::valid(&m), p, device);
            (m.params(), o, l, t)
        }
        _ => {
            let m = model::bigram::NnBigram::<B>::load(v, cfg.weight_decay, &ck.params, device)?;
            let (m, o) = training::train(m, &mut ck, &p.train, &p.dev, run, device, quiet)?;
            let m = if ck.average.is_some() {
                model::bigram::NnBigram::<B>::load(v, cfg.weight_decay, &ck.model_params()?, device)?
            } else {
                m
            };
            let l = split_losses(&burn::module::AutodiffModule::valid(&m), p, device);
            (m.params(), o, l, None)
        }
    };
    let (tr, dv, te) = losses;
    // The dev series starts from the untrained model's loss.
    let dev_series: Vec<(usize, f64)> =
        ck.start_dev.map(|d| (0, d)).into_iter().chain(ck.dev_losses.iter().copied()).collect();
    plot::loss_curve(&run.file("loss.png"), &ck.losses, &dev_series, cfg.model.dir_name())?;
    if cfg.model == ModelChoice::Mlp && cfg.n_embd == 2 {
        plot::embedding(&run.file("embedding.png"), &params.get("C")?.values, &vocab)?;
    }
    let sps = outcome.steps as f64 / outcome.seconds.max(1e-9);
    say.line(format!(
        "{}: {} params, {} steps in {:.1} s ({sps:.0} steps/s): train {tr:.4}  dev {dv:.4}  test {te:.4}",
        cfg.model.dir_name(),
        params.count(),
        outcome.steps,
        outcome.seconds
    ));
    let mut report = TrainReport {
        model: cfg.model.dir_name(),
        n_params: params.count(),
        train_loss: tr,
        dev_loss: dv,
        test_loss: te,
        nll_all: None,
        best_dev_loss: outcome.best_dev,
        steps: ck.step,
        seconds: outcome.seconds,
        steps_per_second: sps,
        final_train_minibatch_loss: ck.losses.last().copied(),
        w_vs_log_counts_mean_abs: None,
        total_loss: None,
        temperature,
        out: run.path().to_path_buf(),
        export: vec![],
    };
    let mut figures = vec![("train_loss", tr), ("dev_loss", dv), ("test_loss", te)];
    figures.extend(temperature.map(|t| ("temperature", t)));
    let card = card_lines(cfg, p, &figures);
    match cfg.model {
        ModelChoice::Mlp => {
            report.export = write_exports(run, &vocab, &export::Source::Mlp { shape, params: &params }, p, &card, say)?;
        }
        _ => {
            let w = &params.get("W")?.values;
            report.export = write_exports(run, &vocab, &export::Source::Bigram { table: w }, p, &card, say)?;
            // How close W gets to the log of the smoothed counts (both as row-normalised log-probs).
            let diff = w_vs_counts(w, &train_log_probs(p, 1.0), v);
            say.line(format!("nn-bigram: mean |log_softmax(W) - log P_counts| = {diff:.4}"));
            report.w_vs_log_counts_mean_abs = Some(diff);
            report.total_loss = ck.losses.last().copied();
        }
    }
    Ok(report)
}

/// Mean absolute difference between log_softmax(W) and the counts' log-probabilities.
fn w_vs_counts(w: &[f32], lp: &[f64], v: usize) -> f64 {
    let mut sum = 0.0;
    for r in 0..v {
        let row = &w[r * v..(r + 1) * v];
        let lse = model::log_sum_exp(row, 1.0);
        for c in 0..v {
            sum += (f64::from(row[c]) - lse - lp[r * v + c]).abs();
        }
    }
    sum / (v * v) as f64
}

/// Train, dev and test loss of a model (Burn).
pub(crate) fn split_losses<B: burn::prelude::Backend, M: Net<B>>(
    m: &M,
    p: &Prepared,
    device: &B::Device,
) -> (f64, f64, f64) {
    use training::evaluate;
    (evaluate(m, &p.train, device), evaluate(m, &p.dev, device), evaluate(m, &p.test, device))
}

/// What the default job reports: both runs and the samples.
#[derive(Clone, Debug, Serialize)]
pub struct DefaultJobReport {
    pub runs: Vec<TrainReport>,
    pub samples: super::sample::SampleReport,
}

/// The whole job of `cargo run -p trainer --release`: the bigram and the default MLP on
/// data/names.txt into out/, then 20 names from the MLP.
pub fn default_job(global: &Global) -> anyhow::Result<DefaultJobReport> {
    let mut runs = vec![];
    for model in [ModelChoice::Bigram, ModelChoice::Mlp] {
        let args = TrainArgs { spec: RunSpec::default_for(model), resume: false };
        runs.push(train(global, &args)?);
    }
    let sample_args = super::sample::SampleArgs {
        run: Some("out/mlp".into()),
        file: None,
        int8: false,
        num: 20,
        seed: 42,
        temperature: Temperature::ONE,
        top_k: 0,
        prefix: String::new(),
        unique: false,
    };
    let samples = super::sample::sample(global, &sample_args)?;
    global
        .say()
        .note("Model files (runtime format) are in out/bigram and out/mlp; `trainer sample --run out/mlp` for more.");
    Ok(DefaultJobReport { runs, samples })
}
