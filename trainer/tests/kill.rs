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

/// A run killed mid-way (SIGKILL, after some checkpoint) and resumed ends with exactly the
/// weights of a run that was never interrupted: the checkpoint carries everything (weights,
/// step, sampler state, losses, the running weight average), whenever the kill lands. With
/// dropout, so the masks are reproduced too, and with weight averaging over most of the run,
/// so the kill lands inside the averaged steps or before them.
#[test]
fn a_run_killed_mid_way_and_resumed_equals_an_uninterrupted_one_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let all = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../data/names.txt")).unwrap();
    let data = dir.path().join("small.txt");
    std::fs::write(&data, all.lines().take(600).collect::<Vec<_>>().join("\n")).unwrap();
    let steps = "12000";
    let args = |out: &Path| -> Vec<String> {
        let data = data.to_str().unwrap();
        let out = out.to_str().unwrap();
        [
            "train",
            "--model",
            "mlp",
            "--data",
            data,
            "--out",
            out,
            "--steps",
            steps,
            "--block-size",
            "2",
            "--n-embd",
            "4",
            "--n-hidden",
            "16",
            "--checkpoint-every",
            "100",
            "--eval-every",
            "500",
            "--dropout",
            "0.1",
            "--average",
            "0.95",
        ]
        .map(String::from)
        .to_vec()
    };
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let status = Command::new(env!("CARGO_BIN_EXE_trainer")).args(args(&a)).stdout(Stdio::null()).status().unwrap();
    assert!(status.success());

    // Killed once its checkpoint has moved past the first save, well before the end.
    let ck_path = b.join("mlp/checkpoint.json");
    let mut child = trainer(&args(&b).iter().map(String::as_str).collect::<Vec<_>>()).spawn().unwrap();
    let killed_at = loop {
        std::thread::sleep(Duration::from_millis(2));
        if let Ok(ck) = Checkpoint::load(&ck_path) {
            if ck.step >= 200 {
                child.kill().unwrap();
                child.wait().unwrap();
                break Checkpoint::load(&ck_path).unwrap().step;
            }
        }
        assert!(child.try_wait().unwrap().is_none(), "the run ended before it could be killed");
    };
    assert!(killed_at < 12000, "killed after the end (step {killed_at})");
    let mut resume = args(&b);
    resume.push("--resume".into());
    let status = Command::new(env!("CARGO_BIN_EXE_trainer")).args(&resume).stdout(Stdio::null()).status().unwrap();
    assert!(status.success());

    let (ck_a, ck_b) = (Checkpoint::load(&a.join("mlp/checkpoint.json")).unwrap(), Checkpoint::load(&ck_path).unwrap());
    assert_eq!((ck_a.step, ck_b.step), (12000, 12000));
    let bits = |ck: &Checkpoint| -> Vec<Vec<u32>> {
        ck.params.tensors.iter().map(|t| t.values.iter().map(|v| v.to_bits()).collect()).collect()
    };
    assert_eq!(bits(&ck_a), bits(&ck_b), "weights differ after a kill at step {killed_at} and a resume");
    assert_eq!(ck_a.losses, ck_b.losses);
    let average = ck_a.average.as_ref().expect("the run averages");
    assert_eq!(average.count, 114, "every 100th of the last 11,400 steps, the last included");
    assert_eq!(ck_a.average, ck_b.average, "the weight average differs after a kill at step {killed_at}");
    // And the exported files are the same bytes.
    for f in ["model-f32.mkmr", "model-int8.mkmr"] {
        assert_eq!(std::fs::read(a.join("mlp").join(f)).unwrap(), std::fs::read(b.join("mlp").join(f)).unwrap(), "{f}");
    }
}
