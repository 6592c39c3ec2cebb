//! Checkpoints: everything needed to continue a run exactly (weights, step, RNG state, loss
//! history, best dev loss) in one JSON file, written atomically.

use crate::config::TrainConfig;
use crate::model::Params;
use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;

const KIND: &str = "makemore-embedded checkpoint";
const VERSION: u32 = 1;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Checkpoint {
    pub kind: String,
    pub version: u32,
    pub config: TrainConfig,
    /// The vocabulary in id order (the runtime's format).
    pub vocab: String,
    /// Steps completed.
    pub step: usize,
    /// PCG32 state and increment of the minibatch sampler.
    pub rng: (u64, u64),
    pub best_dev: Option<f64>,
    /// Training loss of every step so far.
    pub losses: Vec<f32>,
    /// The dev loss of the untrained model: a dev loss above it later means the run diverged.
    /// (Absent in checkpoints written before it existed.)
    #[serde(default)]
    pub start_dev: Option<f64>,
    /// `(step, dev loss)` of every evaluation so far (the dev series of `loss.png`).
    #[serde(default)]
    pub dev_losses: Vec<(usize, f64)>,
    pub params: Params,
    /// The running sum of the averaged weights ([`TrainConfig::average`]; absent when the run
    /// does not average, and in checkpoints written before averaging existed).
    #[serde(default)]
    pub average: Option<Average>,
}

/// The running sum of a run's averaged weights.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Average {
    /// The first step the average may hold.
    pub from: usize,
    /// Weights added so far.
    pub count: usize,
    /// Per tensor of the weights, in their order, the sum of its values.
    pub sums: Vec<Vec<f64>>,
}

impl Average {
    pub fn new(from: usize) -> Self {
        Self { from, count: 0, sums: vec![] }
    }

    /// Adds `p`'s values (the first call sets the tensors' sizes).
    pub fn add(&mut self, p: &Params) {
        if self.sums.is_empty() {
            self.sums = p.tensors.iter().map(|t| vec![0.0; t.values.len()]).collect();
        }
        for (sum, t) in self.sums.iter_mut().zip(&p.tensors) {
            for (s, &v) in sum.iter_mut().zip(&t.values) {
                *s += f64::from(v);
            }
        }
        self.count += 1;
    }

    /// The mean, with the names and shapes of `like` (the same model's weights). Batch norm's
    /// running statistics are averaged like the rest.
    pub fn mean(&self, like: &Params) -> anyhow::Result<Params> {
        anyhow::ensure!(
            self.count > 0 && self.sums.len() == like.tensors.len(),
            "the checkpoint's weight average does not match its weights; delete the checkpoint to start over"
        );
        let n = self.count as f64;
        let mut out = like.clone();
        for (t, sum) in out.tensors.iter_mut().zip(&self.sums) {
            anyhow::ensure!(
                sum.len() == t.values.len(),
                "the checkpoint's weight average of {} has the wrong size",
                t.name
            );
            for (v, &s) in t.values.iter_mut().zip(sum) {
                *v = (s / n) as f32;
            }
        }
        Ok(out)
    }
}

impl Checkpoint {
    pub fn new(config: TrainConfig, vocab: String, step: usize, rng: (u64, u64), params: Params) -> Self {
        Self {
            kind: KIND.into(),
            version: VERSION,
            config,
            vocab,
            step,
            rng,
            best_dev: None,
            losses: vec![],
            start_dev: None,
            dev_losses: vec![],
            params,
            average: None,
        }
    }

    /// The run's model: the average of its weights when it averages and has added some
    /// ([`TrainConfig::average`]), otherwise the weights of its last step.
    pub fn model_params(&self) -> anyhow::Result<Params> {
        match &self.average {
            Some(a) if a.count > 0 => a.mean(&self.params),
            _ => Ok(self.params.clone()),
        }
    }

    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        write_atomic(path, &serde_json::to_vec(self)?)
    }

    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let bytes = std::fs::read(path).with_context(|| format!("cannot read checkpoint {}", path.display()))?;
        let ck: Self = serde_json::from_slice(&bytes).with_context(|| {
            format!("checkpoint {} is corrupt or not a checkpoint; delete it to start over", path.display())
        })?;
        if ck.kind != KIND || ck.version != VERSION {
            bail!("{} is a {:?} version {}, not a {KIND} version {VERSION}", path.display(), ck.kind, ck.version);
        }
        Ok(ck)
    }
}

/// Writes `bytes` to a temporary file beside `path`, syncs it, then renames it over `path`:
/// a reader (or a crash) sees the old file or the new one, never half of one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).with_context(|| format!("cannot write in {}", dir.display()))?;
    tmp.write_all(bytes)?;
    #[cfg(unix)]
    {
        // Temporary files are created private (0600); the result is an ordinary output file.
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file().set_permissions(std::fs::Permissions::from_mode(0o644))?;
    }
    tmp.as_file().sync_all()?;
    tmp.persist(path).with_context(|| format!("cannot replace {}", path.display()))?;
    sync_dir(dir)
}

/// Renames the finished file `tmp` over `path` (same directory) as [`write_atomic`] does:
/// the file's data is synced first, the directory entry after.
pub fn persist_file(tmp: &Path, path: &Path) -> anyhow::Result<()> {
    std::fs::File::open(tmp)?.sync_all()?;
    std::fs::rename(tmp, path).with_context(|| format!("cannot replace {}", path.display()))?;
    sync_dir(path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new(".")))
}

/// Makes a rename in `dir` durable: without this a crash can lose the new directory entry
/// even though the file's data was synced.
fn sync_dir(dir: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("cannot sync directory {}", dir.display()))?;
    #[cfg(not(unix))]
    let _ = dir; // directories cannot be opened for syncing on Windows; the rename is atomic
    Ok(())
}
