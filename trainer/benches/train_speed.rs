//! Trainer speed, printed as a table (no timing assertions anywhere: these machines are noisy).
//!
//! 1. steps/s of the lecture's MLP shape (block 3, n_embd 10, n_hidden 200) at several batch
//!    sizes on each CPU backend compiled in, with exactly the training loop's per-step work
//!    (sample a minibatch, forward, read the loss, backward, SGD step);
//! 2. wall time (training only, evaluation excluded) for the default recipe and for the
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
    train: Examples,
    dev: Examples,
    vocab_size: usize,
}

fn load() -> Data {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let path = std::env::var_os("BENCH_DATA").map_or_else(|| root.join("data/names.txt"), PathBuf::from);
    let ds = Dataset::load(&path).expect("dataset loads");
    let s = ds.split(42);
    Data {
        name: path.display().to_string(),
        train: Examples::build(&s.train, &ds.vocab, 3),
        dev: Examples::build(&s.dev, &ds.vocab, 3),
        vocab_size: ds.vocab.len(),
    }
}

fn model<B: Backend>(cfg: &TrainConfig, vocab_size: usize, device: &B::Device) -> Mlp<B> {
    let shape = MlpConfig::new(cfg, vocab_size);
    shape.load(&shape.init_params(true, &mut Pcg32::new(cfg.seed, 1)), device).expect("shapes match")
}

/// Steps per second over `steps` steps after `warmup` steps.
fn steps_per_second<B: AutodiffBackend + FusedOps>(d: &Data, batch: usize, device: &B::Device) -> f64 {
    // The lecture's shape (11,897 parameters), the model PyTorch's figure is for.
    let cfg = TrainConfig::preset(ModelChoice::Mlp, Preset::Lecture);
    let mut m = model::<B>(&cfg, d.vocab_size, device);
    let mut optim = sgd::<B, Mlp<B>>(&cfg);
    let mut batcher = Batcher::<B>::new(&d.train, batch, false, device);
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
    let mut optim = sgd::<B, Mlp<B>>(cfg);
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
    for name in backends() {
        for batch in [32, 64, 256] {
            let sps = on!(name, |B, dev| steps_per_second::<B>(&d, batch, &dev));
            println!("| {name} | {batch} | {sps:.0} | {:.0} |", sps * batch as f64);
        }
    }
    println!("\n| recipe (flex) | steps to dev <= 2.11 | training seconds | dev then |");
    println!("|---|---|---|---|");
    // Both on the lecture's shape: what batch 64 at lr 0.2 buys over the lecture's schedule.
    let lecture = TrainConfig::preset(ModelChoice::Mlp, Preset::Lecture);
    let doubled = TrainConfig { batch_size: 64, lr: 0.2, lr_milestones: vec![100_000, 150_000], ..lecture.clone() };
    for (label, cfg) in [("batch 64, lr 0.2", &doubled), ("lecture: batch 32, lr 0.1", &lecture)] {
        let dev = burn::backend::flex::FlexDevice;
        match time_to_dev::<burn::backend::Autodiff<burn::backend::Flex>>(&d, cfg, 2.11, &dev) {
            Some((steps, secs, dv)) => println!("| {label} | {steps} | {secs:.1} | {dv:.4} |"),
            None => println!("| {label} | not reached in {} steps | - | - |", cfg.steps),
        }
    }
}
