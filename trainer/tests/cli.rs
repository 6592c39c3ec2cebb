//! End-to-end tests of the trainer binary on a small dataset: each runs in seconds.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use trainer::data::Dataset;

fn trainer(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trainer")).args(args).output().expect("trainer runs")
}

fn ok_json(args: &[&str]) -> serde_json::Value {
    let out = trainer(args);
    assert!(out.status.success(), "trainer {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON object ({e}): {:?}", out.stdout))
}

fn fail(args: &[&str]) -> String {
    let out = trainer(args);
    assert_eq!(out.status.code(), Some(1), "trainer {args:?} should fail cleanly");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The first 600 names of the project's dataset.
fn small_data(dir: &Path) -> PathBuf {
    let all = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../data/names.txt")).unwrap();
    let path = dir.join("small.txt");
    std::fs::write(&path, all.lines().take(600).collect::<Vec<_>>().join("\n")).unwrap();
    path
}

// The flat MLP (the default preset is the streaming hierarchy with batch norm).
const TINY: &[&str] =
    &["--preset", "flat", "--block-size", "2", "--n-embd", "4", "--n-hidden", "16", "--lr-milestones", "300"];

fn tiny_mlp(data: &Path, out: &Path, steps: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["train", "--model", "mlp", "--json", "--data", data.to_str().unwrap()];
    args.extend(["--out", out.to_str().unwrap(), "--steps", steps, "--eval-every", "100", "--checkpoint-every", "100"]);
    args.extend(TINY);
    args.extend(extra);
    ok_json(&args)
}

#[test]
fn mlp_loss_goes_down_and_report_has_the_figures() {
    let dir = tempfile::tempdir().unwrap();
    let data = small_data(dir.path());
    let r = tiny_mlp(&data, dir.path(), "400", &[]);
    assert_eq!(r["model"], "mlp");
    // 27 symbols, context 2, n_embd 4, 16 hidden: C, W1 + b1, W2 + b2.
    assert_eq!(r["n_params"], 27 * 4 + (2 * 4 * 16 + 16) + (16 * 27 + 27));
    assert_eq!(r["steps"], 400);
    let (seconds, sps) = (r["seconds"].as_f64().unwrap(), r["steps_per_second"].as_f64().unwrap());
    assert!(seconds > 0.0 && (sps * seconds - 400.0).abs() < 1e-6, "{seconds} s, {sps} steps/s");
    // 27 symbols: a uniform guess costs ln 27 = 3.30; a few hundred steps must beat it clearly.
    let train = r["train_loss"].as_f64().unwrap();
    assert!(train < 3.0, "train loss {train}");
    let ck: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("mlp/checkpoint.json")).unwrap()).unwrap();
    let losses: Vec<f64> = ck["losses"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    let mean = |s: &[f64]| s.iter().sum::<f64>() / s.len() as f64;
    assert!(mean(&losses[350..]) < mean(&losses[..50]) - 0.3, "loss did not go down");
    // The run directory: the report is what was printed, the model files decode, the
    // configuration and best checkpoint are there.
    let run = dir.path().join("mlp");
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(run.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["test_loss"], r["test_loss"]);
    for f in ["model-f32.mkmr", "model-int8.mkmr"] {
        runtime::Model::from_bytes(&std::fs::read(run.join(f)).unwrap()).unwrap_or_else(|e| panic!("{f}: {e}"));
    }
    for f in ["config.toml", "best.json"] {
        assert!(std::fs::metadata(run.join(f)).unwrap().len() > 0, "{f} missing or empty");
    }
}

#[test]
fn resume_gives_the_same_weights_as_an_uninterrupted_run() {
    let dir = tempfile::tempdir().unwrap();
    let data = small_data(dir.path());
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    tiny_mlp(&data, &a, "300", &[]);
    // Interrupted after 100 steps (its last checkpoint), then resumed to 300.
    tiny_mlp(&data, &b, "100", &[]);
    let resumed =
        ok_json(&["train", "--model", "mlp", "--json", "--out", b.to_str().unwrap(), "--resume", "--steps", "300"]);
    assert_eq!(resumed["steps"], 300);
    let params = |d: &Path| {
        let ck: serde_json::Value =
            serde_json::from_slice(&std::fs::read(d.join("mlp/checkpoint.json")).unwrap()).unwrap();
        (ck["params"].clone(), ck["rng"].clone(), ck["losses"].clone())
    };
    assert_eq!(params(&a), params(&b));
    assert_eq!(
        std::fs::read(a.join("mlp/model-f32.mkmr")).unwrap(),
        std::fs::read(b.join("mlp/model-f32.mkmr")).unwrap()
    );
    // Changing a setting on resume is refused by name.
    let err = fail(&["train", "--model", "mlp", "--out", b.to_str().unwrap(), "--resume", "--lr", "0.5"]);
    assert!(err.contains("only --steps"), "{err}");
}

/// `--average`: training is unchanged (the same last weights), the model files hold the mean
/// of the averaged steps' weights, `export` writes them again from the checkpoint, and a
/// fraction outside [0, 1] is refused by name.
#[test]
fn averaged_weights_are_the_runs_model() {
    let dir = tempfile::tempdir().unwrap();
    let data = small_data(dir.path());
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let plain = tiny_mlp(&data, &a, "400", &[]);
    let averaged = tiny_mlp(&data, &b, "400", &["--average", "0.5"]);
    let ck = |d: &Path| trainer::checkpoint::Checkpoint::load(&d.join("mlp/checkpoint.json")).unwrap();
    let (ck_a, ck_b) = (ck(&a), ck(&b));
    assert_eq!(ck_a.params, ck_b.params, "averaging changed the training");
    assert!(ck_a.average.is_none());
    // The last 200 steps: steps 300 and 400.
    let avg = ck_b.average.as_ref().unwrap();
    assert_eq!((avg.from, avg.count), (201, 2));
    let mean = ck_b.model_params().unwrap();
    assert_ne!(mean, ck_b.params);
    for (m, (t, s)) in mean.tensors.iter().zip(ck_b.params.tensors.iter().zip(&avg.sums)) {
        assert_eq!((&m.name, &m.shape), (&t.name, &t.shape));
        assert!(m.values.iter().zip(s).all(|(&v, &s)| v == (s / 2.0) as f32), "{} is not the mean", m.name);
    }
    assert_ne!(plain["test_loss"], averaged["test_loss"], "the model files hold the last weights");
    // `export` writes the same model from the checkpoint (the file's card says where it came
    // from, so the runtime's test NLL of each file is compared, to the last bit).
    let run = b.join("mlp");
    let exported = ok_json(&["export", "--run", run.to_str().unwrap(), "--json"]);
    for (e, t) in exported.as_array().unwrap().iter().zip(averaged["export"].as_array().unwrap()) {
        assert_eq!((&e["quant"], &e["test_nll"]), (&t["quant"], &t["test_nll"]));
    }
    let err = fail(&["train", "--model", "mlp", "--out", dir.path().to_str().unwrap(), "--average", "1.5"]);
    assert!(err.contains("average must be in [0, 1]"), "{err}");
}

/// `--calibrate`: the same training, the output layer divided by the fitted temperature, a
/// dev loss no higher than the plain run's, the temperature in the report and both files'
/// cards, `export` writing the same model again; refused for the neural bigram.
#[test]
fn calibrated_runs_fold_the_fitted_temperature_into_the_output_layer() {
    let dir = tempfile::tempdir().unwrap();
    let data = small_data(dir.path());
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let plain = tiny_mlp(&data, &a, "400", &[]);
    let calibrated = tiny_mlp(&data, &b, "400", &["--calibrate", "true"]);
    assert!(plain.get("temperature").is_none());
    let t = calibrated["temperature"].as_f64().unwrap();
    assert!(t.is_finite() && t > 0.0 && t != 1.0, "T = {t}");
    let dev = |r: &serde_json::Value| r["dev_loss"].as_f64().unwrap();
    assert!(dev(&calibrated) <= dev(&plain) + 1e-6, "{} > {}", dev(&calibrated), dev(&plain));
    // The weights: every tensor the same but the last layer's, which is divided by T.
    let file = |d: &Path| std::fs::read(d.join("mlp/model-f32.mkmr")).unwrap();
    let (fa, fb) = (file(&a), file(&b));
    let (ma, mb) = (runtime::Model::from_bytes(&fa).unwrap(), runtime::Model::from_bytes(&fb).unwrap());
    let (ta, tb) = (ma.tensors(), mb.tensors());
    let last = ta.len() - 2;
    for (i, (x, y)) in ta.iter().zip(tb.iter()).enumerate() {
        assert_eq!((x.name, x.rows, x.cols), (y.name, y.rows, y.cols));
        for (r, c) in (0..x.rows).flat_map(|r| (0..x.cols).map(move |c| (r, c))) {
            let (x, y) = (x.get(r, c).unwrap(), y.get(r, c).unwrap());
            if i < last {
                assert_eq!(x, y, "tensor {i} changed");
            } else {
                assert!((x / t - y).abs() <= 1e-6 * x.abs().max(1.0), "{x} / {t} != {y}");
            }
        }
    }
    for bytes in [&fb, &std::fs::read(b.join("mlp/model-int8.mkmr")).unwrap()] {
        let model = runtime::Model::from_bytes(bytes).unwrap();
        let card = runtime::Network::header(&model).card;
        assert!(card.contains(&format!("temperature: {t:.6}")), "{card}");
    }
    let exported = ok_json(&["export", "--run", b.join("mlp").to_str().unwrap(), "--json"]);
    for (e, t) in exported.as_array().unwrap().iter().zip(calibrated["export"].as_array().unwrap()) {
        assert_eq!((&e["quant"], &e["test_nll"]), (&t["quant"], &t["test_nll"]));
    }
    let err = fail(&["train", "--model", "nn-bigram", "--out", dir.path().to_str().unwrap(), "--calibrate", "true"]);
    assert!(err.contains("calibrate applies to the mlp"), "{err}");
}

#[test]
fn config_file_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let data = small_data(dir.path());
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    tiny_mlp(&data, &a, "50", &["--seed", "7"]);
    let saved = a.join("mlp/config.toml");
    // The saved config reproduces the run: same config, same weights.
    ok_json(&[
        "train",
        "--model",
        "mlp",
        "--preset",
        "flat",
        "--json",
        "--config",
        saved.to_str().unwrap(),
        "--out",
        b.to_str().unwrap(),
    ]);
    assert_eq!(std::fs::read_to_string(&saved).unwrap(), std::fs::read_to_string(b.join("mlp/config.toml")).unwrap());
    assert_eq!(
        std::fs::read(a.join("mlp/model-f32.mkmr")).unwrap(),
        std::fs::read(b.join("mlp/model-f32.mkmr")).unwrap()
    );
    // A config with an unknown field is refused.
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "n_emdb = 3\n").unwrap();
    let err = fail(&[
        "train",
        "--model",
        "mlp",
        "--preset",
        "flat",
        "--config",
        bad.to_str().unwrap(),
        "--out",
        b.to_str().unwrap(),
    ]);
    assert!(err.contains("unknown field"), "{err}");
}

#[test]
fn bigram_and_nn_bigram_report_their_figures() {
    let dir = tempfile::tempdir().unwrap();
    let data = small_data(dir.path());
    let d = data.to_str().unwrap();
    let out = dir.path().to_str().unwrap();
    let r = ok_json(&["train", "--model", "bigram", "--data", d, "--out", out, "--json"]);
    assert_eq!(r["model"], "bigram");
    // The counts model's NLL over every word, computed here from the words alone.
    let words = Dataset::load(&data).unwrap().words;
    let mut vocab: Vec<char> = words.iter().flat_map(|w| w.chars()).collect();
    vocab.sort_unstable();
    vocab.dedup();
    vocab.insert(0, '.');
    let id = |c: char| vocab.iter().position(|&v| v == c).unwrap();
    let v = vocab.len();
    let mut counts = vec![1.0f64; v * v]; // +1 smoothing
    let pairs = |w: &String| {
        let ids: Vec<usize> = std::iter::once(0).chain(w.chars().map(id)).chain(std::iter::once(0)).collect();
        ids.windows(2).map(|p| (p[0], p[1])).collect::<Vec<_>>()
    };
    for (a, b) in words.iter().flat_map(pairs) {
        counts[a * v + b] += 1.0;
    }
    let (mut sum, mut n) = (0.0f64, 0usize);
    for (a, b) in words.iter().flat_map(pairs) {
        let row: f64 = counts[a * v..(a + 1) * v].iter().sum();
        sum -= (counts[a * v + b] / row).ln();
        n += 1;
    }
    let nll = r["nll_all"].as_f64().unwrap();
    assert!((nll - sum / n as f64).abs() < 1e-9, "trainer {nll}, counted here {}", sum / n as f64);
    let n = ok_json(&["train", "--model", "nn-bigram", "--steps", "100", "--data", d, "--out", out, "--json"]);
    // Unsmoothed counts are the maximum-likelihood bigram: no bigram fits the training split
    // better. After 100 full-batch steps (from about 3.8 at its N(0, 1) initialisation) the
    // neural bigram gets close to it from above.
    let mle = ok_json(&["train", "--model", "bigram", "--smoothing", "0", "--data", d, "--out", out, "--json"]);
    let gap = n["train_loss"].as_f64().unwrap() - mle["train_loss"].as_f64().unwrap();
    assert!((-1e-4..0.5).contains(&gap), "nn-bigram {} vs counts {}", n["train_loss"], mle["train_loss"]);
    // The reported distance between the learned W and the counts, recomputed here from the
    // checkpoint's W and the training split's +1-smoothed counts.
    let ck: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("nn-bigram/checkpoint.json")).unwrap()).unwrap();
    let w_tensor = ck["params"]["tensors"].as_array().unwrap().iter().find(|t| t["name"] == "W").unwrap();
    let w: Vec<f64> = w_tensor["values"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
    let train = Dataset::load(&data).unwrap().split(42).train;
    let mut train_counts = vec![1.0f64; v * v];
    for (a, b) in train.iter().flat_map(pairs) {
        train_counts[a * v + b] += 1.0;
    }
    let mut dist = 0.0;
    for r in 0..v {
        let row = &w[r * v..(r + 1) * v];
        let lse = row.iter().map(|x| x.exp()).sum::<f64>().ln();
        let total: f64 = train_counts[r * v..(r + 1) * v].iter().sum();
        for c in 0..v {
            dist += (row[c] - lse - (train_counts[r * v + c] / total).ln()).abs();
        }
    }
    let reported = n["w_vs_log_counts_mean_abs"].as_f64().unwrap();
    assert!(
        (reported - dist / (v * v) as f64).abs() < 1e-6,
        "reported {reported}, recomputed {}",
        dist / (v * v) as f64
    );
}

#[test]
fn sample_is_deterministic_and_reports_copies() {
    let dir = tempfile::tempdir().unwrap();
    let data = small_data(dir.path());
    tiny_mlp(&data, dir.path(), "200", &[]);
    let run = dir.path().join("mlp");
    let run = run.to_str().unwrap();
    let a = ok_json(&["sample", "--run", run, "--seed", "42", "-n", "20", "--json"]);
    let b = ok_json(&["sample", "--run", run, "--seed", "42", "-n", "20", "--json"]);
    assert_eq!(a["names"], b["names"]);
    assert_eq!(a["names"].as_array().unwrap().len(), 20);
    // The copies are the names found among the run's training words (seed 42's split).
    let train: std::collections::HashSet<String> = Dataset::load(&data).unwrap().split(42).train.into_iter().collect();
    let names: Vec<&str> = a["names"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
    let copies = names.iter().filter(|n| train.contains(**n)).count();
    assert_eq!(a["copies_of_training_names"].as_u64().unwrap() as usize, copies, "{names:?}");
    let p = ok_json(&["sample", "--run", run, "--prefix", "ka", "-n", "5", "--int8", "--json"]);
    assert!(p["names"].as_array().unwrap().iter().all(|n| n.as_str().unwrap().starts_with("ka")));
}

#[test]
fn corrupt_model_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.mkmr");
    std::fs::write(&bad, b"MKMR\x03 not really a model").unwrap();
    let err = fail(&["sample", "--file", bad.to_str().unwrap()]);
    assert!(err.contains("not a valid model file") && err.contains("corrupt"), "{err}");
    // A file of format version 2 (before the integer model) says to export again.
    std::fs::write(&bad, b"MKMR\x02 an old model").unwrap();
    let err = fail(&["sample", "--file", bad.to_str().unwrap()]);
    assert!(err.contains("version 2 is not supported") && err.contains("re-export"), "{err}");
    let err = fail(&["sample", "--file", dir.path().join("missing.mkmr").to_str().unwrap()]);
    assert!(err.contains("cannot read model file"), "{err}");
}

#[test]
fn bad_datasets_name_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let cases: &[(&[u8], &str)] = &[
        (b"", "holds no words"),
        (b"\n  \n\r\n", "holds no words"),
        (b"anna\nbo\xffb\n", "line 2: not valid UTF-8"),
        (b"anna\nst. louis\n", "line 2: \"st. louis\" contains the boundary symbol"),
        (b"anna\n", "has 1 words; the 80/10/10 split needs at least 10"),
    ];
    for (bytes, want) in cases {
        let path = dir.path().join("data.txt");
        std::fs::write(&path, bytes).unwrap();
        let err =
            fail(&["train", "--model", "bigram", "--data", path.to_str().unwrap(), "--out", out.to_str().unwrap()]);
        assert!(err.contains(want), "{bytes:?}: {err}");
    }
    let many: String = (0x100u32..0x100 + 300).filter_map(char::from_u32).map(|c| format!("{c}\n")).collect();
    let path = dir.path().join("many.txt");
    std::fs::write(&path, many).unwrap();
    let err = fail(&["train", "--model", "bigram", "--data", path.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(err.contains("300 distinct symbols"), "{err}");
    let err = fail(&["train", "--model", "bigram", "--data", dir.path().join("nope.txt").to_str().unwrap()]);
    assert!(err.contains("cannot read dataset"), "{err}");
    // The cause is printed once, not once per layer of the error chain.
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
    let err = fail(&["export", "--run", dir.path().join("no-run").to_str().unwrap()]);
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
    let err = fail(&["train", "--model", "mlp", "--preset", "flat", "--n-embd", "0", "--out", out.to_str().unwrap()]);
    assert!(err.contains("n_embd must be at least 1"), "{err}");
    let err = fail(&["train", "--model", "mlp", "--preset", "flat", "--dropout", "1", "--out", out.to_str().unwrap()]);
    assert!(err.contains("dropout must be in [0, 1)"), "{err}");
}

#[test]
fn crlf_and_blank_lines_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crlf.txt");
    // Ten words (the fewest the split accepts) over the same three names.
    std::fs::write(&path, b"anna\r\n\r\n  bob \r\ncarl\r\n".repeat(4)).unwrap();
    let out = dir.path().join("out");
    let r = ok_json(&[
        "train",
        "--model",
        "bigram",
        "--data",
        path.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    // Symbols: '.', a, b, c, l, n, o, r: the '\r's and spaces were trimmed away.
    assert_eq!(r["n_params"], 8 * 8);
}

#[test]
fn lr_finder_suggests_a_rate_and_plots_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = small_data(dir.path());
    let mut args = vec!["lr-find", "--json", "--data", data.to_str().unwrap(), "--out", dir.path().to_str().unwrap()];
    args.extend(["--steps", "200"]);
    args.extend(TINY);
    let r = ok_json(&args);
    let lr = r["suggested_lr"].as_f64().unwrap();
    let lrs = r["lrs"].as_array().unwrap();
    // The suggestion is the documented rule applied to the sweep it reports, and lies inside it.
    let f = |v: &serde_json::Value| v.as_f64().unwrap();
    let sweep: Vec<(f64, f64)> = lrs.iter().map(f).zip(r["losses"].as_array().unwrap().iter().map(f)).collect();
    assert_eq!(sweep.len(), lrs.len());
    assert_eq!(trainer::training::suggest_lr(&sweep), Some(lr));
    assert!(lr > f(&lrs[0]) && lr <= f(lrs.last().unwrap()), "suggested {lr}");
    assert!(lrs.len() > 20 && lrs.len() <= 200);
    // The rates rise geometrically from --min-lr.
    assert!((lrs[0].as_f64().unwrap() - 1e-3).abs() < 1e-12);
    assert!(lrs.windows(2).all(|w| w[1].as_f64() > w[0].as_f64()));
    assert!(std::fs::metadata(dir.path().join("lr-find-mlp.png")).unwrap().len() > 1000);
    assert!(!dir.path().join("mlp").exists(), "lr-find made a run directory");
}

#[test]
fn plots_are_written() {
    let dir = tempfile::tempdir().unwrap();
    let data = small_data(dir.path());
    let (d, out) = (data.to_str().unwrap(), dir.path().to_str().unwrap());
    ok_json(&[
        "train", "--model", "mlp", "--preset", "flat", "--json", "--data", d, "--out", out, "--steps", "100",
        "--n-embd", "2",
    ]);
    ok_json(&["train", "--model", "bigram", "--data", d, "--out", out, "--json"]);
    for png in ["mlp/loss.png", "mlp/embedding.png", "bigram/bigram-counts.png"] {
        let bytes = std::fs::read(dir.path().join(png)).unwrap();
        assert!(bytes.starts_with(b"\x89PNG") && bytes.len() > 1000, "{png}");
    }
}

#[test]
fn export_and_inspect_show_the_model_card() {
    let dir = tempfile::tempdir().unwrap();
    let data = small_data(dir.path());
    let r = tiny_mlp(&data, dir.path(), "200", &[]);
    let exports = r["export"].as_array().unwrap();
    assert_eq!(exports.len(), 2);
    let (f, q) = (&exports[0], &exports[1]);
    assert_eq!((f["quant"].as_str(), q["quant"].as_str()), (Some("f32"), Some("int8")));
    // The f32 file's NLL, computed by the runtime, is the trainer's test loss.
    assert!((f["test_nll"].as_f64().unwrap() - r["test_loss"].as_f64().unwrap()).abs() < 1e-4);
    assert!(q["max_abs_error"]["W1"].as_f64().unwrap() > 0.0);
    let run = dir.path().join("mlp");
    let i = ok_json(&["inspect", run.join("model-int8.mkmr").to_str().unwrap(), "--json"]);
    assert_eq!(i["crc_ok"], true);
    assert_eq!(i["quant"], "int8");
    assert_eq!(i["n_params"], r["n_params"]);
    assert_eq!(i["tensors"].as_array().unwrap().len(), 5);
    let card = i["card"].as_str().unwrap();
    assert!(card.contains("test_nll_f32: ") && card.contains("test_nll_int8: "), "{card}");
    // Re-export from the best checkpoint, in place.
    let e = ok_json(&["export", "--run", run.to_str().unwrap(), "--best", "--json"]);
    assert_eq!(e.as_array().unwrap().len(), 2);
    assert!(runtime::Model::from_bytes(&std::fs::read(run.join("model-f32.mkmr")).unwrap()).is_ok());
}

#[test]
fn inspect_and_sample_reject_damaged_files() {
    let dir = tempfile::tempdir().unwrap();
    let data = small_data(dir.path());
    tiny_mlp(&data, dir.path(), "50", &[]);
    let good = std::fs::read(dir.path().join("mlp/model-f32.mkmr")).unwrap();
    let bad = dir.path().join("bad.mkmr");
    let mut flipped = good.clone();
    flipped[40] ^= 1;
    for (bytes, want) in
        [(&good[..good.len() / 2], "corrupt"), (&flipped[..], "corrupt"), (&b"GIF89a"[..], "not a makemore model file")]
    {
        std::fs::write(&bad, bytes).unwrap();
        for cmd in [vec!["inspect", bad.to_str().unwrap()], vec!["sample", "--file", bad.to_str().unwrap()]] {
            let err = fail(&cmd);
            assert!(err.contains("not a valid model file") && err.contains(want), "{cmd:?}: {err}");
        }
    }
}

#[test]
fn eval_reports_the_figures() {
    let dir = tempfile::tempdir().unwrap();
    let data = small_data(dir.path());
    let t = tiny_mlp(&data, dir.path(), "100", &[]);
    let run = dir.path().join("mlp");
    let e = ok_json(&["eval", "--run", run.to_str().unwrap(), "--json"]);
    // The same weights: the same figures as at the end of training.
    for key in ["model", "n_params", "steps", "train_loss", "dev_loss", "test_loss"] {
        assert_eq!(e[key], t[key], "{key}");
    }
    assert!((e["runtime_test_nll_f32"].as_f64().unwrap() - e["test_loss"].as_f64().unwrap()).abs() < 1e-4);
}

/// Every weight of a checkpoint file, or `None` where JSON holds a non-number (serde_json
/// writes a non-finite f32 as `null`).
fn checkpoint_values(path: &Path) -> Vec<Option<f64>> {
    let ck: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let tensors = ck["params"]["tensors"].as_array().unwrap();
    tensors.iter().flat_map(|t| t["values"].as_array().unwrap().iter().map(|v| v.as_f64())).collect()
}

#[test]
fn a_diverging_run_stops_and_keeps_a_finite_checkpoint_and_best() {
    let dir = tempfile::tempdir().unwrap();
    let data = small_data(dir.path());
    let out = dir.path().to_str().unwrap();
    // Fine for 50 steps, then a rate no f32 can hold: the 51st update makes the weights
    // infinite while the loss it reports (computed before the update) is still finite. A
    // checkpoint is due after every step and the first dev evaluation right then.
    let mut args = vec!["train", "--model", "mlp", "--preset", "flat", "--data", data.to_str().unwrap(), "--out", out];
    args.extend(["--steps", "300", "--lr", "0.1", "--lr-milestones", "50", "--lr-decay", "1e45"]);
    args.extend(["--checkpoint-every", "1", "--eval-every", "51", "--block-size", "2", "--n-embd", "4"]);
    args.extend(["--n-hidden", "16"]);
    let err = fail(&args);
    assert!(err.contains("training stopped at step 51") && err.contains("non-finite"), "{err}");
    assert!(err.contains("lower --lr") && err.contains("checkpoint.json holds step 50"), "{err}");
    // The last checkpoint is the one before the divergence, every weight a finite number...
    let run = dir.path().join("mlp");
    let ck: serde_json::Value = serde_json::from_slice(&std::fs::read(run.join("checkpoint.json")).unwrap()).unwrap();
    assert_eq!(ck["step"], 50);
    let values = checkpoint_values(&run.join("checkpoint.json"));
    assert!(!values.is_empty() && values.iter().all(|v| v.is_some_and(f64::is_finite)));
    // ...it resumes (at a sane rate it would train on), and the diverged weights never
    // became the best ones: no evaluation happened before the divergence.
    assert!(!run.join("best.json").exists());
    let export = ok_json(&["export", "--run", run.to_str().unwrap(), "--json"]);
    assert_eq!(export.as_array().unwrap().len(), 2);
}

/// `trainer eval`'s test loss of a run's kept checkpoint.
fn kept_test_loss(run: &Path) -> f64 {
    ok_json(&["eval", "--run", run.to_str().unwrap(), "--json"])["test_loss"].as_f64().unwrap()
}

#[test]
fn a_run_diverging_right_after_its_first_update_keeps_nothing_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let data = small_data(dir.path());
    let (d, out) = (data.to_str().unwrap(), dir.path().to_str().unwrap());
    // Checked by the dev loss after the first update (it lands far above the untrained
    // model's), or by the next step's loss: either way the first weights that could be
    // written are the diverged ones, so nothing is written.
    for every in [["--checkpoint-every", "1", "--eval-every", "1"], ["--checkpoint-every", "500", "--eval-every", "0"]]
    {
        let mut args = vec!["train", "--model", "mlp", "--data", d, "--out", out, "--steps", "300", "--lr", "1000"];
        args.extend(every);
        args.extend(TINY);
        let err = fail(&args);
        assert!(err.contains("training stopped at step 1"), "{every:?}: {err}");
        assert!(err.contains("Nothing of this run is kept") && err.contains("lower --lr"), "{every:?}: {err}");
        let run = dir.path().join("mlp");
        assert!(!run.join("checkpoint.json").exists() && !run.join("best.json").exists(), "{every:?}");
        // The next command says there is nothing to export rather than exporting garbage.
        let err = fail(&["export", "--run", run.to_str().unwrap()]);
        assert!(err.contains("stopped before the first checkpoint"), "{err}");
    }
}

#[test]
fn a_checkpoint_due_without_an_evaluation_waits_for_the_next_steps_loss() {
    let dir = tempfile::tempdir().unwrap();
    let data = small_data(dir.path());
    let (d, out) = (data.to_str().unwrap(), dir.path().to_str().unwrap());
    // lr 0.1 for 50 steps, then 1000: the 51st update diverges with finite weights. The
    // checkpoint of step 51 is due (every step) but its weights' loss, computed at step 52,
    // is ten times the first: only step 50's checkpoint may be kept.
    let mut args = vec!["train", "--model", "mlp", "--data", d, "--out", out, "--steps", "300", "--lr", "0.1"];
    args.extend(["--lr-milestones", "50", "--lr-decay", "10000", "--checkpoint-every", "1", "--eval-every", "0"]);
    args.extend(TINY[..6].iter());
    let err = fail(&args);
    let run = dir.path().join("mlp");
    let ck: serde_json::Value = serde_json::from_slice(&std::fs::read(run.join("checkpoint.json")).unwrap()).unwrap();
    assert_eq!(ck["step"], 50, "{err}");
    // Uniform guessing over the 27 symbols costs ln 27 = 3.30.
    let test = kept_test_loss(&run);
    assert!(test < 3.30, "the kept checkpoint's test loss is {test}");
    assert!(err.contains("training stopped at step 51") && err.contains("the loss became"), "{err}");
    assert!(err.contains("checkpoint.json holds step 50"), "{err}");
}

#[test]
fn lr_find_leaves_a_run_directory_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let data = small_data(dir.path());
    tiny_mlp(&data, dir.path(), "100", &[]);
    let run = dir.path().join("mlp");
    let snapshot = |d: &Path| {
        let mut files: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().path())
            .map(|p| (p.clone(), std::fs::read(p).unwrap()))
            .collect();
        files.sort();
        files
    };
    let before = snapshot(&run);
    let mut args = vec!["lr-find", "--json", "--data", data.to_str().unwrap(), "--out", dir.path().to_str().unwrap()];
    args.extend(["--steps", "50"]);
    args.extend(TINY);
    let r = ok_json(&args);
    assert_eq!(snapshot(&run), before);
    assert_eq!(r["plot"].as_str().unwrap(), dir.path().join("lr-find-mlp.png").to_str().unwrap());
}

#[test]
fn the_model_card_lists_every_setting_that_shaped_the_weights() {
    let dir = tempfile::tempdir().unwrap();
    let data = small_data(dir.path());
    let mut args = vec!["train", "--model", "mlp", "--preset", "flat", "--json", "--data", data.to_str().unwrap()];
    args.extend(["--out", dir.path().to_str().unwrap(), "--steps", "60", "--block-size", "4", "--merge", "2"]);
    args.extend(["--n-embd", "4", "--n-hidden", "8", "--batch-norm", "true", "--dropout", "0.1"]);
    args.extend(["--weight-decay", "0.001", "--schedule", "cosine", "--batch-size", "16", "--lr", "0.05"]);
    ok_json(&args);
    let file = dir.path().join("mlp/model-int8.mkmr");
    let card = ok_json(&["inspect", file.to_str().unwrap(), "--json"])["card"].as_str().unwrap().to_string();
    for want in [
        "steps: 60, batch_size: 16, lr: 0.05, schedule: cosine to lr x 0.01",
        "weight_decay: 0.001, dropout: 0.1, batch_norm: folded, init: scaled",
    ] {
        assert!(card.contains(want), "{want:?} not in the card:\n{card}");
    }
}

#[test]
fn a_resumed_run_removes_what_a_killed_one_left_and_records_each_evaluation() {
    let dir = tempfile::tempdir().unwrap();
    let data = small_data(dir.path());
    tiny_mlp(&data, dir.path(), "200", &[]);
    let run = dir.path().join("mlp");
    let ck: serde_json::Value = serde_json::from_slice(&std::fs::read(run.join("checkpoint.json")).unwrap()).unwrap();
    // loss.png's dev series: one point per evaluation (every 100 steps).
    let steps: Vec<u64> = ck["dev_losses"].as_array().unwrap().iter().map(|p| p[0].as_u64().unwrap()).collect();
    assert_eq!(steps, [100, 200]);
    assert!(ck["start_dev"].as_f64().unwrap() > ck["best_dev"].as_f64().unwrap());
    for stale in [".tmpQ1w2E3", ".loss.png.999.tmp.png"] {
        std::fs::write(run.join(stale), "half a file").unwrap();
    }
    ok_json(&[
        "train",
        "--model",
        "mlp",
        "--json",
        "--out",
        dir.path().to_str().unwrap(),
        "--resume",
        "--steps",
        "300",
    ]);
    let left: Vec<String> = std::fs::read_dir(&run)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_new_run_killed_early_never_pairs_its_config_with_an_old_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let data = small_data(dir.path());
    let out = dir.path().to_str().unwrap();
    tiny_mlp(&data, dir.path(), "100", &[]);
    let run = dir.path().join("mlp");
    // A new, larger run into the same directory, killed before its first checkpoint.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_trainer"))
        .args([
            "train",
            "--model",
            "mlp",
            "--preset",
            "flat",
            "--data",
            data.to_str().unwrap(),
            "--out",
            out,
            "--n-hidden",
            "300",
        ])
        .args(["--steps", "1000000", "--checkpoint-every", "0", "--eval-every", "0", "--block-size", "2"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let config = run.join("config.toml");
    while !std::fs::read_to_string(&config).is_ok_and(|c| c.contains("n_hidden = 300")) {
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert!(child.try_wait().unwrap().is_none(), "the run ended before it could be killed");
    }
    child.kill().unwrap();
    let stderr = std::io::read_to_string(child.stderr.take().unwrap()).unwrap();
    child.wait().unwrap();
    // It said what it replaced, and removed the old checkpoint before training.
    assert!(stderr.contains("replacing the previous run") && stderr.contains("checkpoint.json"), "{stderr}");
    assert!(!run.join("checkpoint.json").exists());
    // Export (and eval) refuse cleanly instead of exporting the old weights as the new shape.
    for cmd in [&["export", "--run"][..], &["eval", "--run"][..]] {
        let err = fail(&[cmd, &[run.to_str().unwrap()]].concat());
        assert!(err.contains("no checkpoint.json") && err.contains("stopped before the first checkpoint"), "{err}");
    }
    // An old-style directory (a new config beside an old checkpoint) is refused by name.
    tiny_mlp(&data, dir.path(), "100", &[]);
    let text = std::fs::read_to_string(&config).unwrap().replace("n_hidden = 16", "n_hidden = 300");
    std::fs::write(&config, text).unwrap();
    let err = fail(&["export", "--run", run.to_str().unwrap()]);
    assert!(err.contains("describe different runs") && err.contains("n_hidden 300 vs 16"), "{err}");
    let err = fail(&["sample", "--run", run.to_str().unwrap()]);
    assert!(err.contains("describe different runs"), "{err}");
}

#[test]
fn sample_prints_names_only_on_stdout_and_unique_never_repeats() {
    let dir = tempfile::tempdir().unwrap();
    let data = small_data(dir.path());
    tiny_mlp(&data, dir.path(), "200", &[]);
    let run = dir.path().join("mlp");
    let out = trainer(&["sample", "--run", run.to_str().unwrap(), "-n", "30"]);
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let names: Vec<&str> = stdout.lines().collect();
    assert_eq!(names.len(), 30, "{stdout}");
    let vocab: String = std::fs::read_to_string(&data).unwrap();
    assert!(names.iter().all(|n| n.chars().all(|c| vocab.contains(c))), "{stdout}");
    assert!(String::from_utf8(out.stderr).unwrap().contains("of 30 names are copies of training names"));
    // A file without --run: no novelty count against some unrelated run.
    let file = run.join("model-f32.mkmr");
    let r = ok_json(&["sample", "--file", file.to_str().unwrap(), "-n", "5", "--json"]);
    assert!(r["copies_of_training_names"].is_null());
    // --unique: distinct names, none from training; and an error, not a repeat, when there are
    // not that many (argmax gives one name only).
    let u = ok_json(&["sample", "--run", run.to_str().unwrap(), "-n", "15", "--unique", "--json"]);
    let unique: Vec<&str> = u["names"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
    let mut sorted = unique.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), 15);
    assert_eq!(u["copies_of_training_names"], 0);
    let err = fail(&["sample", "--run", run.to_str().unwrap(), "-n", "2", "--unique", "--temperature", "0"]);
    assert!(err.contains("no new name in 100 tries"), "{err}");
}

#[test]
fn unusable_lines_are_skipped_on_request_and_repeats_removed() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = std::fs::read_to_string(small_data(dir.path())).unwrap();
    text.push_str("\ncf.\nemma\n");
    let data = dir.path().join("dirty.txt");
    std::fs::write(&data, &text).unwrap();
    let out = dir.path().to_str().unwrap();
    let base = ["train", "--model", "bigram", "--data", data.to_str().unwrap(), "--out", out, "--json"];
    let err = fail(&base);
    assert!(err.contains("line 601") && err.contains("--skip-bad-lines"), "{err}");
    let output = trainer(&[&base[..], &["--skip-bad-lines"]].concat());
    assert!(output.status.success());
    assert!(String::from_utf8(output.stderr).unwrap().contains("skipped 1 unusable line (line 601)"));
    let all: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let dedup = ok_json(&[&base[..], &["--skip-bad-lines", "--dedup"]].concat());
    // The repeated words are gone, so the fit over all words changes.
    assert_ne!(all["nll_all"], dedup["nll_all"]);
    let config = std::fs::read_to_string(dir.path().join("bigram/config.toml")).unwrap();
    assert!(config.contains("skip_bad_lines = true") && config.contains("dedup = true"), "{config}");
}

#[test]
fn a_context_longer_than_every_word_still_trains_and_samples() {
    let dir = tempfile::tempdir().unwrap();
    let data = small_data(dir.path());
    let out = dir.path().to_str().unwrap();
    let mut args =
        vec!["train", "--model", "mlp", "--preset", "flat", "--json", "--data", data.to_str().unwrap(), "--out", out];
    args.extend(["--steps", "200", "--block-size", "40", "--n-embd", "2", "--n-hidden", "8"]);
    let r = ok_json(&args);
    assert!(r["dev_loss"].as_f64().unwrap().is_finite());
    let s = ok_json(&["sample", "--run", dir.path().join("mlp").to_str().unwrap(), "-n", "5", "--json"]);
    assert_eq!(s["names"].as_array().unwrap().len(), 5);
}
