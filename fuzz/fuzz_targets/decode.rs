//! Any bytes: decoding never panics, and a model that decodes runs forward and generates
//! without panicking. The CRC makes random bytes fail early, so half of the inputs are
//! re-sealed with a correct CRC to reach the structural checks.
#![no_main]

use libfuzzer_sys::fuzz_target;
use runtime::{format::crc32, Model, Pcg32, SampleConfig, Scratch};

fn exercise(bytes: &[u8]) {
    let Ok(model) = Model::from_bytes(bytes) else { return };
    let mut buf = vec![0.0; model.scratch_words()];
    let mut scratch = Scratch::new(&model, &mut buf).expect("scratch sized by the model");
    let ctx = vec![0u8; model.block_size()];
    model.forward(&ctx, &mut scratch).expect("a decoded model runs");
    let mut rng = Pcg32::from_seed(1);
    let mut out = heapless::String::<16>::new();
    runtime::generate(&model, &mut scratch, &mut rng, &SampleConfig::default(), "", &mut out).expect("generates");
}

fuzz_target!(|data: &[u8]| {
    exercise(data);
    if data.len() >= 4 {
        let mut sealed = data[..data.len() - 4].to_vec();
        let crc = crc32(&sealed);
        sealed.extend(crc.to_le_bytes());
        exercise(&sealed);
    }
});
