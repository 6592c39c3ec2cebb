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
