//! trainer: fits makemore's bigram and MLP models with Burn, evaluates and samples them, and
//! writes them in the runtime's format. With no arguments it does the whole default job.
//!
//! This file is the command line only: each command lives in `trainer::commands` and returns a
//! typed report, printed as one JSON object under `--json`.

use clap::{Parser, Subcommand};
use serde::Serialize;
use trainer::commands::{self, Global};

#[derive(Parser, Debug)]
#[command(
    name = "trainer",
    version,
    about = "Train makemore models (bigram, MLP) and export them for microcontrollers."
)]
#[command(long_about = "Train makemore models (bigram, MLP) and export them for microcontrollers.\n\n\
With no subcommand: train the bigram and the default model (the WaveNet-style MLP) on data/names.txt, print losses and \
20 samples, and write checkpoints and model files under out/.")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    global: Global,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Train a model; writes config.toml, checkpoints and model files into OUT/MODEL.
    Train(commands::train::TrainArgs),
    /// Loss of a trained run on its train/dev/test splits (Burn), and of its exported files (runtime).
    Eval(commands::eval::RunArgs),
    /// Generate names from a trained run's exported model file, through the runtime.
    Sample(commands::sample::SampleArgs),
    /// Sweep the learning rate from --min-lr to --max-lr over --steps SGD steps (default 1000),
    /// plot loss against rate (OUT/lr-find-MODEL.png) and suggest a rate.
    LrFind(commands::lr_find::LrFindArgs),
    /// Write a run's model files again (f32 and int8) from its checkpoint, with the model card.
    Export(commands::export::ExportArgs),
    /// Print a model file's header, tensors, multipliers, CRC status and model card.
    Inspect(commands::inspect::InspectArgs),
}

fn main() {
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        // Measured: a second thread never helps at these model sizes (see BURN.md).
        std::env::set_var("RAYON_NUM_THREADS", "1");
    }
    let cli = Cli::parse();
    if let Err(e) = run(&cli) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: &Cli) -> anyhow::Result<()> {
    let g = &cli.global;
    match &cli.command {
        None => print(g, &commands::train::default_job(g)?),
        Some(Command::Train(args)) => print(g, &commands::train::train(g, args)?),
        Some(Command::Eval(args)) => print(g, &commands::eval::eval(g, args)?),
        Some(Command::Sample(args)) => print(g, &commands::sample::sample(g, args)?),
        Some(Command::LrFind(args)) => print(g, &commands::lr_find::lr_find(g, args)?),
        Some(Command::Export(args)) => print(g, &commands::export::export_run(g, args)?),
        Some(Command::Inspect(args)) => print(g, &commands::inspect::inspect(g, args)?),
    }
}

/// The report as one JSON object on stdout, under `--json`.
fn print(g: &Global, report: &impl Serialize) -> anyhow::Result<()> {
    if g.json {
        println!("{}", serde_json::to_string(report)?);
    }
    Ok(())
}
