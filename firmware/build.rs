//! Build script (runs on the host):
//! 1. picks the memory layout: `memory/nrf52840.x` with feature `nrf52840`, `microbit.x` for
//!    thumbv6m (QEMU microbit), else `mps2-an386.x` (QEMU mps2-an386/an385);
//! 2. embeds the model: `FIRMWARE_MODEL=path` (relative to this crate), default the int8
//!    MLP in `models/`; it is decoded here with the same runtime, so a bad file fails the
//!    build, and the scratch buffer is sized exactly (`SCRATCH_WORDS`);
//! 3. writes what the on-target tests compare with, computed by the runtime on the host:
//!    the golden names of `tests/fixtures/`, an NLL over a word list, tanh and softmax bits.

use runtime::{Model, Network, Pcg32, Quant, SampleConfig, Scratch, Temperature, MAX_LEN};
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::{env, fs};

/// (seed, temperature in thousandths, top_k): the same settings as `tools/src/fixtures.rs`.
const SETTINGS: [(u64, u32, usize); 5] = [(42, 1000, 0), (7, 800, 5), (1, 0, 0), (3, 1500, 0), (5, 4000, 0)];
const FIXTURES: [&str; 4] = ["tiny-f32.mkmr", "tiny-int8.mkmr", "tiny-accents-int8.mkmr", "tiny-wavenet-int8.mkmr"];

fn main() {
    let here = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    let target = env::var("TARGET").unwrap();

    // ARMv7-M cores (M3, M4F) have an MPU for the stack guard (src/lib.rs).
    println!("cargo::rustc-check-cfg=cfg(has_mpu)");
    if target.starts_with("thumbv7") {
        println!("cargo::rustc-cfg=has_mpu");
    }
    let board = if env::var_os("CARGO_FEATURE_NRF52840").is_some() {
        "nrf52840"
    } else if target.starts_with("thumbv6m") {
        "microbit"
    } else {
        "mps2-an386"
    };
    fs::copy(here.join(format!("memory/{board}.x")), out.join("memory.x")).unwrap();
    // cortex-m-rt's `device` feature includes the device's interrupt handler names; this
    // firmware has no interrupt handlers (see `__INTERRUPTS` in src/lib.rs).
    fs::write(out.join("device.x"), "/* no interrupt handlers */\n").unwrap();
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory");

    println!("cargo:rerun-if-env-changed=FIRMWARE_MODEL");
    let model_path = here.join(env::var("FIRMWARE_MODEL").unwrap_or_else(|_| "models/names-mlp-int8.mkmr".into()));
    println!("cargo:rerun-if-changed={}", model_path.display());
    let bytes = fs::read(&model_path).unwrap_or_else(|e| panic!("cannot read model {}: {e}", model_path.display()));
    let model =
        Model::from_bytes(&bytes).unwrap_or_else(|e| panic!("{} is not a valid model: {e}", model_path.display()));
    fs::write(out.join("model.mkmr"), &bytes).unwrap();
    // The net the firmware runs: only its code is linked (an integer model needs no float
    // code at all), and the buffers are sized exactly for this model.
    let (net, method) = match model.header().quant {
        Quant::Int8 => ("IntNet", "int"),
        _ => ("FloatNet", "float"),
    };
    let src = format!(
        "/// Words of scratch the model needs.\n\
         pub const SCRATCH_WORDS: usize = {words};\n\
         /// Bytes of a name of `MAX_LEN` of the vocabulary's widest symbols.\n\
         pub const NAME_BYTES: usize = {name};\n\
         /// The net this model file holds.\n\
         pub type Net<'m, 'a> = runtime::{net}<'m, 'a>;\n\
         /// Whether it is an integer model.\n\
         pub const INTEGER: bool = {integer};\n\
         /// The typed net of the embedded model.\n\
         pub fn net<'m, 'a>(model: &'m runtime::Model<'a>) -> Result<Net<'m, 'a>, runtime::Error> {{ model.{method}() }}\n\
         /// Its parameters (weights and biases).\n\
         pub const N_PARAMS: usize = {params};\n\
         /// Bytes of RAM it needs: the scratch and the context.\n\
         pub const RAM_BYTES: usize = {ram};\n",
        params = model.n_params(),
        ram = model.ram_bytes(),
        words = model.scratch_words(),
        name = runtime::name_capacity(MAX_LEN, model.vocab().widest_symbol()),
        integer = model.header().quant == Quant::Int8,
    );
    let map = runtime::ModelMap::of(&bytes).unwrap();
    let src = src + &map_source(&map);
    fs::write(out.join("model.rs"), src).unwrap();

    write_expectations(&here, &out);
}

/// The model's map as Rust source: `pub const MAP`. The device builds its model from it with
/// `Model::from_map` (bounds checks only); every check of the decoder ran above, here. The
/// model card stays in the embedded bytes but not in the map: the device never shows it.
fn map_source(m: &runtime::ModelMap) -> String {
    let h = &m.header;
    let linear: Vec<String> = m.linear.iter().map(|l| format!("{l:?}")).collect();
    let layers: Vec<String> = h
        .layers
        .as_slice()
        .iter()
        .map(|l| format!("runtime::LayerShape {{ n_merge: {}, n_out: {} }}", l.n_merge, l.n_out))
        .collect();
    let kind = match h.kind {
        runtime::ModelKind::Bigram => "Bigram",
        _ => "Mlp",
    };
    let quant = match h.quant {
        Quant::Int8 => "Int8",
        _ => "F32",
    };
    format!(
        "/// Where everything lies in `BYTES` (computed by the build script's full decode).\n\
         pub const MAP: runtime::ModelMap<'static> = runtime::ModelMap {{\n\
         \x20   header: runtime::Header {{\n\
         \x20       kind: runtime::ModelKind::{kind},\n\
         \x20       vocab: match runtime::Vocab::new({vocab:?}) {{ Ok(v) => v, Err(_) => panic!(\"bad vocabulary\") }},\n\
         \x20       block_size: {block},\n\
         \x20       n_embd: {embd},\n\
         \x20       layers: match runtime::LayerShapes::new(&[{layers}]) {{ Some(l) => l, None => panic!(\"too many layers\") }},\n\
         \x20       quant: runtime::Quant::{quant},\n\
         \x20       card: \"\",\n\
         \x20   }},\n\
         \x20   first: [{first}],\n\
         \x20   linear: [{linear}],\n\
         }};\n",
        vocab = h.vocab.as_str(),
        block = h.block_size,
        embd = h.n_embd,
        layers = layers.join(", "),
        first = m.first.iter().map(|o| o.to_string()).collect::<Vec<_>>().join(", "),
        linear = linear.join(", "),
    )
}

fn names(bytes: &[u8], seed: u64, temperature: Temperature, top_k: usize) -> Vec<String> {
    let model = Model::from_bytes(bytes).unwrap();
    let mut buf = vec![0; model.scratch_words()];
    let mut scratch = Scratch::new(&model, &mut buf).unwrap();
    let cfg = SampleConfig { temperature, top_k, max_len: MAX_LEN };
    let mut out = heapless::String::<{ 4 * MAX_LEN }>::new();
    (0..20)
        .map(|i| {
            // Name i from its own stream, as `trainer sample` and the on-target tests number them.
            runtime::generate(&model, &mut scratch, &mut Pcg32::for_name(seed, i), &cfg, "", &mut out).unwrap();
            out.to_string()
        })
        .collect()
}

fn write_expectations(here: &Path, out: &Path) {
    let fixtures = here.join("../tests/fixtures");
    let mut src = String::from("// Generated by build.rs from the host runtime.\n");
    for (i, f) in FIXTURES.iter().enumerate() {
        let path = fixtures.join(f);
        println!("cargo:rerun-if-changed={}", path.display());
        fs::copy(&path, out.join(f)).unwrap();
        writeln!(src, "pub static FIXTURE_{i}: &[u8] = include_bytes!(concat!(env!(\"OUT_DIR\"), \"/{f}\"));").unwrap();
    }
    let all: Vec<String> = (0..FIXTURES.len()).map(|i| format!("FIXTURE_{i}")).collect();
    writeln!(src, "pub static FIXTURES: [&[u8]; {}] = [{}];", FIXTURES.len(), all.join(", ")).unwrap();
    // (fixture index, seed, temperature in thousandths, top_k, names)
    writeln!(src, "pub static GOLDEN: &[(usize, u64, u32, usize, [&str; 20])] = &[").unwrap();
    for (i, f) in FIXTURES.iter().enumerate() {
        let bytes = fs::read(fixtures.join(f)).unwrap();
        for (seed, t, k) in SETTINGS {
            writeln!(src, "    ({i}, {seed}, {t}, {k}, {:?}),", names(&bytes, seed, Temperature::from_milli(t), k))
                .unwrap();
        }
    }
    writeln!(src, "];").unwrap();

    // NLL of every 100th name of data/names.txt under each fixture, as f64 bits.
    let data = here.join("../data/names.txt");
    println!("cargo:rerun-if-changed={}", data.display());
    let text = fs::read_to_string(&data).unwrap();
    let words: Vec<&str> = text.lines().step_by(100).collect();
    writeln!(src, "pub static WORDS: &[&str] = &{words:?};").unwrap();
    let nlls: Vec<String> = FIXTURES
        .iter()
        .map(|f| {
            let bytes = fs::read(fixtures.join(f)).unwrap();
            let model = Model::from_bytes(&bytes).unwrap();
            let mut buf = vec![0; model.scratch_words()];
            let mut s = Scratch::new(&model, &mut buf).unwrap();
            let nll = runtime::nll(&model, &mut s, words.iter().copied()).unwrap();
            format!("({:#x}, {})", nll.sum.to_bits(), nll.count)
        })
        .collect();
    writeln!(src, "pub static NLL: [(u64, usize); {}] = [{}];", FIXTURES.len(), nlls.join(", ")).unwrap();

    // The integer model's tanh and softmax weights on grids.
    let ts: Vec<String> = (-300..=300).map(|i| format!("{}", runtime::quant::tanh_q15((i * 109) as i16))).collect();
    writeln!(src, "pub static TANH_Q15: [i16; 601] = [{}];", ts.join(", ")).unwrap();
    let sm = runtime::quant::Softmax::new(1500);
    let ws: Vec<String> = (0..300u32).map(|i| format!("{}", sm.weight(i * i * 7))).collect();
    writeln!(src, "pub static WEIGHTS_T1500: [u32; 300] = [{}];", ws.join(", ")).unwrap();

    // tanhf and softmax on a grid, as f32 bits.
    let xs: Vec<f32> = (-80..=80).map(|i| i as f32 * 0.123).collect();
    let mut ys = xs.clone();
    runtime::kernels::tanh(&mut ys);
    let pairs: Vec<String> =
        xs.iter().zip(&ys).map(|(x, y)| format!("({:#x}, {:#x})", x.to_bits(), y.to_bits())).collect();
    writeln!(src, "pub static TANH: &[(u32, u32)] = &[{}];", pairs.join(", ")).unwrap();
    let logits: Vec<f32> = (0..27).map(|i| (i as f32 * 0.77).sin() * 6.0).collect();
    let mut p = logits.clone();
    runtime::kernels::softmax(&mut p);
    let bits = |v: &[f32]| v.iter().map(|x| format!("{:#x}", x.to_bits())).collect::<Vec<_>>().join(", ");
    writeln!(src, "pub static SOFTMAX_IN: [u32; 27] = [{}];", bits(&logits)).unwrap();
    writeln!(src, "pub static SOFTMAX_OUT: [u32; 27] = [{}];", bits(&p)).unwrap();
    fs::write(out.join("expected.rs"), src).unwrap();
}
