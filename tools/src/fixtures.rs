//! The golden fixtures. Training is deterministic (host-side PCG32 initialisation and
//! minibatches; Burn's flex backend gives identical results run to run), so running
//! `cargo run -p tools --bin make-fixtures` reproduces the committed files byte for byte; a
//! test checks that.

use anyhow::Context;
use burn::backend::{flex::FlexDevice, Autodiff, Flex};
use runtime::{Model, Network, Pcg32, Quant, SampleConfig, Scratch, Temperature, MAX_LEN};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use trainer::checkpoint::write_atomic;
use trainer::config::{ModelChoice, Preset, TrainConfig};
use trainer::data::{Dataset, Examples};
use trainer::export::{encode_model, Source};
use trainer::model::mlp::MlpConfig;
use trainer::model::Net;

/// Which tiny model a fixture holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The tiny MLP (3-symbol context, one hidden layer).
    Plain,
    /// Its twin trained on a word list with two-byte symbols (`accented`).
    Accents,
    /// The WaveNet-style layer stack: 4 symbols merged in pairs over two hidden layers, batch
    /// norm folded in at export.
    Wavenet,
}

/// The fixture files, next to `golden.json`: the tiny MLP in both number formats, its
/// accented twin and the layer stack as integer models.
pub const FILES: [(&str, Quant, Kind); 4] = [
    ("tiny-f32.mkmr", Quant::F32, Kind::Plain),
    ("tiny-int8.mkmr", Quant::Int8, Kind::Plain),
    ("tiny-accents-int8.mkmr", Quant::Int8, Kind::Accents),
    ("tiny-wavenet-int8.mkmr", Quant::Int8, Kind::Wavenet),
];

/// Sampling settings the golden names are recorded for: (seed, temperature in thousandths,
/// top_k). At 4 the tiny models make names of up to 32 symbols, past 32 bytes with two-byte
/// symbols.
pub const SETTINGS: [(u64, u32, usize); 5] = [(42, 1000, 0), (7, 800, 5), (1, 0, 0), (3, 1500, 0), (5, 4000, 0)];

/// Names per golden entry.
pub const N_NAMES: usize = 20;

/// One golden entry: this file, sampled with these settings, gives these names.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Golden {
    pub file: String,
    pub seed: u64,
    /// Thousandths (800 = 0.8).
    pub temperature_milli: u32,
    pub top_k: usize,
    pub names: Vec<String>,
}

/// The committed fixture directory.
pub fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

/// The tiny model's settings: 1,000 names, 3-symbol context, n_embd 4, n_hidden 16.
pub fn config() -> TrainConfig {
    TrainConfig {
        data: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data/names.txt"),
        block_size: 3,
        n_embd: 4,
        n_hidden: 16,
        batch_size: 64,
        lr: 0.2,
        weight_decay: 0.0,
        steps: 2000,
        lr_milestones: vec![1500],
        ..TrainConfig::preset(ModelChoice::Mlp, Preset::Flat)
    }
}

/// A name with some letters made two-byte symbols, deterministically: 'e' at odd positions
/// becomes 'é', 'o' after 'r' becomes 'ö', and "ss" becomes 'ß' (as in French and German
/// word lists).
pub fn accented(name: &str) -> String {
    let mut out = String::new();
    let mut prev = ' ';
    for (i, c) in name.replace("ss", "ß").chars().enumerate() {
        out.push(match c {
            'e' if i % 2 == 1 => 'é',
            'o' if prev == 'r' => 'ö',
            c => c,
        });
        prev = c;
    }
    out
}

/// The layer-stack fixture's settings: 4 symbols merged in pairs, n_embd 4, n_hidden 10,
/// batch norm.
pub fn wavenet_config() -> TrainConfig {
    TrainConfig { block_size: 4, merge: 2, n_hidden: 10, batch_norm: true, ..config() }
}

/// Trains the tiny models and returns the fixture files.
pub fn train_models() -> anyhow::Result<Vec<(&'static str, Vec<u8>)>> {
    let plain = train(Kind::Plain)?;
    let accents = train(Kind::Accents)?;
    let wavenet = train(Kind::Wavenet)?;
    FILES
        .iter()
        .map(|&(name, quant, kind)| {
            let (vocab, params, shape) = match kind {
                Kind::Plain => &plain,
                Kind::Accents => &accents,
                Kind::Wavenet => &wavenet,
            };
            let card = "fixture: tiny MLP from tools/src/fixtures.rs (cargo run -p tools --bin make-fixtures)";
            Ok((name, encode_model(vocab, &Source::Mlp { shape: *shape, params }, quant, card)?.0))
        })
        .collect()
}

/// A tiny model trained on the first 1,000 names: (vocab, weights, shape).
fn train(kind: Kind) -> anyhow::Result<(String, trainer::model::Params, MlpConfig)> {
    type B = Autodiff<Flex>;
    let cfg = if kind == Kind::Wavenet { wavenet_config() } else { config() };
    let accent = kind == Kind::Accents;
    let all = Dataset::load(&cfg.data)?;
    let words: Vec<String> = all.words.into_iter().take(1000).map(|w| if accent { accented(&w) } else { w }).collect();
    let ds = Dataset { vocab: trainer::data::Vocab::from_words(&words), words };
    let split = ds.split(cfg.seed);
    let train = Examples::build(&split.train, &ds.vocab, cfg.block_size);
    let shape = MlpConfig::new(&cfg, ds.vocab.len());
    let device = FlexDevice;
    let model = shape.load::<B>(&shape.init_params(true, &mut Pcg32::new(cfg.seed, 1)), &device)?;
    let model = trainer::training::fit(model, &cfg, &train, &device);
    Ok((ds.vocab.as_string(), model.params(), shape))
}

/// The first [`N_NAMES`] names the runtime generates from `bytes` with these settings, name i
/// from `Pcg32::for_name(seed, i)`.
pub fn names(bytes: &[u8], seed: u64, temperature: Temperature, top_k: usize) -> anyhow::Result<Vec<String>> {
    let model = Model::from_bytes(bytes)?;
    let mut buf = vec![0; model.scratch_words()];
    let mut scratch = Scratch::new(&model, &mut buf)?;
    let cfg = SampleConfig { temperature, top_k, max_len: MAX_LEN };
    let mut out = heapless::String::<{ 4 * MAX_LEN }>::new();
    (0..N_NAMES)
        .map(|i| {
            // One name at a time (the batched `runtime::names` must agree: tests/golden.rs).
            let mut rng = Pcg32::for_name(seed, i as u64);
            runtime::generate(&model, &mut scratch, &mut rng, &cfg, "", &mut out)?;
            Ok(out.to_string())
        })
        .collect()
}

/// Writes the model files and `golden.json` into `dir`.
pub fn write(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut golden = vec![];
    for (name, bytes) in train_models()? {
        write_atomic(&dir.join(name), &bytes).with_context(|| format!("cannot write {name}"))?;
        for (seed, temperature_milli, top_k) in SETTINGS {
            golden.push(Golden {
                file: name.into(),
                seed,
                temperature_milli,
                top_k,
                names: names(&bytes, seed, Temperature::from_milli(temperature_milli), top_k)?,
            });
        }
    }
    write_atomic(&dir.join("golden.json"), (serde_json::to_string_pretty(&golden)? + "\n").as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn fixtures_regenerate_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap();
        super::write(dir.path()).unwrap();
        for f in super::FILES.iter().map(|f| f.0).chain(["golden.json"]) {
            let fresh = std::fs::read(dir.path().join(f)).unwrap();
            let committed = std::fs::read(super::fixture_dir().join(f)).unwrap();
            assert!(fresh == committed, "{f} differs from a fresh `cargo run -p tools --bin make-fixtures`");
        }
    }
}
