//! Golden samples: (file, seed, temperature, top-k) -> the first 20 names, fixed in
//! `fixtures/golden.json`. The names a user sees on the workstation are the names the board
//! produces for the same file and settings; any change to sampling or arithmetic shows here.

use tools::fixtures::{fixture_dir, names, Golden};

#[test]
fn runtime_reproduces_the_golden_names() {
    let golden: Vec<Golden> =
        serde_json::from_slice(&std::fs::read(fixture_dir().join("golden.json")).unwrap()).unwrap();
    assert_eq!(golden.len(), 6, "two files x three settings");
    for g in &golden {
        let bytes = std::fs::read(fixture_dir().join(&g.file)).unwrap();
        let got = names(&bytes, g.seed, g.temperature, g.top_k).unwrap();
        assert_eq!(got, g.names, "{} seed {} temperature {} top_k {}", g.file, g.seed, g.temperature, g.top_k);
        assert!(got.iter().all(|n| n.chars().all(|c| c.is_ascii_lowercase())));
    }
    // Temperature 0 is the argmax path: the same name every time.
    let argmax = golden.iter().find(|g| g.temperature == 0.0).unwrap();
    assert!(argmax.names.iter().all(|n| n == &argmax.names[0]));
}

#[test]
fn fixtures_are_small_and_valid() {
    for f in ["tiny-f32.mkmr", "tiny-int8.mkmr"] {
        let bytes = std::fs::read(fixture_dir().join(f)).unwrap();
        assert!(bytes.len() < 4096, "{f} is {} bytes", bytes.len());
        let model = runtime::Model::from_bytes(&bytes).unwrap();
        assert_eq!(model.n_params(), 27 * 4 + 12 * 16 + 16 + 16 * 27 + 27);
    }
}
