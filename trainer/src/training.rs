//! The training loop shared by the neural models: minibatch SGD with a step-decay schedule,
//! periodic dev evaluation, best-by-dev and periodic checkpoints, resume, and a stop with a
//! clear message when the loss becomes NaN or explodes.

use crate::checkpoint::{Average, Checkpoint};
use crate::config::{ModelChoice, TrainConfig};
use crate::data::Examples;
use crate::model::fused::{self, FusedOps};
use crate::model::{cross_entropy_sum, Net};
use crate::optim::Sgd;
use crate::run_dir::{RunDir, Weights};
use burn::module::AutodiffModule;
use burn::optim::{GradientsParams, Optimizer};
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use indicatif::{ProgressBar, ProgressStyle};
use runtime::Pcg32;
use std::time::Instant;

/// Examples per batch when evaluating a whole split.
const EVAL_CHUNK: usize = 16_384;

/// Ids to a Burn int tensor `[n, cols]`.
pub fn ids_2d<B: Backend>(ids: &[u8], cols: usize, device: &B::Device) -> Tensor<B, 2, Int> {
    let v: Vec<i64> = ids.iter().map(|&i| i64::from(i)).collect();
    Tensor::from_data(TensorData::new(v, [ids.len() / cols.max(1), cols]), device)
}

pub fn ids_1d<B: Backend>(ids: &[u8], device: &B::Device) -> Tensor<B, 1, Int> {
    let v: Vec<i64> = ids.iter().map(|&i| i64::from(i)).collect();
    Tensor::from_data(TensorData::new(v, [ids.len()]), device)
}

/// Mean cross-entropy of `model` over every example of a split.
pub fn evaluate<B: Backend, M: Net<B>>(model: &M, ex: &Examples, device: &B::Device) -> f64 {
    let b = ex.block_size;
    let mut sum = 0.0;
    for (x, y) in ex.x.chunks(EVAL_CHUNK * b).zip(ex.y.chunks(EVAL_CHUNK)) {
        sum += cross_entropy_sum(model.logits(ids_2d::<B>(x, b, device)), ids_1d::<B>(y, device));
    }
    sum / ex.len().max(1) as f64
}

/// What a finished run reports.
#[derive(Clone, Copy, Debug)]
pub struct Outcome {
    pub steps: usize,
    pub seconds: f64,
    pub best_dev: Option<f64>,
}

/// How far above the untrained model's dev loss a dev loss may lie before the run counts as
/// diverged: a first step at a sane rate can leave the dev loss a hair higher by chance.
const DEV_LOSS_SLACK: f64 = 1e-3;

/// Trains `model` from the state in `ck` up to `ck.config.steps`, updating `ck` as it goes
/// (a fresh run starts at step 0, a resumed one where its checkpoint stopped).
///
/// A checkpoint only ever holds weights that were seen to be good: weights whose dev loss was
/// just computed (finite, and not above the untrained model's) are written at once; weights
/// due at a checkpoint without an evaluation wait for the next step, whose loss is computed
/// at exactly those weights, and are written only if that loss is sane. So the diverging
/// update that a stop reports is never in `checkpoint.json` or `best.json`.
pub fn train<B, M>(
    mut model: M,
    ck: &mut Checkpoint,
    train: &Examples,
    dev: &Examples,
    run: &RunDir,
    device: &B::Device,
    quiet: bool,
) -> anyhow::Result<(M, Outcome)>
where
    B: AutodiffBackend + FusedOps,
    B::InnerBackend: FusedOps,
    M: Net<B> + AutodiffModule<B>,
    M::InnerModule: Net<B::InnerBackend>,
{
    let cfg = ck.config.clone();
    let mut optim = sgd(&cfg);
    let mut rng = Pcg32::from_state(ck.rng.0, ck.rng.1);
    let full_batch = cfg.model == ModelChoice::NnBigram;
    let mut batcher = Batcher::<B>::new(train, cfg.batch_size, full_batch, device);
    // A resumed run's checkpoint is on disk; a new run has none yet.
    let mut kept = Kept { latest: (ck.step > 0).then_some(ck.step), best: ck.best_dev };
    if ck.start_dev.is_none() && ck.step == 0 {
        ck.start_dev = Some(evaluate(&model.valid(), dev, device));
    }
    let start_dev = ck.start_dev.unwrap_or(f64::INFINITY);
    let bar = progress(cfg.steps as u64, quiet);
    bar.set_position(ck.step as u64);
    let start = Instant::now();
    let first_step = ck.step;
    let mut limit = f32::INFINITY;
    // A checkpoint whose weights wait for the next step's loss (see above).
    let mut pending: Option<Checkpoint> = None;
    while ck.step < cfg.steps {
        let (next, value) = sgd_step(model, &mut optim, &mut batcher, &mut rng, cfg.lr_at(ck.step));
        model = next;
        if limit.is_infinite() {
            // "Exploded" means ten times the first loss of this run (segment).
            limit = 10.0 * value.max(1.0);
        }
        if !value.is_finite() || value > limit {
            let what = format!("the loss became {value}");
            return Err(stopped(&bar, ck.step, cfg.lr_at(ck.step.saturating_sub(1)), run, what, kept));
        }
        // `value` is the loss at the weights of step `ck.step`: those of a waiting checkpoint.
        if let Some(p) = pending.take() {
            p.save(&run.checkpoint_file(Weights::Latest))?;
            kept.latest = Some(p.step);
        }
        ck.losses.push(value);
        ck.step += 1;
        if cfg.averages(ck.step) {
            let from = cfg.average_from().unwrap_or(0);
            // An average from before the tail (a run resumed with other `steps`) starts again.
            let avg = ck.average.get_or_insert_with(|| Average::new(from));
            if avg.from < from {
                *avg = Average::new(from);
            }
            avg.add(&model.params());
        }
        if ck.step.is_multiple_of(100) || ck.step == cfg.steps {
            bar.set_position(ck.step as u64);
            bar.set_message(format!("loss {:.4}", mean_tail(&ck.losses, 1000)));
        }
        let at = |every: usize| every > 0 && ck.step.is_multiple_of(every);
        let eval = at(cfg.eval_every) || ck.step == cfg.steps;
        let save = at(cfg.checkpoint_every) || ck.step == cfg.steps;
        if !(eval || save) {
            continue;
        }
        let lr = cfg.lr_at(ck.step - 1);
        let params = model.params();
        if let Some(t) = params.tensors.iter().find(|t| t.values.iter().any(|v| !v.is_finite())) {
            return Err(stopped(&bar, ck.step, lr, run, format!("the update made {} non-finite", t.name), kept));
        }
        if eval {
            let d = evaluate(&model.valid(), dev, device);
            if !d.is_finite() || d > start_dev + DEV_LOSS_SLACK {
                let what = format!("the dev loss became {d:.4}, above the untrained model's {start_dev:.4}");
                return Err(stopped(&bar, ck.step, lr, run, what, kept));
            }
            ck.dev_losses.push((ck.step, d));
            if ck.best_dev.is_none_or(|best| d < best) {
                ck.best_dev = Some(d);
                ck.rng = rng.state();
                ck.params = params.clone();
                ck.save(&run.checkpoint_file(Weights::Best))?;
                kept.best = Some(d);
            }
            bar.println(format!("step {:>7}  train {:.4}  dev {d:.4}", ck.step, mean_tail(&ck.losses, 1000)));
        }
        if save {
            ck.rng = rng.state();
            ck.params = params;
            if eval {
                // Checked just now by its dev loss.
                ck.save(&run.checkpoint_file(Weights::Latest))?;
                kept.latest = Some(ck.step);
            } else {
                pending = Some(ck.clone());
            }
        }
    }
    bar.finish_and_clear();
    ck.rng = rng.state();
    ck.params = model.params();
    Ok((model, Outcome { steps: ck.step - first_step, seconds: start.elapsed().as_secs_f64(), best_dev: ck.best_dev }))
}

/// What a run has on disk at a given moment: the step of `checkpoint.json` and the dev loss
/// of `best.json`.
#[derive(Clone, Copy, Debug)]
struct Kept {
    latest: Option<usize>,
    best: Option<f64>,
}

/// The error that stops a diverging run at `step`, saying exactly what is kept.
fn stopped(bar: &ProgressBar, step: usize, lr: f64, run: &RunDir, what: String, kept: Kept) -> anyhow::Error {
    bar.abandon();
    let dir = run.path().display();
    let kept = match (kept.latest, kept.best) {
        (None, None) => format!(
            "Nothing of this run is kept: no checkpoint was written before it diverged. Start again with a \
             lower --lr (`trainer train ... --lr {}`).",
            lr / 10.0
        ),
        (latest, best) => {
            let mut parts = vec![];
            if let Some(s) = latest {
                parts.push(format!("{} holds step {s}", run.checkpoint_file(Weights::Latest).display()));
            }
            if let Some(d) = best {
                parts.push(format!("{} holds the best dev loss, {d:.4}", run.checkpoint_file(Weights::Best).display()));
            }
            format!(
                "The last good weights are kept: {}; `trainer export --run {dir}` writes their model files \
                 (--best for the best). To train further, start again with a lower --lr (--resume keeps the \
                 run's rate).",
                parts.join(", and ")
            )
        }
    };
    anyhow::anyhow!("training stopped at step {step}: {what} (lr {lr}). {kept}")
}

/// Draws minibatches of a split: `batch_size` examples chosen uniformly with replacement
/// from a PCG32 (as the lectures' `torch.randint`), or the whole split every step.
#[derive(Debug)]
pub struct Batcher<'a, B: Backend> {
    ex: &'a Examples,
    device: B::Device,
    full: Option<(Tensor<B, 2, Int>, Tensor<B, 1, Int>)>,
    /// `[batch_size, block_size]` and `[batch_size]` staging buffers.
    bx: Vec<u8>,
    by: Vec<u8>,
}

impl<'a, B: Backend> Batcher<'a, B> {
    pub fn new(ex: &'a Examples, batch_size: usize, full_batch: bool, device: &B::Device) -> Self {
        let b = ex.block_size;
        let full =
            (full_batch || batch_size >= ex.len()).then(|| (ids_2d::<B>(&ex.x, b, device), ids_1d::<B>(&ex.y, device)));
        Self { ex, device: device.clone(), full, bx: vec![0; batch_size * b], by: vec![0; batch_size] }
    }

    pub fn next(&mut self, rng: &mut Pcg32) -> (Tensor<B, 2, Int>, Tensor<B, 1, Int>) {
        if let Some((x, y)) = &self.full {
            return (x.clone(), y.clone());
        }
        let (b, n) = (self.ex.block_size, self.ex.len() as u64);
        for (k, y) in self.by.iter_mut().enumerate() {
            let i = ((u64::from(rng.next_u32()) * n) >> 32) as usize;
            self.bx[k * b..(k + 1) * b].copy_from_slice(&self.ex.x[i * b..(i + 1) * b]);
            *y = self.ex.y[i];
        }
        (ids_2d::<B>(&self.bx, b, &self.device), ids_1d::<B>(&self.by, &self.device))
    }
}

/// The training objective: mean cross-entropy plus the model's penalty, if any.
pub fn loss_of<B: FusedOps, M: Net<B>>(model: &M, x: Tensor<B, 2, Int>, y: Tensor<B, 1, Int>) -> Tensor<B, 1> {
    let loss = fused::cross_entropy(model.logits(x), y);
    match model.penalty() {
        Some(p) => loss + p,
        None => loss,
    }
}

/// Plain SGD with the run's weight decay ([`crate::optim::Sgd`]: Burn's arithmetic, one pass
/// per parameter). The neural bigram's `weight_decay` is its penalty `reg * mean(W^2)` inside
/// the loss (the lecture's form), so SGD adds none for it.
pub fn sgd(cfg: &TrainConfig) -> Sgd {
    let decay = if cfg.model == ModelChoice::Mlp { cfg.weight_decay as f32 } else { 0.0 };
    Sgd::new(decay)
}

/// One optimisation step: draw a minibatch, compute the objective, read it, step. Returns
/// the updated model and the loss before the step.
pub fn sgd_step<B, M, O>(model: M, optim: &mut O, batcher: &mut Batcher<B>, rng: &mut Pcg32, lr: f64) -> (M, f32)
where
    B: AutodiffBackend + FusedOps,
    M: Net<B> + AutodiffModule<B>,
    O: Optimizer<M, B>,
{
    let (x, y) = batcher.next(rng);
    if model.dropout() > 0.0 {
        // The dropout masks of this step, from the run's RNG: reproducible, and resumable.
        B::seed(&batcher.device, u64::from(rng.next_u32()) << 32 | u64::from(rng.next_u32()));
    }
    let loss = loss_of(&model, x, y);
    let value: f32 = loss.clone().into_scalar().elem();
    let grads = GradientsParams::from_grads(loss.backward(), &model);
    (optim.step(lr, model, grads), value)
}

/// Trains in memory with `cfg`'s schedule and seed, without evaluation or checkpoints: for
/// tests and fixtures that need a small model in seconds.
pub fn fit<B, M>(mut model: M, cfg: &TrainConfig, train: &Examples, device: &B::Device) -> M
where
    B: AutodiffBackend + FusedOps,
    B::InnerBackend: FusedOps,
    M: Net<B> + AutodiffModule<B>,
{
    let mut optim = sgd(cfg);
    let mut rng = Pcg32::new(cfg.seed, 2);
    let mut batcher = Batcher::<B>::new(train, cfg.batch_size, false, device);
    for step in 0..cfg.steps {
        model = sgd_step(model, &mut optim, &mut batcher, &mut rng, cfg.lr_at(step)).0;
    }
    model
}

/// The lectures' learning-rate sweep: one SGD step per rate, rates spaced evenly in log10
/// from `lo` to `hi`; stops early once the loss is NaN or 4x its smallest value. Returns
/// (rate, minibatch loss) pairs.
pub fn lr_find<B, M>(
    mut model: M,
    train: &Examples,
    batch_size: usize,
    seed: u64,
    steps: usize,
    (lo, hi): (f64, f64),
    device: &B::Device,
) -> Vec<(f64, f64)>
where
    B: AutodiffBackend + FusedOps,
    B::InnerBackend: FusedOps,
    M: Net<B> + AutodiffModule<B>,
{
    let mut optim = Sgd::new(0.0);
    let mut rng = Pcg32::new(seed, 2);
    let mut batcher = Batcher::<B>::new(train, batch_size, false, device);
    let mut out = Vec::with_capacity(steps);
    let mut best = f64::INFINITY;
    for i in 0..steps {
        let t = i as f64 / (steps.max(2) - 1) as f64;
        let lr = 10f64.powf(lo.log10() + t * (hi.log10() - lo.log10()));
        let (next, value) = sgd_step(model, &mut optim, &mut batcher, &mut rng, lr);
        model = next;
        let value = f64::from(value);
        if !value.is_finite() || value > 4.0 * best {
            break;
        }
        best = best.min(value);
        out.push((lr, value));
    }
    out
}

/// The rate at the minimum of the exponentially smoothed loss (beta 0.98, bias-corrected):
/// where the lectures read the curve by eye.
pub fn suggest_lr(sweep: &[(f64, f64)]) -> Option<f64> {
    let (mut avg, mut best) = (0.0, None::<(f64, f64)>);
    for (i, &(lr, loss)) in sweep.iter().enumerate() {
        avg = 0.98 * avg + 0.02 * loss;
        let smooth = avg / (1.0 - 0.98f64.powi(i as i32 + 1));
        // Skip the first steps, where the smoothed value still reflects the initialisation.
        if i >= sweep.len() / 10 && best.is_none_or(|(_, b)| smooth < b) {
            best = Some((lr, smooth));
        }
    }
    best.map(|(lr, _)| lr)
}

/// Mean of the last `n` values (the lectures' smoothed loss).
pub fn mean_tail(v: &[f32], n: usize) -> f32 {
    let tail = &v[v.len().saturating_sub(n)..];
    tail.iter().sum::<f32>() / tail.len().max(1) as f32
}

/// A progress bar with step, loss and ETA on a terminal; hidden otherwise (CI logs).
pub fn progress(len: u64, quiet: bool) -> ProgressBar {
    use std::io::IsTerminal;
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    let style = ProgressStyle::with_template("{bar:30} {pos}/{len} steps  {msg}  {per_sec}  ETA {eta}")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}
