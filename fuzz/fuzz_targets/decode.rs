//! Any bytes: decoding never panics, and a model that decodes runs, one name at a time and in
//! a batch, and evaluates, without panicking; its map (what a firmware build writes down)
//! gives the same model. The CRC makes random bytes fail early, so half of the inputs are
//! re-sealed with a correct CRC to reach the structural checks.
#![no_main]

use libfuzzer_sys::fuzz_target;
use runtime::{format::crc32, BatchScratch, Model, ModelMap, Network, Pcg32, SampleConfig, Scratch, Temperature};

fn exercise(bytes: &[u8]) {
    let Ok(model) = Model::from_bytes(bytes) else { return };
    let map = ModelMap::of(bytes).expect("a file that decodes has a map");
    let mapped = Model::from_map(bytes, &map).expect("its map fits");
    assert_eq!((mapped.header(), mapped.weights()), (model.header(), model.weights()));

    let mut buf = vec![0u32; model.scratch_words()];
    let mut scratch = Scratch::new(&model, &mut buf).expect("scratch sized by the model");
    // Four symbols of at most four bytes each fit the name buffer.
    let cfg = SampleConfig { temperature: Temperature::from_milli(1500), top_k: 3, max_len: 4 };
    let mut rng = Pcg32::from_seed(1);
    let mut out = heapless::String::<16>::new();
    runtime::generate(&model, &mut scratch, &mut rng, &cfg, "", &mut out).expect("generates");
    let word: String = out.chars().collect();
    if !word.is_empty() {
        runtime::nll(&model, &mut scratch, [word.as_str()]).expect("evaluates its own word");
    }

    let mut batch_buf = vec![0u32; runtime::batch_scratch_words(&model, 9)];
    let mut batch = BatchScratch::new(&model, 9, &mut batch_buf).expect("batch scratch sized by the model");
    let mut rngs: Vec<Pcg32> = (0..9).map(Pcg32::from_seed).collect();
    let mut outs = vec![heapless::String::<16>::new(); 9];
    runtime::generate_batch(&model, &mut batch, &mut rngs, &cfg, "", &mut outs).expect("generates a batch");
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
