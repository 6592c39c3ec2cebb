//! `trainer sample`: names from a model file, through the runtime (the names a board prints
//! for the same file, seed and settings). Stdout holds the names only; the summary goes to
//! stderr (or into the `--json` report).

use super::Global;
use crate::data::Dataset;
use crate::run_dir::RunDir;
use anyhow::{bail, Context};
use runtime::{Model, Network, Pcg32, Quant, SampleConfig, Scratch, Temperature};
use serde::Serialize;
use std::collections::HashSet;
use std::path::PathBuf;

/// Tries per name before `--unique` gives up.
pub const UNIQUE_TRIES: usize = 100;

#[derive(clap::Args, Clone, Debug)]
pub struct SampleArgs {
    /// A run directory written by `trainer train` [default: out/mlp, unless --file is given]:
    /// its exported model, and its training words for the novelty count and --unique.
    #[arg(long)]
    pub run: Option<PathBuf>,
    /// Sample from this model file instead of the run's export (novelty is then counted only
    /// when --run is given too).
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// Use the run's int8 export.
    #[arg(long)]
    pub int8: bool,
    /// Number of names.
    #[arg(short = 'n', long, default_value_t = 20)]
    pub num: usize,
    /// RNG seed (PCG32; name i draws from stream 54 + i): same seed, file and settings give
    /// the same names on every platform, however many are asked for.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Softmax temperature (at most three decimals); 0 always picks the most likely symbol.
    #[arg(long, default_value = "1", value_parser = parse_temperature)]
    pub temperature: Temperature,
    /// Sample among the K most likely symbols only (0: all).
    #[arg(long, default_value_t = 0)]
    pub top_k: usize,
    /// Every name starts with this prefix.
    #[arg(long, default_value = "")]
    pub prefix: String,
    /// Only names that are neither in the run's training words nor generated before (an error
    /// if one cannot be found in 100 tries).
    #[arg(long)]
    pub unique: bool,
}

fn parse_temperature(text: &str) -> Result<Temperature, String> {
    Temperature::parse(text).map_err(str::to_string)
}

/// What `sample` reports.
#[derive(Clone, Debug, Serialize)]
pub struct SampleReport {
    pub file: PathBuf,
    pub seed: u64,
    pub temperature: f64,
    pub top_k: usize,
    pub names: Vec<String>,
    /// Names found among the run's training words (`None` without a run).
    pub copies_of_training_names: Option<usize>,
}

pub fn sample(global: &Global, args: &SampleArgs) -> anyhow::Result<SampleReport> {
    let say = global.say();
    // The run: the one given, or out/mlp when no file is given.
    let run = match (&args.run, &args.file) {
        (Some(r), _) => Some(RunDir::new(r)),
        (None, None) => Some(RunDir::new("out/mlp")),
        (None, Some(_)) => None,
    };
    let path = match (&args.file, &run) {
        (Some(f), _) => f.clone(),
        (None, Some(run)) => run.model_file(if args.int8 { Quant::Int8 } else { Quant::F32 }),
        (None, None) => bail!("pass --run or --file"),
    };
    let bytes = std::fs::read(&path)
        .with_context(|| format!("cannot read model file {}; train a run first (`trainer train`)", path.display()))?;
    let model = Model::from_bytes(&bytes).with_context(|| format!("{} is not a valid model file", path.display()))?;
    let mut buf = vec![0; model.scratch_words()];
    let mut scratch = Scratch::new(&model, &mut buf)?;
    let cfg = SampleConfig { temperature: args.temperature, top_k: args.top_k, ..SampleConfig::DEFAULT };
    // Novelty against the run's training words (the split of its own configuration).
    let train_words: Option<HashSet<String>> = match &run {
        Some(run) => {
            let cfg = run.config()?;
            let (ds, _) = Dataset::load_with(&cfg.data, cfg.load_options())?;
            Some(ds.split(cfg.seed).train.into_iter().collect())
        }
        None => None,
    };
    if args.unique && train_words.is_none() {
        bail!("--unique needs the run's training words: pass --run with a training run directory");
    }
    // Name i draws from its own stream (`Pcg32::for_name`): computed in batches, and the same
    // list as the firmware's and the playground's.
    let mut names = runtime::names(&model, args.seed, 0..args.num as u64, &cfg, &args.prefix)?;
    if args.unique {
        let mut name = heapless::String::<256>::new();
        for i in 0..names.len() {
            let (earlier, rest) = names.split_at_mut(i);
            let Some(current) = rest.first_mut() else { break };
            let seen = |n: &str| earlier.iter().any(|e| e == n) || train_words.as_ref().is_some_and(|t| t.contains(n));
            if !seen(current) {
                continue;
            }
            // Retry from name i's own stream: its first try again, then the next ones.
            let mut rng = Pcg32::for_name(args.seed, i as u64);
            runtime::generate(&model, &mut scratch, &mut rng, &cfg, &args.prefix, &mut name)?;
            let mut found = false;
            for _ in 1..UNIQUE_TRIES {
                runtime::generate(&model, &mut scratch, &mut rng, &cfg, &args.prefix, &mut name)?;
                if !seen(name.as_str()) {
                    found = true;
                    break;
                }
            }
            if !found {
                bail!(
                    "--unique: no new name in {UNIQUE_TRIES} tries after {i} names; ask for fewer names, or raise \
                     --temperature or --top-k"
                );
            }
            *current = name.to_string();
        }
    }
    for n in &names {
        say.line(n);
    }
    let copies = train_words.as_ref().map(|t| names.iter().filter(|n| t.contains(*n)).count());
    if let Some(c) = copies {
        say.note(format!("{c} of {} names are copies of training names", names.len()));
    }
    Ok(SampleReport {
        file: path,
        seed: args.seed,
        temperature: f64::from(args.temperature.milli()) / 1000.0,
        top_k: args.top_k,
        names,
        copies_of_training_names: copies,
    })
}
