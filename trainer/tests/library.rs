//! The commands as library calls, without a process: what the binary does, a test (or another
//! program) can do and read back as typed reports.

use trainer::commands::train::{RunSpec, TrainArgs};
use trainer::commands::{export, inspect, sample, train, Global};
use trainer::config::ModelChoice;

/// A small MLP run on the first 300 names, in process; returns its report.
fn small_mlp(dir: &std::path::Path, name: &str, dropout: f64) -> train::TrainReport {
    let all = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../data/names.txt")).unwrap();
    let data = dir.join("small.txt");
    std::fs::write(&data, all.lines().take(300).collect::<Vec<_>>().join("\n")).unwrap();
    let global = Global { quiet: true, json: true, ..Global::default() };
    let mut spec = RunSpec::default_for(ModelChoice::Mlp);
    spec.out = dir.join(name);
    let o = &mut spec.overrides;
    (o.data, o.n_embd, o.n_hidden, o.steps, o.dropout) = (Some(data), Some(4), Some(32), Some(1500), Some(dropout));
    o.lr_milestones = Some(vec![1000]);
    train::train(&global, &TrainArgs { spec, resume: false }).unwrap()
}

/// Dropout changes training (it is applied), is reproducible (its masks come from the run's
/// seed), and stays out of evaluation: the reported losses are of the plain network, so the
/// exported file's test NLL, computed by the runtime without dropout, equals Burn's.
#[test]
fn dropout_is_applied_reproducibly_and_only_in_training() {
    let dir = tempfile::tempdir().unwrap();
    let (plain, a, b) =
        (small_mlp(dir.path(), "plain", 0.0), small_mlp(dir.path(), "a", 0.3), small_mlp(dir.path(), "b", 0.3));
    assert_ne!(plain.train_loss, a.train_loss, "dropout 0.3 trained the same weights as none");
    assert_eq!((a.train_loss, a.dev_loss, a.test_loss), (b.train_loss, b.dev_loss, b.test_loss));
    let f32_file = a.export.iter().find(|e| e.quant == "f32").unwrap();
    assert!((f32_file.test_nll - a.test_loss).abs() < 1e-4, "runtime {} vs Burn {}", f32_file.test_nll, a.test_loss);
}

#[test]
fn train_export_inspect_and_sample_in_process() {
    let dir = tempfile::tempdir().unwrap();
    let all = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../data/names.txt")).unwrap();
    let data = dir.path().join("small.txt");
    std::fs::write(&data, all.lines().take(300).collect::<Vec<_>>().join("\n")).unwrap();
    let global = Global { quiet: true, json: true, ..Global::default() };
    let mut spec = RunSpec::default_for(ModelChoice::Bigram);
    spec.out = dir.path().to_path_buf();
    spec.overrides.data = Some(data);
    let report = train::train(&global, &TrainArgs { spec, resume: false }).unwrap();
    assert_eq!(report.model, "bigram");
    assert_eq!(report.export.len(), 2);
    let run = dir.path().join("bigram");
    // Exporting again gives the same models (the card says less: no training figures).
    let again = export::export_run(&global, &export::ExportArgs { run: run.clone(), best: false }).unwrap();
    let figures = |rows: &[trainer::commands::ExportRow]| -> Vec<(f64, usize)> {
        rows.iter().map(|r| (r.test_nll, r.n_params)).collect()
    };
    assert_eq!(figures(&again), figures(&report.export));
    let int8 = &again[1]; // the file as it is now
    let inspected = inspect::inspect(&global, &inspect::InspectArgs { file: int8.file.clone() }).unwrap();
    assert_eq!((inspected.bytes, inspected.n_params, inspected.quant), (int8.bytes, int8.n_params, "int8"));
    assert!(inspected.card.contains("test_nll_int8"));
    let args = sample::SampleArgs {
        run: Some(run),
        file: None,
        int8: true,
        num: 5,
        seed: 1,
        temperature: runtime::Temperature::ONE,
        top_k: 0,
        prefix: String::new(),
        unique: false,
    };
    let s = sample::sample(&global, &args).unwrap();
    assert_eq!(s.names.len(), 5);
    assert_eq!(s.names, sample::sample(&global, &args).unwrap().names);
}
