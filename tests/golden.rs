//! Golden samples: (file, seed, temperature, top-k) -> the first 20 names, fixed in
//! `fixtures/golden.json`. The names a user sees on the workstation are the names the board
//! produces for the same file and settings; any change to sampling or arithmetic shows here.

use runtime::{Model, Network, Quant, SampleConfig, Temperature, MAX_LEN};
use tools::fixtures::{accented, fixture_dir, names, Golden, Kind, FILES, SETTINGS};

fn golden() -> Vec<Golden> {
    serde_json::from_slice(&std::fs::read(fixture_dir().join("golden.json")).unwrap()).unwrap()
}

#[test]
fn runtime_reproduces_the_golden_names() {
    let golden = golden();
    assert_eq!(golden.len(), FILES.len() * SETTINGS.len());
    for g in &golden {
        let bytes = std::fs::read(fixture_dir().join(&g.file)).unwrap();
        let got = names(&bytes, g.seed, Temperature::from_milli(g.temperature_milli), g.top_k).unwrap();
        assert_eq!(got, g.names, "{} seed {} temperature {} top_k {}", g.file, g.seed, g.temperature_milli, g.top_k);
        // The batched list (`trainer sample`, the playground) is the same, name for name, and
        // name i is the same word whatever range is asked for.
        let model = Model::from_bytes(&bytes).unwrap();
        let cfg = SampleConfig {
            temperature: Temperature::from_milli(g.temperature_milli),
            top_k: g.top_k,
            max_len: MAX_LEN,
        };
        assert_eq!(runtime::names(&model, g.seed, 0..g.names.len() as u64, &cfg, "").unwrap(), g.names);
        assert_eq!(runtime::names(&model, g.seed, 5..12, &cfg, "").unwrap(), g.names[5..12]);
        let vocab = model.vocab().as_str().to_string();
        assert!(got.iter().all(|n| n.chars().all(|c| c != '.' && vocab.contains(c))), "{got:?}");
        assert!(got.iter().all(|n| n.chars().count() <= MAX_LEN));
    }
    // Temperature 0 is the argmax path: the same name every time.
    for argmax in golden.iter().filter(|g| g.temperature_milli == 0) {
        assert!(argmax.names.iter().all(|n| n == &argmax.names[0]), "{argmax:?}");
    }
}

/// The accented fixture exercises what ASCII cannot: names longer than 32 bytes (but at
/// most 32 symbols), made of two-byte symbols.
#[test]
fn the_accented_fixture_makes_long_multi_byte_names() {
    let g: Vec<Golden> = golden().into_iter().filter(|g| g.file.contains("accents")).collect();
    let all: Vec<&String> = g.iter().flat_map(|g| &g.names).collect();
    assert!(all.iter().any(|n| n.len() > 32), "no name over 32 bytes");
    assert!(all.iter().any(|n| n.chars().any(|c| c.len_utf8() == 2)), "no two-byte symbol");
    assert_eq!(accented("rossella"), "rößélla");
}

#[test]
fn fixtures_are_small_and_valid() {
    for (f, quant, kind) in FILES {
        let bytes = std::fs::read(fixture_dir().join(f)).unwrap();
        // The on-target tests copy the integer fixtures into 1,536 aligned bytes.
        let limit = if quant == Quant::Int8 { 1536 } else { 4096 };
        assert!(bytes.len() < limit, "{f} is {} bytes, over {limit}", bytes.len());
        let model = Model::from_bytes(&bytes).unwrap();
        assert_eq!(model.header().quant, quant);
        let v = model.vocab().len();
        let (layers, params) = match kind {
            // C; W1 (3 x 4 inputs -> 16) + b1; W2 + b2.
            Kind::Plain | Kind::Accents => (2, v * 4 + 12 * 16 + 16 + 16 * v + v),
            // C; pairs (2 x 4 -> 10) + b; pairs (2 x 10 -> 10) + b; logits.
            Kind::Wavenet => (3, v * 4 + 8 * 10 + 10 + 20 * 10 + 10 + 10 * v + v),
        };
        assert_eq!((model.header().layers.as_slice().len(), model.n_params()), (layers, params), "{f}");
    }
}
