//! SIGKILL at random points of training and export never leaves a broken run: the directory
//! always holds a loadable checkpoint and model files, and `--resume` finishes the run.

use runtime::{Model, Pcg32};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;
use trainer::checkpoint::Checkpoint;

fn trainer(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_trainer"));
    c.args(args).stdout(Stdio::null()).stderr(Stdio::null());
    c
}

/// Every file a reader would use is complete: the checkpoint parses and matches the
/// configuration, and both model files decode (CRC included).
fn assert_run_is_whole(run: &Path) {
    let ck = Checkpoint::load(&run.join("checkpoint.json")).expect("checkpoint loads");
    assert!(ck.step > 0 && ck.params.count() > 0);
    for f in ["model-f32.mkmr", "model-int8.mkmr"] {
        let bytes = std::fs::read(run.join(f)).expect("model file exists");
        Model::from_bytes(&bytes).unwrap_or_else(|e| panic!("{f}: {e}"));
    }
}

#[test]
fn sigkill_during_training_and_export_never_breaks_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let all = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../data/names.txt")).unwrap();
    let data = dir.path().join("small.txt");
    std::fs::write(&data, all.lines().take(600).collect::<Vec<_>>().join("\n")).unwrap();
    let out = dir.path().to_str().unwrap();
    let run = dir.path().join("mlp");
    let base =
        ["--block-size", "2", "--n-embd", "4", "--n-hidden", "16", "--checkpoint-every", "10", "--eval-every", "50"];

    // A first, complete short run: from here on the run directory must stay whole.
    let mut first = vec!["train", "--model", "mlp", "--data", data.to_str().unwrap(), "--out", out, "--steps", "20"];
    first.extend(base);
    assert!(trainer(&first).status().unwrap().success());
    assert_run_is_whole(&run);

    let mut rng = Pcg32::from_seed(2024);
    let resume = ["train", "--model", "mlp", "--out", out, "--resume", "--steps", "3000"];
    let export = ["export", "--run", run.to_str().unwrap()];
    for round in 0..8 {
        let args: &[&str] = if round % 2 == 0 { &resume } else { &export };
        let mut child = trainer(args).spawn().unwrap();
        // Between 5 and 300 ms: mid-step, mid-checkpoint, mid-export.
        std::thread::sleep(Duration::from_millis(5 + u64::from(rng.next_u32() % 296)));
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        assert_run_is_whole(&run);
    }
    // The killed runs were working when killed: their checkpoints moved the run on.
    let step = Checkpoint::load(&run.join("checkpoint.json")).unwrap().step;
    assert!(step > 20, "no killed run made progress (step {step})");

    // Resuming after all that finishes the run.
    assert!(trainer(&resume).status().unwrap().success());
    let ck = Checkpoint::load(&run.join("checkpoint.json")).unwrap();
    assert_eq!(ck.step, 3000);
    assert_run_is_whole(&run);
}
