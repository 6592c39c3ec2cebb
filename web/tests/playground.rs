//! The playground's Rust side on the host (the page calls exactly these through its exports):
//! loading keeps the last good model, names are `runtime::names`' with their log-probability,
//! float files give the same names one at a time, the description is valid JSON.

use runtime::{Model, Network, Pcg32, Scratch, MAX_LEN};
use web::{config, json_string, temperature, Playground, MAX_NAMES};

const DEFAULT: &[u8] = include_bytes!("../../firmware/models/names-mlp-int8.mkmr");
const TINY_F32: &[u8] = include_bytes!("../../tests/fixtures/tiny-f32.mkmr");

#[test]
fn a_bad_file_is_refused_with_the_decoders_message_and_the_model_stays() {
    let mut p = Playground::new();
    assert!(p.generate(1, 0, 3, &config(1000, 0), "").unwrap_err().contains("no model loaded"));
    let info: serde_json::Value = serde_json::from_str(&p.load(DEFAULT.to_vec()).unwrap()).unwrap();
    assert_eq!(info["kind"], "mlp");
    assert_eq!(info["quant"], "int8");
    assert_eq!(info["bytes"], DEFAULT.len());
    assert_eq!(info["vocab"], ".abcdefghijklmnopqrstuvwxyz");
    assert!(info["card"].as_str().unwrap().contains("test_nll_int8"));
    let before = p.generate(42, 0, 20, &config(1000, 0), "").unwrap();

    let mut damaged = DEFAULT.to_vec();
    damaged[300] ^= 1;
    let e = p.load(damaged).unwrap_err();
    assert!(e.starts_with("not a model this page can run: ") && e.contains("CRC"), "{e}");
    assert!(p.load(b"<!doctype html>".to_vec()).unwrap_err().contains("not a makemore model file"));
    assert!(p.load(vec![]).unwrap_err().contains("truncated"));
    assert_eq!(p.generate(42, 0, 20, &config(1000, 0), "").unwrap(), before);
}

#[test]
fn names_are_the_runtimes_list_with_their_log_probabilities() {
    let mut p = Playground::new();
    p.load(DEFAULT.to_vec()).unwrap();
    let model = Model::from_bytes(DEFAULT).unwrap();
    let cfg = config(800, 5);
    let got = p.generate(42, 0, 50, &cfg, "ka").unwrap();
    let want = runtime::names(&model, 42, 0..50, &cfg, "ka").unwrap();
    assert_eq!(got.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>(), want);
    let mut buf = vec![0; model.scratch_words()];
    let mut s = Scratch::new(&model, &mut buf).unwrap();
    for (name, logp) in &got {
        assert!(name.starts_with("ka"));
        assert_eq!(*logp, -runtime::nll(&model, &mut s, [name.as_str()]).unwrap().sum);
        assert!(*logp < 0.0);
    }
    // A window of the list is the same names.
    let window = p.generate(42, 10, 5, &cfg, "ka").unwrap();
    assert_eq!(window, got[10..15]);
    assert!(p.generate(42, 0, MAX_NAMES + 1, &cfg, "").unwrap_err().contains("at most"));
    assert!(p.generate(42, 0, 1, &cfg, "k#").unwrap_err().contains("not in the model's vocabulary"));
    assert!(p.generate(42, u64::MAX, 2, &cfg, "").unwrap_err().contains("out of range"));
}

#[test]
fn a_float_file_gives_the_same_names_one_at_a_time() {
    let mut p = Playground::new();
    p.load(TINY_F32.to_vec()).unwrap();
    let model = Model::from_bytes(TINY_F32).unwrap();
    let cfg = config(1000, 0);
    let got: Vec<String> = p.generate(9, 0, 40, &cfg, "").unwrap().into_iter().map(|(n, _)| n).collect();
    assert_eq!(got, runtime::names(&model, 9, 0..40, &cfg, "").unwrap());
    let mut buf = vec![0; model.scratch_words()];
    let mut s = Scratch::new(&model, &mut buf).unwrap();
    let mut name = heapless::String::<{ 4 * MAX_LEN }>::new();
    runtime::generate(&model, &mut s, &mut Pcg32::for_name(9, 3), &cfg, "", &mut name).unwrap();
    assert_eq!(got[3], name.as_str());
    assert_eq!(p.bench(9, 40, &cfg).unwrap(), got.iter().map(|n| n.chars().count() as u64 + 1).sum::<u64>());
}

#[test]
fn the_distribution_and_the_settings() {
    let mut p = Playground::new();
    p.load(DEFAULT.to_vec()).unwrap();
    let probs = p.distribution(&config(1000, 3), "em").unwrap();
    assert_eq!(probs.len(), 27);
    assert_eq!(probs.iter().filter(|&&x| x > 0.0).count(), 3);
    assert!((probs.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    assert_eq!(temperature(" 0.8 "), Ok(800));
    assert_eq!(temperature("0"), Ok(0));
    assert!(temperature("hot").unwrap_err().starts_with("temperature \"hot\": a temperature is a decimal"));
    assert!(temperature("101").is_err());
    assert!(p.distribution(&config(200_000, 0), "").unwrap_err().contains("above 100"));
}

#[test]
fn descriptions_escape_what_json_needs() {
    assert_eq!(json_string("a\"b\\c\nd\u{1}é"), "\"a\\\"b\\\\c\\nd\\u0001é\"");
    let parsed: String = serde_json::from_str(&json_string("tab\there \"quoted\" \\ ok")).unwrap();
    assert_eq!(parsed, "tab\there \"quoted\" \\ ok");
}
