//! Trainer speed, printed as tables (no timing assertions anywhere: these machines are noisy).
//!
//! 1. steps/s of the lecture's MLP shape (block 3, n_embd 10, n_hidden 200) at several batch
//!    sizes on each CPU backend compiled in, with exactly the training loop's per-step work
//!    (sample a minibatch, forward, read the loss, backward, SGD step);
//! 2. side by side with PyTorch: the trainer's whole loop (`training::train`, what `trainer
//!    train` runs) on the lecture's recipe (batch 32, lr 0.1, default weight decay, no
//!    evaluation until the end), then `tools/torch_reference.py` on the same data, twice
//!    each, alternating, and the ratio. PyTorch runs when `TORCH_PYTHON` names a Python with
//!    torch installed (a venv outside the repository: `python3 -m venv ~/torch && ~/torch/bin/pip
//!    install torch`); `BENCH_STEPS` sets the steps (default 50,000);
//! 3. batch norm: the WaveNet-style hierarchy (block 8, merge 2, n_embd 8, n_hidden 48) with
//!    and without it;
//! 4. wall time (training only, evaluation excluded) for the default recipe and for the
//!    lecture's recipe to first reach dev <= 2.11, evaluated every 2,000 steps.
//!
//! Reads the project's `data/names.txt`, or the word list named by `BENCH_DATA` (the
//! reference figures are on the lectures' classic names.txt: `BENCH_DATA=names-classic.txt`).
//! `cargo bench -p trainer [--features ndarray]`.

use burn::module::AutodiffModule;
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use runtime::Pcg32;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use trainer::config::{ModelChoice, Preset, TrainConfig};
use trainer::data::{Dataset, Examples};
use trainer::model::fused::FusedOps;
use trainer::model::mlp::{Mlp, MlpConfig};
use trainer::training::{evaluate, sgd, sgd_step, Batcher};

struct Data {
    name: String,
    path: PathBuf,
    vocab: String,
    train: Examples,
    dev: Examples,
    /// The same splits with an 8-symbol context (the hierarchy's).
    train8: Examples,
    vocab_size: usize,
}

fn load() -> Data {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let path = std::env::var_os("BENCH_DATA").map_or_else(|| root.join("data/names.txt"), PathBuf::from);
    let ds = Dataset::load(&path).expect("dataset loads");
    let s = ds.split(42);
    Data {
        name: path.display().to_string(),
        vocab: ds.vocab.as_string(),
        train: Examples::build(&s.train, &ds.vocab, 3),
        dev: Examples::build(&s.dev, &ds.vocab, 3),
        train8: Examples::build(&s.train, &ds.vocab, 8),
        vocab_size: ds.vocab.len(),
        path,
    }
}

fn model<B: Backend>(cfg: &TrainConfig, vocab_size: usize, device: &B::Device) -> Mlp<B> {
    let shape = MlpConfig::new(cfg, vocab_size);
    shape.load(&shape.init_params(true, &mut Pcg32::new(cfg.seed, 1)), device).expect("shapes match")
}

/// Steps per second over `steps` steps after `warmup` steps, for `cfg`'s model on `train`.
fn steps_per_second<B: AutodiffBackend + FusedOps>(
    cfg: &TrainConfig,
    d: &Data,
    train: &Examples,
    batch: usize,
    device: &B::Device,
) -> f64
where
    B::InnerBackend: FusedOps,
{
    let mut m = model::<B>(cfg, d.vocab_size, device);
    let mut optim = sgd(cfg);
    let mut batcher = Batcher::<B>::new(train, batch, false, device);
    let mut rng = Pcg32::new(1, 2);
    let (warmup, steps) = (300, 3000);
    let mut start = Instant::now();
    for i in 0..warmup + steps {
        if i == warmup {
            start = Instant::now();
        }
        m = sgd_step(m, &mut optim, &mut batcher, &mut rng, 0.1).0;
    }
    steps as f64 / start.elapsed().as_secs_f64()
}

/// (steps, training seconds) until dev <= target, or None within the recipe's steps.
fn time_to_dev<B: AutodiffBackend + FusedOps>(
    d: &Data,
    cfg: &TrainConfig,
    target: f64,
    device: &B::Device,
) -> Option<(usize, f64, f64)>
where
    B::InnerBackend: FusedOps,
{
    let mut m = model::<B>(cfg, d.vocab_size, device);
    let mut optim = sgd(cfg);
    let mut batcher = Batcher::<B>::new(&d.train, cfg.batch_size, false, device);
    let mut rng = Pcg32::new(cfg.seed, 2);
    let mut trained = Duration::ZERO;
    for step in 0..cfg.steps {
        let t = Instant::now();
        m = sgd_step(m, &mut optim, &mut batcher, &mut rng, cfg.lr_at(step)).0;
        trained += t.elapsed();
        if (step + 1) % 2000 == 0 {
            let dev = evaluate(&m.valid(), &d.dev, device);
            if dev <= target {
                return Some((step + 1, trained.as_secs_f64(), dev));
            }
        }
    }
    None
}

/// The trainer's whole loop (what `trainer train` runs: `training::train` with its per-step
/// bookkeeping) against PyTorch's, same recipe and data, two runs each, alternating.
fn side_by_side_with_pytorch(d: &Data) {
    let steps: usize = std::env::var("BENCH_STEPS").ok().and_then(|s| s.parse().ok()).unwrap_or(50_000);
    // The command: `--block-size 3 --n-embd 10 --n-hidden 200 --batch-size 32 --lr 0.1`
    // on the default preset (so weight decay 1e-4), evaluated only at the end.
    let cfg = TrainConfig {
        block_size: 3,
        n_embd: 10,
        n_hidden: 200,
        batch_size: 32,
        lr: 0.1,
        steps,
        eval_every: 0,
        checkpoint_every: 0,
        ..TrainConfig::default()
    };
    let python = std::env::var_os("TORCH_PYTHON");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tools/torch_reference.py");
    println!("\n| run ({steps} steps, lecture shape, batch 32, one thread) | steps/s | dev loss |");
    println!("|---|---|---|");
    let (mut ours, mut theirs) = (vec![], vec![]);
    for _ in 0..2 {
        let (sps, dev) = whole_loop(&cfg, d);
        println!("| trainer (flex), `training::train` | {sps:.0} | {dev:.4} |");
        ours.push(sps);
        let Some(python) = &python else { continue };
        let out = std::process::Command::new(python).arg(&script).arg(&d.path).arg(steps.to_string()).output();
        let parsed = out
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| serde_json::from_slice::<serde_json::Value>(&o.stdout).ok());
        match parsed {
            Some(v) => {
                let sps = v["steps_per_second"].as_f64().unwrap_or(f64::NAN);
                println!(
                    "| PyTorch {} | {sps:.0} | {:.4} |",
                    v["torch"].as_str().unwrap_or("?"),
                    v["dev_loss"].as_f64().unwrap_or(f64::NAN)
                );
                theirs.push(sps);
            }
            None => {
                println!("| PyTorch | failed: run `$TORCH_PYTHON tools/torch_reference.py DATA STEPS` to see why | - |")
            }
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    if theirs.is_empty() {
        println!("\nPyTorch not run: set TORCH_PYTHON to a Python with torch installed to compare.");
    } else {
        println!("\ntrainer / PyTorch: {:.2}x (means of the runs above)", mean(&ours) / mean(&theirs));
    }
}

/// Steps/s and final dev loss of `training::train` on `cfg`, in a temporary run directory.
fn whole_loop(cfg: &TrainConfig, d: &Data) -> (f64, f64) {
    type B = burn::backend::Autodiff<burn::backend::Flex>;
    let device = burn::backend::flex::FlexDevice;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let run = trainer::run_dir::RunDir::new(dir.path().join("mlp"));
    run.start(cfg, |_| {}).expect("the run directory starts");
    let shape = MlpConfig::new(cfg, d.vocab_size);
    let params = shape.init_params(cfg.scaled_init, &mut Pcg32::new(cfg.seed, 1));
    let mut ck = trainer::checkpoint::Checkpoint::new(
        cfg.clone(),
        d.vocab.clone(),
        0,
        Pcg32::new(cfg.seed, 2).state(),
        params.clone(),
    );
    let m = shape.load::<B>(&params, &device).expect("shapes match");
    let (_, outcome) =
        trainer::training::train(m, &mut ck, &d.train, &d.dev, &run, &device, true).expect("training runs");
    (outcome.steps as f64 / outcome.seconds, ck.dev_losses.last().map_or(f64::NAN, |p| p.1))
}

fn backends() -> Vec<&'static str> {
    let mut v = vec!["flex"];
    if cfg!(feature = "ndarray") {
        v.push("ndarray");
    }
    v
}

macro_rules! on {
    ($name:expr, |$b:ident, $dev:ident| $body:expr) => {
        match $name {
            #[cfg(feature = "ndarray")]
            "ndarray" => {
                type $b = burn::backend::Autodiff<burn::backend::NdArray>;
                let $dev = burn::backend::ndarray::NdArrayDevice::Cpu;
                $body
            }
            _ => {
                type $b = burn::backend::Autodiff<burn::backend::Flex>;
                let $dev = burn::backend::flex::FlexDevice;
                $body
            }
        }
    };
}

fn main() {
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        std::env::set_var("RAYON_NUM_THREADS", "1");
    }
    // `cargo bench` passes --bench; a filter argument is not supported here.
    let d = load();
    println!("data: {} ({} train / {} dev examples), one thread\n", d.name, d.train.len(), d.dev.len());
    println!("| backend | batch | steps/s | examples/s |");
    println!("|---|---|---|---|");
    // The lecture's shape (11,897 parameters), the model PyTorch's figure is for.
    let lecture = TrainConfig::preset(ModelChoice::Mlp, Preset::Lecture);
    for name in backends() {
        for batch in [32, 64, 256] {
            let sps = on!(name, |B, dev| steps_per_second::<B>(&lecture, &d, &d.train, batch, &dev));
            println!("| {name} | {batch} | {sps:.0} | {:.0} |", sps * batch as f64);
        }
    }
    side_by_side_with_pytorch(&d);
    println!("\n| hierarchy, block 8 merge 2, n_embd 8, n_hidden 48, batch 64 (flex) | steps/s |");
    println!("|---|---|");
    let hierarchy = TrainConfig { block_size: 8, merge: 2, n_embd: 8, n_hidden: 48, ..TrainConfig::default() };
    for batch_norm in [false, true] {
        let cfg = TrainConfig { batch_norm, ..hierarchy.clone() };
        let sps = on!("flex", |B, dev| steps_per_second::<B>(&cfg, &d, &d.train8, 64, &dev));
        println!("| batch norm {batch_norm} | {sps:.0} |");
    }
    println!("\n| recipe (flex) | steps to dev <= 2.11 | training seconds | dev then |");
    println!("|---|---|---|---|");
    // Both on the lecture's shape: what batch 64 at lr 0.2 buys over the lecture's schedule.
    let doubled = TrainConfig { batch_size: 64, lr: 0.2, lr_milestones: vec![100_000, 150_000], ..lecture.clone() };
    for (label, cfg) in [("batch 64, lr 0.2", &doubled), ("lecture: batch 32, lr 0.1", &lecture)] {
        let dev = burn::backend::flex::FlexDevice;
        match time_to_dev::<burn::backend::Autodiff<burn::backend::Flex>>(&d, cfg, 2.11, &dev) {
            Some((steps, secs, dv)) => println!("| {label} | {steps} | {secs:.1} | {dv:.4} |"),
            None => println!("| {label} | not reached in {} steps | - | - |", cfg.steps),
        }
    }
}
