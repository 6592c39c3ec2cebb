//! trainer: fits makemore's bigram and MLP models with Burn, evaluates and samples them, and
//! writes them in the runtime's format. With no arguments it does the whole default job.

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};
use runtime::{Model, Network, Pcg32, Quant, SampleConfig, Scratch, Temperature};
use serde_json::json;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Instant;
use trainer::backend::{CpuBackend, Device};
use trainer::checkpoint::{write_atomic, Checkpoint};
use trainer::config::{ModelChoice, Preset, TrainConfig};
use trainer::data::{Dataset, Examples, Splits};
use trainer::model::fused::FusedOps;
use trainer::model::mlp::MlpConfig;
use trainer::model::Net;
use trainer::training::RunFiles;
use trainer::{export, model, plot, training, with_backend};

#[derive(Parser, Debug)]
#[command(
    name = "trainer",
    version,
    about = "Train makemore models (bigram, MLP) and export them for microcontrollers."
)]
#[command(long_about = "Train makemore models (bigram, MLP) and export them for microcontrollers.\n\n\
With no subcommand: train the bigram and the default MLP on data/names.txt, print losses and \
20 samples, and write checkpoints and model files under out/.")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Print one JSON object with the figures on stdout at the end; human output goes to stderr.
    #[arg(long, global = true)]
    json: bool,
    /// Hide progress bars (they are hidden anyway when stderr is not a terminal).
    #[arg(long, global = true)]
    quiet: bool,
    /// CPU backend for training and evaluation.
    #[arg(long, global = true, value_enum, default_value_t = CpuBackend::Flex)]
    backend: CpuBackend,
    /// Device: cpu, or cuda (needs `--features cuda` and an NVIDIA GPU).
    #[arg(long, global = true, value_enum, default_value_t = Device::Cpu)]
    device: Device,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Train a model; writes config.toml, checkpoints and model files into OUT/MODEL.
    Train(TrainArgs),
    /// Loss of a trained run on its train/dev/test splits (Burn), and of its exported files (runtime).
    Eval(RunArgs),
    /// Generate names from a trained run's exported model file, through the runtime.
    Sample(SampleArgs),
    /// Sweep the learning rate from --min-lr to --max-lr over --steps SGD steps (default 1000),
    /// plot loss against rate (OUT/MODEL/lr-find.png) and suggest a rate.
    LrFind(LrFindArgs),
    /// Write a run's model files again (f32 and int8) from its checkpoint, with the model card.
    Export(ExportArgs),
    /// Print a model file's header, tensors, scales, CRC status and model card.
    Inspect(InspectArgs),
}

#[derive(Args, Debug)]
struct ExportArgs {
    /// A run directory written by `trainer train` (e.g. out/mlp).
    #[arg(long, default_value = "out/mlp")]
    run: PathBuf,
    /// Export the best-by-dev checkpoint (best.json) instead of the last one.
    #[arg(long)]
    best: bool,
}

#[derive(Args, Debug)]
struct InspectArgs {
    /// A model file (.mkmr).
    file: PathBuf,
}

#[derive(Args, Debug)]
struct LrFindArgs {
    /// The model and its settings; the plot goes into OUT/MODEL/lr-find.png.
    #[command(flatten)]
    spec: RunSpec,
    /// Smallest rate of the sweep.
    #[arg(long, default_value_t = 1e-3)]
    min_lr: f64,
    /// Largest rate of the sweep.
    #[arg(long, default_value_t = 1.0)]
    max_lr: f64,
}

#[derive(Args, Debug)]
struct TrainArgs {
    #[command(flatten)]
    spec: RunSpec,
    /// Continue from OUT/MODEL/checkpoint.json with the same data order and RNG state.
    #[arg(long)]
    resume: bool,
}

/// Which model, its settings (preset -> config file -> flags) and where its run goes.
#[derive(Args, Debug, Clone)]
struct RunSpec {
    /// Which model.
    #[arg(long, value_enum, default_value_t = ModelChoice::Mlp)]
    model: ModelChoice,
    /// Starting settings for the MLP: `default` (the lecture's shape) or `large`.
    #[arg(long, value_enum, default_value_t = Preset::Default)]
    preset: Preset,
    /// TOML file with any TrainConfig fields (flags given on the command line win).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Output directory; the run goes into OUT/MODEL (e.g. out/mlp).
    #[arg(long, default_value = "out")]
    out: PathBuf,
    #[command(flatten)]
    overrides: Overrides,
}

/// Flags that override the preset and the config file; names match the config fields.
#[derive(Args, Debug, Default, Clone)]
struct Overrides {
    /// Line-per-word UTF-8 dataset [default: data/names.txt].
    #[arg(long)]
    data: Option<PathBuf>,
    /// Seed of the split, the initialisation and the minibatches [default: 42].
    #[arg(long)]
    seed: Option<u64>,
    /// Bigram: added to every pair count [default: 1].
    #[arg(long)]
    smoothing: Option<f64>,
    /// MLP context length in symbols [default: 3; large: 8].
    #[arg(long)]
    block_size: Option<usize>,
    /// MLP embedding width [default: 10; large: 24].
    #[arg(long)]
    n_embd: Option<usize>,
    /// MLP hidden width [default: 200].
    #[arg(long)]
    n_hidden: Option<usize>,
    /// Minibatch size [default: 64].
    #[arg(long)]
    batch_size: Option<usize>,
    /// Optimisation steps [default: mlp 200000, large 300000, nn-bigram 200].
    #[arg(long)]
    steps: Option<usize>,
    /// Initial SGD learning rate [default: mlp 0.2, nn-bigram 50].
    #[arg(long)]
    lr: Option<f64>,
    /// Factor applied to the learning rate at each milestone [default: 0.1].
    #[arg(long)]
    lr_decay: Option<f64>,
    /// Steps from which the learning rate decays, comma-separated [default: 100000,150000].
    #[arg(long, value_delimiter = ',')]
    lr_milestones: Option<Vec<usize>>,
    /// Scaled (Kaiming-style) initialisation [default: true]; false gives plain N(0, 1).
    #[arg(long)]
    scaled_init: Option<bool>,
    /// L2 regularisation (SGD weight decay; nn-bigram: reg * mean(W^2)) [default: 0, large 1e-4, nn-bigram 0.01].
    #[arg(long)]
    weight_decay: Option<f64>,
    /// Evaluate the dev split every N steps (0: at the end) [default: 10000].
    #[arg(long)]
    eval_every: Option<usize>,
    /// Write a checkpoint every N steps (0: at the end) [default: 10000].
    #[arg(long)]
    checkpoint_every: Option<usize>,
}

#[derive(Args, Debug)]
struct RunArgs {
    /// A run directory written by `trainer train` (e.g. out/mlp).
    #[arg(long, default_value = "out/mlp")]
    run: PathBuf,
}

#[derive(Args, Debug)]
struct SampleArgs {
    /// A run directory written by `trainer train` (e.g. out/mlp).
    #[arg(long, default_value = "out/mlp")]
    run: PathBuf,
    /// Sample from this model file instead of the run's f32 export.
    #[arg(long)]
    file: Option<PathBuf>,
    /// Use the run's int8 export.
    #[arg(long)]
    int8: bool,
    /// Number of names.
    #[arg(short = 'n', long, default_value_t = 20)]
    num: usize,
    /// RNG seed (PCG32): same seed, file and settings give the same names on every platform.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Softmax temperature (at most three decimals); 0 always picks the most likely symbol.
    #[arg(long, default_value = "1", value_parser = parse_temperature)]
    temperature: Temperature,
    /// Sample among the K most likely symbols only (0: all).
    #[arg(long, default_value_t = 0)]
    top_k: usize,
    /// Every name starts with this prefix.
    #[arg(long, default_value = "")]
    prefix: String,
    /// Only names that are neither in the run's training words nor generated before
    /// (up to 100 tries per name).
    #[arg(long)]
    unique: bool,
}

/// Human-readable output: stdout normally, stderr under --json so stdout holds only JSON.
struct Say {
    json: bool,
}

impl Say {
    fn line(&self, s: impl AsRef<str>) {
        if self.json {
            eprintln!("{}", s.as_ref());
        } else {
            println!("{}", s.as_ref());
        }
    }
}

fn main() {
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        // Measured: a second thread never helps at these model sizes (see BURN.md).
        std::env::set_var("RAYON_NUM_THREADS", "1");
    }
    let cli = Cli::parse();
    if let Err(e) = run(cli) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let say = Say { json: cli.json };
    let report = match &cli.command {
        None => return default_job(&cli, &say),
        Some(Command::Train(args)) => train(&cli, args, &say)?,
        Some(Command::Eval(args)) => eval(&cli, &args.run, &say)?,
        Some(Command::Sample(args)) => sample(args, &say)?,
        Some(Command::LrFind(args)) => lr_find(&cli, args, &say)?,
        Some(Command::Export(args)) => export_run(args, &say)?,
        Some(Command::Inspect(args)) => inspect(&args.file, &say)?,
    };
    if cli.json {
        println!("{report}");
    }
    Ok(())
}

fn lr_find(cli: &Cli, args: &LrFindArgs, say: &Say) -> anyhow::Result<serde_json::Value> {
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
    let p = prepare(&cfg)?;
    let v = p.ds.vocab.len();
    let range = (args.min_lr, args.max_lr);
    let sweep = with_backend!(cli.backend, cli.device, |B, device| {
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
    let dir = spec.out.join(model_dir(cfg.model));
    std::fs::create_dir_all(&dir)?;
    let (lrs, losses): (Vec<f64>, Vec<f64>) = sweep.iter().copied().unzip();
    let plot_path = dir.join("lr-find.png");
    plot::lr_finder(&plot_path, &lrs, &losses, suggested)?;
    say.line(format!(
        "swept {} rates from {:.0e} to {:.0e}: suggested lr {suggested:.3} (minimum of the smoothed loss); plot: {}",
        lrs.len(),
        args.min_lr,
        args.max_lr,
        plot_path.display()
    ));
    Ok(
        json!({ "model": model_dir(cfg.model), "suggested_lr": suggested, "lrs": lrs, "losses": losses, "plot": plot_path }),
    )
}

/// The whole job of `cargo run -p trainer --release`.
fn default_job(cli: &Cli, say: &Say) -> anyhow::Result<()> {
    let mut reports = vec![];
    for model in [ModelChoice::Bigram, ModelChoice::Mlp] {
        let spec = RunSpec {
            model,
            preset: Preset::Default,
            config: None,
            out: "out".into(),
            overrides: Overrides::default(),
        };
        let args = TrainArgs { spec, resume: false };
        reports.push(train(cli, &args, say)?);
    }
    let sample_args = SampleArgs {
        run: "out/mlp".into(),
        file: None,
        int8: false,
        num: 20,
        seed: 42,
        temperature: Temperature::ONE,
        top_k: 0,
        prefix: String::new(),
        unique: false,
    };
    let samples = sample(&sample_args, say)?;
    say.line("Model files (runtime format) are in out/bigram and out/mlp; `trainer sample --run out/mlp` for more.");
    if cli.json {
        println!("{}", json!({ "runs": reports, "samples": samples }));
    }
    Ok(())
}

/// The configuration of a run: preset, then config file, then flags.
fn resolve_config(args: &RunSpec) -> anyhow::Result<TrainConfig> {
    let mut cfg = TrainConfig::preset(args.model, args.preset);
    if let Some(path) = &args.config {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read config {}", path.display()))?;
        let table: toml::Table =
            toml::from_str(&text).with_context(|| format!("config {} is not valid TOML", path.display()))?;
        // Start from the preset's values so the file needs only the fields it changes.
        let mut base: toml::Table = toml::Table::try_from(&cfg)?;
        base.extend(table);
        cfg = base
            .try_into()
            .with_context(|| format!("config {} has an unknown field or a wrong type", path.display()))?;
        if cfg.model != args.model {
            bail!("config {} is for model {:?} but --model is {:?}", path.display(), cfg.model, args.model);
        }
    }
    apply_overrides(&mut cfg, &args.overrides);
    cfg.validate()?;
    Ok(cfg)
}

/// Sets every field whose flag was given.
fn apply_overrides(cfg: &mut TrainConfig, o: &Overrides) {
    macro_rules! set {
        ($($f:ident),*) => { $(if let Some(v) = &o.$f { cfg.$f = v.clone(); })* };
    }
    set!(data, seed, smoothing, block_size, n_embd, n_hidden, batch_size, steps, lr, lr_decay, lr_milestones);
    set!(scaled_init, weight_decay, eval_every, checkpoint_every);
}

/// A dataset, its splits, and the examples of each split.
struct Prepared {
    ds: Dataset,
    splits: Splits,
    train: Examples,
    dev: Examples,
    test: Examples,
}

fn prepare(cfg: &TrainConfig) -> anyhow::Result<Prepared> {
    let ds = Dataset::load(&cfg.data)?;
    let splits = ds.split(cfg.seed);
    let b = cfg.block_size.max(1);
    let ex = |w: &[String]| Examples::build(w, &ds.vocab, b);
    let (train, dev, test) = (ex(&splits.train), ex(&splits.dev), ex(&splits.test));
    Ok(Prepared { ds, splits, train, dev, test })
}

fn train(cli: &Cli, args: &TrainArgs, say: &Say) -> anyhow::Result<serde_json::Value> {
    let spec = &args.spec;
    let files = RunFiles { dir: spec.out.join(model_dir(spec.model)) };
    let (cfg, resumed) = if args.resume {
        // The checkpoint's settings win; only --steps may change (to extend the run).
        let ck = Checkpoint::load(&files.checkpoint()).context("--resume needs a checkpoint from an earlier run")?;
        let mut cfg = ck.config.clone();
        apply_overrides(&mut cfg, &spec.overrides);
        if (TrainConfig { steps: ck.config.steps, ..cfg.clone() }) != ck.config || spec.config.is_some() {
            bail!("--resume continues with the checkpoint's settings; only --steps may be given");
        }
        (cfg, Some(ck))
    } else {
        (resolve_config(spec)?, None)
    };
    let p = prepare(&cfg)?;
    std::fs::create_dir_all(&files.dir).with_context(|| format!("cannot create {}", files.dir.display()))?;
    write_atomic(&files.dir.join("config.toml"), toml::to_string(&cfg)?.as_bytes())?;
    say.line(format!(
        "{}: {} words ({} symbols) from {}; {} / {} / {} examples",
        model_dir(cfg.model),
        p.ds.words.len(),
        p.ds.vocab.len(),
        cfg.data.display(),
        p.train.len(),
        p.dev.len(),
        p.test.len()
    ));
    let report = match cfg.model {
        ModelChoice::Bigram => train_bigram(&cfg, &p, &files, say)?,
        ModelChoice::NnBigram | ModelChoice::Mlp => {
            with_backend!(cli.backend, cli.device, |B, device| train_neural::<B>(
                cli, &cfg, &p, &files, resumed, &device, say
            ))?
        }
    };
    write_atomic(&files.dir.join("report.json"), serde_json::to_string_pretty(&report)?.as_bytes())?;
    say.line(format!("wrote {}", files.dir.display()));
    Ok(report)
}

fn model_dir(model: ModelChoice) -> &'static str {
    match model {
        ModelChoice::Bigram => "bigram",
        ModelChoice::NnBigram => "nn-bigram",
        ModelChoice::Mlp => "mlp",
    }
}

fn train_bigram(cfg: &TrainConfig, p: &Prepared, files: &RunFiles, say: &Say) -> anyhow::Result<serde_json::Value> {
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
    let exports = write_exports(files, &vocab.as_string(), &export::Source::Bigram { table: &table }, p, &card, say)?;
    // The lecture's picture: counts over every word.
    plot::bigram_heatmap(&files.dir.join("bigram-counts.png"), &all_counts, &vocab.as_string())?;
    Ok(json!({
        "model": "bigram", "n_params": vocab.len() * vocab.len(),
        "train_loss": tr, "dev_loss": dv, "test_loss": te, "nll_all": all,
        "steps": 0, "seconds": seconds, "steps_per_second": 0.0,
        "out": files.dir, "export": exports,
    }))
}

/// The counts bigram fitted on the training split: `[vocab, vocab]` log-probabilities.
fn train_log_probs(p: &Prepared, smoothing: f64) -> Vec<f64> {
    use model::bigram::{counts, log_probs};
    log_probs(&counts(&p.splits.train, &p.ds.vocab), smoothing)
}

/// The training provenance that opens a model card.
fn card_lines(cfg: &TrainConfig, p: &Prepared, figures: &[(&str, f64)]) -> Vec<String> {
    let mut lines = vec![
        format!("model: {}", model_dir(cfg.model)),
        format!("dataset: {} ({} words, seed {})", cfg.data.display(), p.ds.words.len(), cfg.seed),
    ];
    if cfg.model != ModelChoice::Bigram {
        lines.push(format!("steps: {}, batch_size: {}, lr: {}", cfg.steps, cfg.batch_size, cfg.lr));
    }
    lines.extend(figures.iter().map(|(k, v)| format!("{k}: {v:.6}")));
    lines
}

/// Exports a run in f32 and int8 into its directory and prints the largest quantization
/// error per tensor and the model card figures.
fn write_exports(
    files: &RunFiles,
    vocab: &str,
    source: &export::Source,
    p: &Prepared,
    card: &[String],
    say: &Say,
) -> anyhow::Result<serde_json::Value> {
    let exports = export::export(vocab, source, &p.splits.test, card)?;
    let mut rows = vec![];
    for e in &exports {
        let path = files.dir.join(export::file_name(e.quant));
        write_atomic(&path, &e.bytes)?;
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
        rows.push(json!({
            "file": path, "quant": e.quant.name(), "bytes": e.bytes.len(), "n_params": model.n_params(),
            "ram_bytes": model.ram_bytes(), "test_nll": e.test_nll,
            "max_abs_error": e.max_errors.iter().map(|(n, v)| (n.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
        }));
    }
    Ok(json!(rows))
}

fn train_neural<B>(
    cli: &Cli,
    cfg: &TrainConfig,
    p: &Prepared,
    files: &RunFiles,
    resumed: Option<Checkpoint>,
    device: &B::Device,
    say: &Say,
) -> anyhow::Result<serde_json::Value>
where
    B: burn::tensor::backend::AutodiffBackend + FusedOps,
    B::InnerBackend: FusedOps,
{
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
    let quiet = cli.quiet || cli.json;
    let (params, outcome, losses) = match cfg.model {
        ModelChoice::Mlp => {
            let m = shape.load::<B>(&ck.params, device)?;
            let (m, o) = training::train(m, &mut ck, &p.train, &p.dev, files, device, quiet)?;
            let l = split_losses(&burn::module::AutodiffModule::valid(&m), p, device);
            (m.params(), o, l)
        }
        _ => {
            let m = model::bigram::NnBigram::<B>::load(v, cfg.weight_decay, &ck.params, device)?;
            let (m, o) = training::train(m, &mut ck, &p.train, &p.dev, files, device, quiet)?;
            let l = split_losses(&burn::module::AutodiffModule::valid(&m), p, device);
            (m.params(), o, l)
        }
    };
    let (tr, dv, te) = losses;
    plot::loss_curve(&files.dir.join("loss.png"), &ck.losses, model_dir(cfg.model))?;
    if cfg.model == ModelChoice::Mlp && cfg.n_embd == 2 {
        plot::embedding(&files.dir.join("embedding.png"), &params.get("C")?.values, &vocab)?;
    }
    let sps = outcome.steps as f64 / outcome.seconds.max(1e-9);
    say.line(format!(
        "{}: {} params, {} steps in {:.1} s ({sps:.0} steps/s): train {tr:.4}  dev {dv:.4}  test {te:.4}",
        model_dir(cfg.model),
        params.count(),
        outcome.steps,
        outcome.seconds
    ));
    let mut report = json!({
        "model": model_dir(cfg.model), "n_params": params.count(),
        "train_loss": tr, "dev_loss": dv, "test_loss": te, "best_dev_loss": outcome.best_dev,
        "steps": ck.step, "seconds": outcome.seconds, "steps_per_second": sps,
        "final_train_minibatch_loss": ck.losses.last(),
        "out": files.dir,
    });
    let card = card_lines(cfg, p, &[("train_loss", tr), ("dev_loss", dv), ("test_loss", te)]);
    match cfg.model {
        ModelChoice::Mlp => {
            report["export"] =
                write_exports(files, &vocab, &export::Source::Mlp { shape, params: &params }, p, &card, say)?;
        }
        _ => {
            let w = &params.get("W")?.values;
            report["export"] = write_exports(files, &vocab, &export::Source::Bigram { table: w }, p, &card, say)?;
            // How close W gets to the log of the smoothed counts (both as row-normalised log-probs).
            let lp = train_log_probs(p, 1.0);
            let diff = w_vs_counts(w, &lp, v);
            say.line(format!("nn-bigram: mean |log_softmax(W) - log P_counts| = {diff:.4}"));
            report["w_vs_log_counts_mean_abs"] = json!(diff);
            report["total_loss"] = json!(ck.losses.last());
        }
    }
    Ok(report)
}

/// Mean absolute difference between log_softmax(W) and the counts' log-probabilities.
fn w_vs_counts(w: &[f32], lp: &[f64], v: usize) -> f64 {
    let mut sum = 0.0;
    for r in 0..v {
        let row = &w[r * v..(r + 1) * v];
        let m = row.iter().fold(f64::NEG_INFINITY, |m, &x| m.max(f64::from(x)));
        let lse = m + row.iter().map(|&x| (f64::from(x) - m).exp()).sum::<f64>().ln();
        for c in 0..v {
            sum += (f64::from(row[c]) - lse - lp[r * v + c]).abs();
        }
    }
    sum / (v * v) as f64
}

fn split_losses<B: burn::prelude::Backend, M: Net<B>>(m: &M, p: &Prepared, device: &B::Device) -> (f64, f64, f64) {
    use training::evaluate;
    (evaluate(m, &p.train, device), evaluate(m, &p.dev, device), evaluate(m, &p.test, device))
}

/// Loads a run's checkpoint and configuration.
fn load_run(run: &Path) -> anyhow::Result<Checkpoint> {
    Checkpoint::load(&RunFiles { dir: run.to_path_buf() }.checkpoint()).with_context(|| {
        format!("{} is not a finished training run; train one with `trainer train --out ...`", run.display())
    })
}

fn eval(cli: &Cli, run: &Path, say: &Say) -> anyhow::Result<serde_json::Value> {
    let start = Instant::now();
    let ck = load_run(run)?;
    let cfg = &ck.config;
    let p = prepare(cfg)?;
    let v = p.ds.vocab.len();
    let (tr, dv, te) = match cfg.model {
        ModelChoice::Bigram => bail!("eval reads neural runs; the bigram's losses are in its report.json"),
        ModelChoice::Mlp => with_backend!(cli.backend, cli.device, |B, device| {
            let m = MlpConfig::new(cfg, v)
                .load::<<B as burn::tensor::backend::AutodiffBackend>::InnerBackend>(&ck.params, &device)?;
            split_losses(&m, &p, &device)
        }),
        ModelChoice::NnBigram => with_backend!(cli.backend, cli.device, |B, device| {
            type I = <B as burn::tensor::backend::AutodiffBackend>::InnerBackend;
            let m = model::bigram::NnBigram::<I>::load(v, cfg.weight_decay, &ck.params, &device)?;
            split_losses(&m, &p, &device)
        }),
    };
    // Training speed comes from the run's report; `seconds` here is this evaluation's time.
    let trained: Option<serde_json::Value> =
        std::fs::read(run.join("report.json")).ok().and_then(|b| serde_json::from_slice(&b).ok());
    let mut report = json!({
        "model": model_dir(cfg.model), "n_params": ck.params.count(),
        "train_loss": tr, "dev_loss": dv, "test_loss": te, "steps": ck.step,
        "seconds": start.elapsed().as_secs_f64(),
        "steps_per_second": trained.as_ref().and_then(|r| r.get("steps_per_second").cloned()),
    });
    say.line(format!("{}: train {tr:.4}  dev {dv:.4}  test {te:.4}", run.display()));
    for (quant, key) in [(Quant::F32, "runtime_test_nll_f32"), (Quant::Int8, "runtime_test_nll_int8")] {
        let name = export::file_name(quant);
        let path = run.join(name);
        if let Ok(bytes) = std::fs::read(&path) {
            let nll = export::runtime_nll(&bytes, &p.splits.test)
                .with_context(|| format!("cannot evaluate {} on the test split", path.display()))?;
            say.line(format!("  {name} (runtime): test {nll:.4}, {} bytes", bytes.len()));
            report[key] = json!(nll);
        }
    }
    Ok(report)
}

fn sample(args: &SampleArgs, say: &Say) -> anyhow::Result<serde_json::Value> {
    let path = match &args.file {
        Some(f) => f.clone(),
        None => args.run.join(export::file_name(if args.int8 { Quant::Int8 } else { Quant::F32 })),
    };
    let bytes = std::fs::read(&path)
        .with_context(|| format!("cannot read model file {}; train a run first (`trainer train`)", path.display()))?;
    let model = Model::from_bytes(&bytes).with_context(|| format!("{} is not a valid model file", path.display()))?;
    let mut buf = vec![0; model.scratch_words()];
    let mut scratch = Scratch::new(&model, &mut buf)?;
    let mut rng = Pcg32::from_seed(args.seed);
    let cfg = SampleConfig { temperature: args.temperature, top_k: args.top_k, ..SampleConfig::DEFAULT };
    // Novelty against the run's training words, when the run's config is there.
    let train_words: Option<HashSet<String>> = run_config(&args.run).ok().and_then(|cfg| {
        let ds = Dataset::load(&cfg.data).ok()?;
        Some(ds.split(cfg.seed).train.into_iter().collect())
    });
    if args.unique && train_words.is_none() {
        bail!("--unique needs the run's training words: pass --run with a training run directory");
    }
    let mut name = heapless::String::<256>::new();
    let mut names: Vec<String> = Vec::with_capacity(args.num);
    for _ in 0..args.num {
        for _attempt in 0..100 {
            runtime::generate(&model, &mut scratch, &mut rng, &cfg, &args.prefix, &mut name)?;
            let seen = names.iter().any(|n| n == name.as_str())
                || train_words.as_ref().is_some_and(|t| t.contains(name.as_str()));
            if !args.unique || !seen {
                break;
            }
        }
        names.push(name.to_string());
    }
    for n in &names {
        say.line(n);
    }
    let copies = train_words.as_ref().map(|t| names.iter().filter(|n| t.contains(*n)).count());
    if let Some(c) = copies {
        say.line(format!("{c} of {} names are copies of training names", names.len()));
    }
    Ok(
        json!({ "file": path, "seed": args.seed, "temperature": f64::from(args.temperature.milli()) / 1000.0, "top_k": args.top_k,
               "names": names, "copies_of_training_names": copies }),
    )
}

/// A run's configuration, from its `config.toml`.
fn parse_temperature(text: &str) -> Result<Temperature, String> {
    Temperature::parse(text).map_err(str::to_string)
}

fn run_config(run: &Path) -> anyhow::Result<TrainConfig> {
    let path = run.join("config.toml");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("{} is not a training run directory", run.display()))?;
    toml::from_str(&text).with_context(|| format!("{} is corrupt; train the run again", path.display()))
}

fn export_run(args: &ExportArgs, say: &Say) -> anyhow::Result<serde_json::Value> {
    let cfg = run_config(&args.run)?;
    let p = prepare(&cfg)?;
    let files = RunFiles { dir: args.run.clone() };
    let vocab = p.ds.vocab.as_string();
    if cfg.model == ModelChoice::Bigram {
        // The counts model is exported from its counts, recomputed from the run's data.
        let lp = train_log_probs(&p, cfg.smoothing);
        let table: Vec<f32> = lp.iter().map(|&v| v as f32).collect();
        let figures = [("test_loss", model::bigram::nll(&lp, &p.ds.vocab, &p.splits.test))];
        let card = card_lines(&cfg, &p, &figures);
        return write_exports(&files, &vocab, &export::Source::Bigram { table: &table }, &p, &card, say);
    }
    let path = if args.best { files.best() } else { files.checkpoint() };
    let ck = Checkpoint::load(&path)?;
    if ck.vocab != vocab {
        bail!("the run's dataset changed since training (its vocabulary differs); export needs the same data");
    }
    let mut card = card_lines(&cfg, &p, &[]);
    card.push(format!("exported from: {} at step {}", path.display(), ck.step));
    let source = match cfg.model {
        ModelChoice::Mlp => export::Source::Mlp { shape: MlpConfig::new(&cfg, p.ds.vocab.len()), params: &ck.params },
        _ => export::Source::Bigram { table: &ck.params.get("W")?.values },
    };
    write_exports(&files, &vocab, &source, &p, &card, say)
}

fn inspect(file: &Path, say: &Say) -> anyhow::Result<serde_json::Value> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read model file {}", file.display()))?;
    let model = Model::from_bytes(&bytes).with_context(|| format!("{} is not a valid model file", file.display()))?;
    let h = model.header();
    let crc = u32::from_le_bytes(bytes[bytes.len() - 4..].try_into()?);
    say.line(format!(
        "{}: {} bytes, format v{}, CRC-32 {crc:#010x} ok",
        file.display(),
        bytes.len(),
        runtime::FORMAT_VERSION
    ));
    say.line(format!("  {} ({}), vocab {}: {:?}", h.kind.name(), h.quant.name(), h.vocab.len(), h.vocab.as_str()));
    let layers: Vec<String> = h.layers.as_slice().iter().map(|l| format!("({}, {})", l.n_merge, l.n_out)).collect();
    say.line(format!(
        "  block_size {}, n_embd {}, layers (n_merge, n_out) {}",
        h.block_size,
        h.n_embd,
        layers.join(" ")
    ));
    say.line(format!("  {} params, {} bytes of RAM (scratch)", model.n_params(), model.ram_bytes()));
    let mut tensors = vec![];
    for t in model.tensors() {
        let ms: Vec<i32> = (0..t.rows).filter_map(|r| t.multiplier(r)).collect();
        let range =
            (!ms.is_empty()).then(|| (ms.iter().copied().min().unwrap_or(0), ms.iter().copied().max().unwrap_or(0)));
        let range_text = range.map_or(String::new(), |(lo, hi)| format!("  multipliers {lo} .. {hi} (/ 2^32)"));
        say.line(format!("  {:<5} [{}, {}]  {}{range_text}", t.name, t.rows, t.cols, t.encoding.name()));
        tensors.push(json!({ "name": t.name, "shape": [t.rows, t.cols], "encoding": t.encoding.name(),
            "multiplier_min": range.map(|s| s.0), "multiplier_max": range.map(|s| s.1) }));
    }
    if !h.card.is_empty() {
        say.line("  model card:");
        for line in h.card.lines() {
            say.line(format!("    {line}"));
        }
    }
    Ok(json!({
        "file": file, "bytes": bytes.len(), "format_version": runtime::FORMAT_VERSION, "crc32": crc, "crc_ok": true,
        "kind": h.kind.name(), "quant": h.quant.name(), "vocab": h.vocab.as_str(), "block_size": h.block_size,
        "n_embd": h.n_embd, "n_hidden": h.n_hidden(), "layers": h.layers.as_slice().iter().map(|l| [l.n_merge, l.n_out]).collect::<Vec<_>>(), "n_params": model.n_params(), "ram_bytes": model.ram_bytes(),
        "tensors": tensors, "card": h.card,
    }))
}
