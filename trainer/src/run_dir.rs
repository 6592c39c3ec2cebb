//! A run directory (`out/mlp`, ...): the one place that knows its file names and keeps them
//! consistent. A run is its `config.toml` plus, for the neural models, `checkpoint.json` (the
//! latest weights with the configuration they were trained with) and `best.json`; then
//! `report.json`, the model files and the plots.
//!
//! Invariants: a new run first removes the files of the run it replaces (and says which), so
//! no file of an old run is ever paired with the new configuration; every reader gets the
//! configuration and checkpoint through [`RunDir::checkpoint`], which refuses a pair that
//! describes two different runs. Every write goes through [`write_atomic`].

use crate::checkpoint::{write_atomic, Checkpoint};
use crate::config::TrainConfig;
use anyhow::{bail, Context};
use runtime::Quant;
use std::path::{Path, PathBuf};

/// Which saved weights to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Weights {
    /// `checkpoint.json`: the latest.
    Latest,
    /// `best.json`: the best by dev loss.
    Best,
}

/// A run directory and its files.
#[derive(Clone, Debug)]
pub struct RunDir {
    dir: PathBuf,
}

/// The files a run writes, besides the model files (what a new run replaces).
const RUN_FILES: [&str; 8] = [
    "checkpoint.json",
    "best.json",
    "report.json",
    "config.toml",
    "loss.png",
    "embedding.png",
    "bigram-counts.png",
    // Where `lr-find` wrote its plot before it kept out of run directories.
    "lr-find.png",
];

impl RunDir {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// A file of the run (`name` relative to the directory).
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    pub fn config_file(&self) -> PathBuf {
        self.file("config.toml")
    }

    pub fn checkpoint_file(&self, which: Weights) -> PathBuf {
        self.file(match which {
            Weights::Latest => "checkpoint.json",
            Weights::Best => "best.json",
        })
    }

    pub fn report_file(&self) -> PathBuf {
        self.file("report.json")
    }

    /// The exported model file in `quant`.
    pub fn model_file(&self, quant: Quant) -> PathBuf {
        self.file(crate::export::file_name(quant))
    }

    /// Writes `bytes` to the run's file `name` atomically; returns its path.
    pub fn write(&self, name: &str, bytes: &[u8]) -> anyhow::Result<PathBuf> {
        let path = self.file(name);
        write_atomic(&path, bytes)?;
        Ok(path)
    }

    /// Starts a new run of `cfg` here: removes the files of whatever run was here before,
    /// passes them to `announce` (before `config.toml` is written: whoever sees the new
    /// configuration can also see what was replaced), and writes `config.toml`. Returns the
    /// files it removed.
    pub fn start(&self, cfg: &TrainConfig, announce: impl FnOnce(&[PathBuf])) -> anyhow::Result<Vec<PathBuf>> {
        std::fs::create_dir_all(&self.dir).with_context(|| format!("cannot create {}", self.dir.display()))?;
        let mut removed = vec![];
        let models = [Quant::F32, Quant::Int8].map(crate::export::file_name);
        // The checkpoints first: from here on no old weights can meet the new configuration.
        for name in RUN_FILES.iter().chain(models.iter()) {
            let path = self.file(name);
            if path.exists() {
                std::fs::remove_file(&path).with_context(|| format!("cannot remove {}", path.display()))?;
                removed.push(path);
            }
        }
        removed.extend(self.remove_temporaries()?);
        announce(&removed);
        self.save_config(cfg)?;
        Ok(removed)
    }

    /// Removes the temporary files that a killed run left behind (a write it did not finish:
    /// `write_atomic`'s `.tmpXXXXXX` and the plots' `.NAME.PID.tmp.png`); returns them. Only
    /// a run owns its directory, so no other writer can be using them.
    pub fn remove_temporaries(&self) -> anyhow::Result<Vec<PathBuf>> {
        let mut removed = vec![];
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(removed),
            Err(e) => return Err(e).with_context(|| format!("cannot list {}", self.dir.display())),
        };
        for entry in entries {
            let entry = entry.with_context(|| format!("cannot list {}", self.dir.display()))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if is_temporary(name) && entry.file_type().is_ok_and(|t| t.is_file()) {
                let path = entry.path();
                std::fs::remove_file(&path).with_context(|| format!("cannot remove {}", path.display()))?;
                removed.push(path);
            }
        }
        Ok(removed)
    }

    /// Writes `config.toml` (a resumed run's, with its new step count).
    pub fn save_config(&self, cfg: &TrainConfig) -> anyhow::Result<()> {
        write_atomic(&self.config_file(), toml::to_string(cfg)?.as_bytes())
    }

    /// The run's configuration from `config.toml`, checked against its checkpoint when it has
    /// one.
    pub fn config(&self) -> anyhow::Result<TrainConfig> {
        let cfg = self.read_config()?;
        if self.checkpoint_file(Weights::Latest).exists() {
            // Loading checks the pair.
            return Ok(self.checkpoint(Weights::Latest)?.config);
        }
        Ok(cfg)
    }

    /// The saved weights with the configuration they were trained with, after checking that
    /// `config.toml` describes the same run (only the step count may differ: a resumed run
    /// extends it before its next checkpoint).
    pub fn checkpoint(&self, which: Weights) -> anyhow::Result<Checkpoint> {
        let path = self.checkpoint_file(which);
        if !path.exists() {
            bail!(
                "{} has no {}: it is not a neural training run, or its training stopped before the first \
                 checkpoint; train it (again) with `trainer train --out ...`",
                self.dir.display(),
                path.file_name().and_then(|n| n.to_str()).unwrap_or("checkpoint")
            );
        }
        let ck = Checkpoint::load(&path)?;
        let cfg = self.read_config()?;
        let differ = differences(&cfg, &ck.config);
        if !differ.is_empty() {
            bail!(
                "{} and {} describe different runs ({}): the last run into {} stopped before its first \
                 checkpoint; train it again, or delete the directory",
                self.config_file().display(),
                path.display(),
                differ.join(", "),
                self.dir.display()
            );
        }
        Ok(ck)
    }

    fn read_config(&self) -> anyhow::Result<TrainConfig> {
        let path = self.config_file();
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("{} is not a training run directory (no config.toml)", self.dir.display()))?;
        toml::from_str(&text).with_context(|| format!("{} is corrupt; train the run again", path.display()))
    }
}

/// Whether `name` is one of the temporary files the trainer writes before renaming them into
/// place: tempfile's `.tmp` followed by six random characters, or a plot's `.NAME.PID.tmp.png`.
fn is_temporary(name: &str) -> bool {
    let tempfile =
        name.strip_prefix(".tmp").is_some_and(|r| r.len() == 6 && r.chars().all(|c| c.is_ascii_alphanumeric()));
    tempfile || (name.starts_with('.') && name.ends_with(".tmp.png"))
}

/// The settings in which `a` and `b` differ, as `name a vs b` (the step count excluded).
fn differences(a: &TrainConfig, b: &TrainConfig) -> Vec<String> {
    let (Ok(ta), Ok(tb)) = (toml::Table::try_from(a), toml::Table::try_from(b)) else {
        return vec!["(unreadable)".into()];
    };
    let mut out = vec![];
    for (key, va) in &ta {
        if key == "steps" {
            continue;
        }
        match tb.get(key) {
            Some(vb) if vb == va => {}
            Some(vb) => out.push(format!("{key} {va} vs {vb}")),
            None => out.push(format!("{key} {va} vs none")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ModelChoice, Preset};

    #[test]
    fn a_config_and_a_checkpoint_of_different_runs_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path().join("mlp"));
        let old = TrainConfig { n_hidden: 16, ..TrainConfig::preset(ModelChoice::Mlp, Preset::Flat) };
        run.start(&old, |_| {}).unwrap();
        let ck = Checkpoint::new(old.clone(), ".ab".into(), 10, (1, 2), crate::model::Params { tensors: vec![] });
        ck.save(&run.checkpoint_file(Weights::Latest)).unwrap();
        assert_eq!(run.checkpoint(Weights::Latest).unwrap().config, old);
        // A longer resumed run is the same run.
        run.save_config(&TrainConfig { steps: 500_000, ..old.clone() }).unwrap();
        assert!(run.checkpoint(Weights::Latest).is_ok());
        // Another run's configuration beside the old checkpoint: refused by name.
        run.save_config(&TrainConfig { n_hidden: 300, ..old.clone() }).unwrap();
        let err = run.checkpoint(Weights::Latest).unwrap_err().to_string();
        assert!(err.contains("n_hidden 300 vs 16"), "{err}");
        assert!(run.config().is_err());
        // A new run removes the old one's files first.
        std::fs::write(run.file("best.json"), "{}").unwrap();
        let removed = run.start(&TrainConfig { n_hidden: 300, ..old }, |_| {}).unwrap();
        assert_eq!(removed.len(), 3, "{removed:?}"); // checkpoint.json, best.json, config.toml
        assert!(!run.checkpoint_file(Weights::Latest).exists());
        assert_eq!(run.config().unwrap().n_hidden, 300);
    }

    #[test]
    fn a_run_removes_the_temporary_files_of_a_killed_one_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path().join("mlp"));
        assert!(run.remove_temporaries().unwrap().is_empty()); // no directory yet
        std::fs::create_dir_all(run.path()).unwrap();
        let stale = [".tmpAb3xZ9", ".loss.png.4242.tmp.png"];
        let kept = ["notes.txt", ".tmp", ".tmpfile-of-mine.txt", "data.tmp.png"];
        for name in stale.iter().chain(&kept) {
            std::fs::write(run.file(name), "x").unwrap();
        }
        let removed = run.start(&TrainConfig::preset(ModelChoice::Mlp, Preset::Flat), |_| {}).unwrap();
        assert_eq!(removed.len(), 2, "{removed:?}");
        assert!(stale.iter().all(|n| !run.file(n).exists()));
        assert!(kept.iter().all(|n| run.file(n).exists()));
    }
}
