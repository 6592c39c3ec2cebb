//! The committed golden names (`tests/fixtures/golden.json`, checked against the trainer's
//! fixtures by the workspace's tests) from the runtime alone, so that a build with other
//! target features (`-C target-cpu=native` picks the vector tanh and exp) is checked too.

use makemore_runtime::{generate, Model, Network, Pcg32, SampleConfig, Scratch, Temperature, MAX_LEN};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures");

#[test]
fn golden_names_on_this_build() {
    let golden: serde_json::Value =
        serde_json::from_slice(&std::fs::read(format!("{FIXTURES}/golden.json")).unwrap()).unwrap();
    let cases = golden.as_array().unwrap();
    assert!(cases.len() >= 6, "{} cases", cases.len());
    for g in cases {
        let bytes = std::fs::read(format!("{FIXTURES}/{}", g["file"].as_str().unwrap())).unwrap();
        let model = Model::from_bytes(&bytes).unwrap();
        let mut buf = vec![0; model.scratch_words()];
        let mut scratch = Scratch::new(&model, &mut buf).unwrap();
        let seed = g["seed"].as_u64().unwrap();
        let cfg = SampleConfig {
            temperature: Temperature::from_milli(g["temperature_milli"].as_u64().unwrap() as u32),
            top_k: g["top_k"].as_u64().unwrap() as usize,
            max_len: MAX_LEN,
        };
        let want: Vec<&str> = g["names"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
        let mut out = heapless::String::<{ 4 * MAX_LEN }>::new();
        let got: Vec<String> = (0..want.len() as u64)
            .map(|i| {
                generate(&model, &mut scratch, &mut Pcg32::for_name(seed, i), &cfg, "", &mut out).unwrap();
                out.to_string()
            })
            .collect();
        assert_eq!(got, want, "{g}");
        // The batched list too (`trainer sample`, the playground).
        assert_eq!(makemore_runtime::names(&model, seed, 0..want.len() as u64, &cfg, "").unwrap(), want, "{g}");
    }
}
