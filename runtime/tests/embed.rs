//! `embed::source`, what a firmware's build script writes for `include_model!`: the sizes the
//! model needs, its net, its map, and the decoder's message for a bad file. (The firmware and
//! `examples/own-firmware` compile and run the generated module under QEMU.)

mod common;

use common::*;
use makemore_runtime::embed::source;
use makemore_runtime::{DecodeError, Model, ModelMap, Network, Quant};
use std::path::Path;

#[test]
fn the_generated_module_holds_the_models_sizes_net_and_map() {
    for quant in [Quant::Int8, Quant::F32] {
        let bytes = names_mlp(quant);
        let model = Model::from_bytes(&bytes).unwrap();
        let src = source(&bytes, Path::new("/models/names.mkmr")).unwrap();
        let net = if quant == Quant::Int8 { "IntNet" } else { "FloatNet" };
        for want in [
            format!("pub const SCRATCH_WORDS: usize = {};", model.scratch_words()),
            format!("pub const RAM_BYTES: usize = {};", model.ram_bytes()),
            format!("pub const N_PARAMS: usize = {};", model.n_params()),
            format!("pub const INTEGER: bool = {};", quant == Quant::Int8),
            // An MLP has nothing to stream: the net without the streaming code.
            format!("pub type Net<'m, 'a> = makemore_runtime::{net}<'m, 'a, false>;"),
            format!(
                "model.{}().map(makemore_runtime::{net}::without_streaming)",
                if quant == Quant::Int8 { "int" } else { "float" }
            ),
            format!(
                "static ALIGNED: &Aligned<[u8; {}]> = &Aligned {{ bytes: *include_bytes!(\"/models/names.mkmr\") }};",
                bytes.len()
            ),
            "#[repr(C, align(4))]".to_string(),
            format!("first: [{}]", ModelMap::of(&bytes).unwrap().first.map(|o| o.to_string()).join(", ")),
        ] {
            assert!(src.contains(&want), "{quant:?}: no {want:?} in\n{src}");
        }
    }
}

#[test]
fn a_hierarchy_gets_the_streaming_net() {
    let bytes = encoded(&stack(".abc", 8, 4, &[(2, 8), (2, 8), (2, 8), (1, 4)], 1), Quant::Int8);
    let src = source(&bytes, Path::new("h.mkmr")).unwrap();
    let model = Model::from_bytes(&bytes).unwrap();
    assert!(model.stream_words() > 0);
    assert!(src.contains("pub type Net<'m, 'a> = makemore_runtime::IntNet<'m, 'a>;"), "{src}");
    assert!(src.contains(&format!("pub const SCRATCH_WORDS: usize = {};", model.scratch_words())), "{src}");
}

#[test]
fn a_bad_file_is_the_decoders_error() {
    let mut bytes = names_mlp(Quant::Int8);
    bytes[40] ^= 1;
    assert!(matches!(source(&bytes, Path::new("m.mkmr")), Err(DecodeError::CrcMismatch { .. })));
    assert!(matches!(source(b"", Path::new("m.mkmr")), Err(DecodeError::TooShort { .. })));
}
