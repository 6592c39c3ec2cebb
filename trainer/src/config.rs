//! Training configuration: one struct, saved beside the weights so every run can be
//! reproduced, loadable from TOML, overridable by flags. Field names match the flags
//! (`--n-embd` sets `n_embd`) and the model file header.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Which model to train.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ModelChoice {
    /// Counts of symbol pairs with additive smoothing (no gradient descent).
    Bigram,
    /// One-hot x W, softmax: the bigram learned by full-batch gradient descent.
    NnBigram,
    /// Bengio et al. 2003: embedding, concatenated context, tanh hidden layer, logits.
    Mlp,
}

/// Named MLP shapes and schedules, by the flash their int8 file takes: each is the best
/// configuration measured for its budget (BENCHMARKS.md, "Names per byte"), and `lecture`
/// is the lectures' exact recipe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// int8 file <= 4 KB: 4-symbol context merged in pairs (WaveNet-style), n_embd 8, n_hidden 28, batch norm, cosine schedule, 1.6M steps (3,183 parameters).
    Tiny,
    /// int8 file <= 16 KB: 8-symbol context merged in pairs over three layers (WaveNet-style), n_embd 8, n_hidden 48, batch norm, weight decay, cosine schedule, 300k steps (11,955 parameters).
    Default,
    /// int8 file <= 16 KB in about 2 KB of RAM: the flat MLP, 6-symbol context, n_embd 8, n_hidden 128, weight decay (9,971 parameters; the default until the hierarchy streamed).
    Flat,
    /// int8 file <= 64 KB: 8-symbol context, n_embd 24, two hidden layers of 150, weight decay, dropout, cosine schedule, 800k steps, the last quarter's weights averaged, the temperature calibrated on dev (56,325 parameters).
    Large,
    /// The lectures' recipe: 3-symbol context, n_embd 10, n_hidden 200, batch 32, lr 0.1 then 0.01 (11,897 parameters).
    Lecture,
}

/// How the learning rate falls over a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Schedule {
    /// `lr`, multiplied by `lr_decay` at each of `lr_milestones` (the lectures' schedule).
    #[default]
    Step,
    /// Half a cosine from `lr` at step 0 to `lr * lr_decay^2` at the last step (the step
    /// schedule's final rate with two milestones). It is relative to `steps`, so extending a
    /// run with `--resume --steps N` stretches what is left of it.
    Cosine,
}

/// Every setting of a training run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    pub model: ModelChoice,
    /// Line-per-word UTF-8 file.
    pub data: PathBuf,
    /// Drop the data's unusable lines (holding the boundary symbol, or not UTF-8) instead of
    /// refusing the file; how many and where is reported.
    pub skip_bad_lines: bool,
    /// Keep only the first occurrence of each word (makemore keeps repeats; in
    /// `data/names.txt` 12% of the lines repeat an earlier name).
    pub dedup: bool,
    /// Seeds the split shuffle, the initialisation and the minibatches.
    pub seed: u64,
    /// Bigram counts: added to every count before normalising.
    pub smoothing: f64,
    /// Context length in symbols.
    pub block_size: usize,
    /// Embedding width.
    pub n_embd: usize,
    /// Hidden layer width.
    pub n_hidden: usize,
    /// Hidden layers of a flat MLP (the first reads every position; the others are
    /// `n_hidden -> n_hidden`). 1 is Bengio's MLP.
    pub n_layers: usize,
    /// 0: a flat MLP. `m >= 2`: the WaveNet-style hierarchy, each hidden layer concatenating
    /// `m` consecutive positions (`block_size` must be a power of `m`).
    pub merge: usize,
    /// Batch norm after each hidden linear layer (folded into it at export).
    pub batch_norm: bool,
    /// Dropout after each hidden layer's tanh while training (the file holds the plain layer).
    pub dropout: f64,
    /// Minibatch size (the neural bigram always uses the full batch).
    pub batch_size: usize,
    /// Optimisation steps.
    pub steps: usize,
    /// Initial learning rate of SGD (the presets: 0.2, falling on their schedule).
    pub lr: f64,
    /// Step decay: the learning rate is multiplied by `lr_decay` from each of these steps on
    /// (the default [100000, 150000] with 0.1: 0.1, then 0.01, then 0.001). Absolute steps, so
    /// extending a run with `--resume --steps N` keeps its schedule.
    pub lr_milestones: Vec<usize>,
    pub lr_decay: f64,
    /// Step decay at the milestones, or a cosine over `steps`.
    pub schedule: Schedule,
    /// Kaiming-style init: W1 scaled by (5/3)/sqrt(fan_in), small b1, W2 x 0.01, b2 = 0.
    /// Off: plain N(0, 1) for every parameter, as in the first lecture.
    pub scaled_init: bool,
    /// L2 penalty: SGD weight decay for the MLP; `reg * mean(W^2)` for the neural bigram.
    pub weight_decay: f64,
    /// Evaluate the full dev split every this many steps (0: only at the end).
    pub eval_every: usize,
    /// Write a checkpoint every this many steps (0: only at the end).
    pub checkpoint_every: usize,
    /// Weight averaging (Polyak): the run's model is the mean of its weights at every
    /// [`AVERAGE_EVERY`]th step of the last `average` fraction of the run, the last step's
    /// included (0: the last step's weights alone). The checkpoints carry the running sum.
    pub average: f64,
    /// Fit a temperature for the logits on the dev split and fold it into the output layer
    /// ([`crate::calibrate`]; the MLP only): the exported model's dev NLL is the lowest any
    /// temperature gives its weights.
    pub calibrate: bool,
}

/// Steps between the weights [`TrainConfig::average`] adds to its mean.
pub const AVERAGE_EVERY: usize = 100;

impl Default for TrainConfig {
    fn default() -> Self {
        Self::preset(ModelChoice::Mlp, Preset::Default)
    }
}

impl ModelChoice {
    /// The run's directory name under `--out`, and the name in reports.
    pub fn dir_name(self) -> &'static str {
        match self {
            ModelChoice::Bigram => "bigram",
            ModelChoice::NnBigram => "nn-bigram",
            ModelChoice::Mlp => "mlp",
        }
    }
}

impl TrainConfig {
    /// How this run loads its data.
    pub fn load_options(&self) -> crate::data::LoadOptions {
        crate::data::LoadOptions { skip_bad_lines: self.skip_bad_lines, dedup: self.dedup }
    }

    /// The starting configuration for a model and preset, before the config file and flags.
    pub fn preset(model: ModelChoice, preset: Preset) -> Self {
        let base = Self {
            model,
            data: default_data_path(),
            skip_bad_lines: false,
            dedup: false,
            seed: 42,
            smoothing: 1.0,
            block_size: 3,
            n_embd: 10,
            n_hidden: 200,
            n_layers: 1,
            merge: 0,
            batch_norm: false,
            dropout: 0.0,
            // Batch 64 at lr 0.2 (twice the lecture's 32 at 0.1): dev 2.091 vs 2.100 for the
            // lecture's shape on the classic names.txt after the same 200k steps.
            batch_size: 64,
            steps: 200_000,
            lr: 0.2,
            lr_milestones: vec![100_000, 150_000],
            lr_decay: 0.1,
            schedule: Schedule::Step,
            scaled_init: true,
            weight_decay: 0.0,
            eval_every: 10_000,
            checkpoint_every: 10_000,
            average: 0.0,
            calibrate: false,
        };
        match (model, preset) {
            (ModelChoice::Bigram, _) => Self { block_size: 1, n_embd: 0, n_hidden: 0, steps: 0, ..base },
            // The lecture: lr 50, 0.01 * mean(W^2), 200 full-batch steps.
            (ModelChoice::NnBigram, _) => Self {
                block_size: 1,
                n_embd: 0,
                n_hidden: 0,
                steps: 200,
                lr: 50.0,
                lr_milestones: vec![],
                weight_decay: 0.01,
                scaled_init: false,
                eval_every: 0,
                checkpoint_every: 0,
                ..base
            },
            // Every figure below: the classic 32,033-name list, seed 42, dev loss of the f32
            // model; the runs and what else was tried are in BENCHMARKS.md.
            //
            // Under 4 KB the context is worth more than width: pairs of symbols merged first
            // (block 4, merge 2) give dev 2.151 in 3,974 bytes after 100k steps; a flat
            // 3-symbol MLP of the same size 2.179, a flat 4-symbol one 2.159. After 200k
            // steps: 2.147, and 2.140 with batch norm and weight decay 1e-4 (batch norm is
            // folded into the layers at export: the same bytes).
            // The cosine schedule and more steps (issue 19): 2.1318 after 400k steps, 2.1308
            // after 800k (2.1302 at lr 0.3), 2.1284 after 1.6M (1.2M at lr 0.3: 2.1310).
            (ModelChoice::Mlp, Preset::Tiny) => Self {
                block_size: 4,
                merge: 2,
                n_embd: 8,
                n_hidden: 28,
                batch_norm: true,
                weight_decay: 1e-4,
                schedule: Schedule::Cosine,
                steps: 1_600_000,
                ..base
            },
            // The WaveNet-style hierarchy with batch norm is the lowest loss found under 16 KB
            // (dev 2.032 in 13,202 bytes after 200k steps with the step schedule; 2.031 after
            // 300k; the cosine schedule over 300k steps: 2.026 in 13,316 bytes). Streamed (one
            // output per layer per symbol) it costs 19,839 instructions per symbol on the M4F
            // and 59,157 on the M0 (recomputed: 31,546 and 97,968). n_hidden 46 saves 4% of
            // them but loses 0.006 (2.033); 48 is the widest under 20,000 on the M4F. Its
            // price is RAM: the rings of recent outputs (1,204 bytes of scratch).
            (ModelChoice::Mlp, Preset::Default) => Self {
                block_size: 8,
                merge: 2,
                n_embd: 8,
                n_hidden: 48,
                batch_norm: true,
                weight_decay: 1e-4,
                schedule: Schedule::Cosine,
                steps: 300_000,
                ..base
            },
            // A 6-symbol context with a narrower embedding beats the lecture's shape in fewer
            // bytes and instructions: dev 2.045 in 11,362 bytes against 2.091 in 13,853.
            // Weight decay 1e-4 is worth 0.014 (n_hidden 140: 2.059 without, 2.046 with 5e-5,
            // 2.040 with 1e-4, 2.041 with 2e-4). n_hidden 128 rather than 140 costs 0.005 of
            // dev loss and keeps a symbol under 20,000 instructions on the M4F (18,925
            // against 20,420). Batch norm does not help this flat shape (2.047). Nothing to
            // stream: its firmware fits 24 KB of flash and 2 KB of RAM.
            (ModelChoice::Mlp, Preset::Flat) => {
                Self { block_size: 6, n_embd: 8, n_hidden: 128, weight_decay: 1e-4, ..base }
            }
            // An 8-symbol context overfits (n_hidden 200, no regularisation: train 1.73, dev
            // 2.080). One hidden layer of 250 with weight decay 1e-4: 1.990 after 100k steps,
            // 1.984 after 400k with 2e-4; dropout 0.1 is worth 0.02 more (1.962; 0.05: 1.963,
            // 0.15-0.2: 1.969-1.972); two layers of 150 with both: 1.960 after 400k steps,
            // 1.955 after 800k (two of 160, 600k: 1.957 in 64,394 bytes); with the cosine
            // schedule over the 800k steps, 1.954. Less dropout and more weight decay, 0.05
            // and 1.5e-4: 1.948 (0.07: 1.950; 0.03: 1.960; weight decay 1e-4 or 2e-4 with
            // 0.05: 1.956, 1.951; no dropout: 2.051). It still overfits, and is overconfident:
            // the mean of the last quarter's weights (1.946) with a temperature fitted on dev
            // and folded into the output layer (`calibrate`, T = 1.05) gives 1.9448 (test 1.9537).
            (ModelChoice::Mlp, Preset::Large) => Self {
                block_size: 8,
                n_embd: 24,
                n_hidden: 150,
                n_layers: 2,
                steps: 800_000,
                lr_milestones: vec![400_000, 600_000],
                schedule: Schedule::Cosine,
                weight_decay: 1.5e-4,
                dropout: 0.05,
                average: 0.25,
                calibrate: true,
                ..base
            },
            // The lecture: batch 32, lr 0.1 for 100k steps then 0.01.
            (ModelChoice::Mlp, Preset::Lecture) => {
                Self { batch_size: 32, lr: 0.1, lr_milestones: vec![100_000], ..base }
            }
        }
    }

    /// The first step whose weights join the average (`None`: the run does not average):
    /// the last `average` fraction of the steps, at least the last step.
    pub fn average_from(&self) -> Option<usize> {
        (self.average > 0.0).then(|| {
            let tail = ((self.average * self.steps as f64).ceil() as usize).clamp(1, self.steps.max(1));
            self.steps.saturating_sub(tail) + 1
        })
    }

    /// Whether the weights after `step` steps join the average: every [`AVERAGE_EVERY`]th
    /// step of the tail, and the last.
    pub fn averages(&self, step: usize) -> bool {
        self.average_from()
            .is_some_and(|from| step >= from && (step.is_multiple_of(AVERAGE_EVERY) || step == self.steps))
    }

    /// The learning rate at `step` under the run's schedule.
    pub fn lr_at(&self, step: usize) -> f64 {
        match self.schedule {
            Schedule::Step => {
                let n = self.lr_milestones.iter().filter(|&&m| step >= m).count();
                self.lr * self.lr_decay.powi(n as i32)
            }
            Schedule::Cosine => {
                let end = self.lr * self.lr_decay.powi(2);
                let t = step.min(self.steps) as f64 / self.steps.max(1) as f64;
                end + 0.5 * (self.lr - end) * (1.0 + (std::f64::consts::PI * t).cos())
            }
        }
    }

    /// Checks the settings that would otherwise fail deep inside training.
    pub fn validate(&self) -> anyhow::Result<()> {
        use anyhow::ensure;
        if self.model == ModelChoice::Mlp {
            ensure!(self.block_size >= 1, "block_size must be at least 1 (got {})", self.block_size);
            ensure!(self.n_embd >= 1, "n_embd must be at least 1 (got {})", self.n_embd);
            ensure!(self.n_hidden >= 1, "n_hidden must be at least 1 (got {})", self.n_hidden);
            ensure!(self.batch_size >= 1, "batch_size must be at least 1");
            ensure!(self.n_layers >= 1, "n_layers must be at least 1 (got {})", self.n_layers);
            ensure!(self.merge != 1, "merge must be 0 (a flat MLP) or at least 2 (got 1)");
            if self.merge >= 2 {
                let mut p = self.block_size;
                while p > 1 && p.is_multiple_of(self.merge) {
                    p /= self.merge;
                }
                ensure!(
                    p == 1 && self.block_size > 1,
                    "with merge {m}, block_size must be a power of {m} (got {})",
                    self.block_size,
                    m = self.merge
                );
                ensure!(self.n_layers == 1, "n_layers is for flat MLPs; with merge the depth is log_merge(block_size)");
            }
            ensure!(
                self.n_layers < runtime::MAX_LAYERS
                    && (self.merge < 2 || self.block_size <= 1 << (runtime::MAX_LAYERS - 1)),
                "at most {} layers fit a model file (logits included)",
                runtime::MAX_LAYERS
            );
        }
        ensure!(self.lr.is_finite() && self.lr > 0.0, "lr must be a positive number (got {})", self.lr);
        ensure!(self.smoothing >= 0.0, "smoothing must be >= 0 (got {})", self.smoothing);
        ensure!(
            (0.0..1.0).contains(&self.dropout),
            "dropout must be in [0, 1) (got {}): it is the probability of zeroing a hidden unit",
            self.dropout
        );
        ensure!(self.weight_decay >= 0.0, "weight_decay must be >= 0 (got {})", self.weight_decay);
        ensure!(
            (0.0..=1.0).contains(&self.average),
            "average must be in [0, 1] (got {}): the fraction of the run, at its end, whose weights are averaged",
            self.average
        );
        ensure!(
            !self.calibrate || self.model == ModelChoice::Mlp,
            "calibrate applies to the mlp (the output layer's temperature); the {} has none",
            self.model.dir_name()
        );
        Ok(())
    }
}

/// `data/names.txt` in the current directory, or the workspace's copy when run from elsewhere.
pub fn default_data_path() -> PathBuf {
    let local = PathBuf::from("data/names.txt");
    if local.exists() {
        local
    } else {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../data/names.txt"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn averaging_takes_every_hundredth_step_of_the_tail_and_the_last() {
        let mut cfg = TrainConfig { steps: 1_050, ..TrainConfig::preset(ModelChoice::Mlp, Preset::Flat) };
        assert_eq!(cfg.average_from(), None);
        assert!(!(1..=1_050).any(|s| cfg.averages(s)));
        cfg.average = 0.5;
        // The last 525 steps: 526..=1050.
        assert_eq!(cfg.average_from(), Some(526));
        let steps: Vec<usize> = (1..=1_050).filter(|&s| cfg.averages(s)).collect();
        assert_eq!(steps, [600, 700, 800, 900, 1_000, 1_050]);
        cfg.average = 1e-9;
        assert_eq!(cfg.average_from(), Some(1_050), "at least the last step");
        cfg.average = 1.0;
        assert_eq!(cfg.average_from(), Some(1));
        cfg.average = 1.5;
        assert!(cfg.validate().is_err());
    }

    #[test]
    fn step_schedule_decays_at_each_milestone() {
        let cfg = TrainConfig::preset(ModelChoice::Mlp, Preset::Flat);
        let lrs: Vec<f64> = [0, 99_999, 100_000, 149_999, 150_000, 199_999].map(|s| cfg.lr_at(s)).to_vec();
        let want = [0.2, 0.2, 0.02, 0.02, 0.002, 0.002];
        assert!(lrs.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-12), "{lrs:?}");
    }

    #[test]
    fn cosine_schedule_falls_from_lr_to_lr_times_decay_squared() {
        let cfg = TrainConfig { schedule: Schedule::Cosine, ..TrainConfig::preset(ModelChoice::Mlp, Preset::Flat) };
        let (start, end) = (cfg.lr, cfg.lr * cfg.lr_decay * cfg.lr_decay);
        assert!((cfg.lr_at(0) - start).abs() < 1e-12);
        assert!((cfg.lr_at(cfg.steps) - end).abs() < 1e-12);
        assert!((cfg.lr_at(cfg.steps / 2) - (start + end) / 2.0).abs() < 1e-12);
        let lrs: Vec<f64> = (0..=cfg.steps).step_by(1000).map(|s| cfg.lr_at(s)).collect();
        assert!(lrs.windows(2).all(|w| w[1] < w[0]), "not strictly falling");
        // Past the end (a resumed run extended without --steps) it stays at the end.
        assert!((cfg.lr_at(cfg.steps + 5000) - end).abs() < 1e-12);
    }
}
