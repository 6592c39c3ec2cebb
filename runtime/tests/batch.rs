//! `generate_batch` is `generate` for many names at once: same RNG, same word, bit for bit,
//! for every shape of model and both number formats.

mod common;

use common::*;
use makemore_runtime::{
    batch_scratch_words, generate, generate_batch, BatchScratch, Error, Model, Network, Pcg32, Quant, SampleConfig,
    Scratch, Temperature, MAX_BATCH, MAX_LEN,
};

type Name = heapless::String<{ 4 * MAX_LEN }>;

fn single(model: &Model, seeds: &[u64], cfg: &SampleConfig, prefix: &str) -> Vec<String> {
    let mut buf = vec![0; model.scratch_words()];
    let mut s = Scratch::new(model, &mut buf).unwrap();
    let mut out = Name::new();
    seeds
        .iter()
        .map(|&seed| {
            generate(model, &mut s, &mut Pcg32::from_seed(seed), cfg, prefix, &mut out).unwrap();
            out.to_string()
        })
        .collect()
}

fn batched(model: &Model, seeds: &[u64], cfg: &SampleConfig, prefix: &str) -> Vec<String> {
    let mut buf = vec![0; batch_scratch_words(model, seeds.len())];
    let mut s = BatchScratch::new(model, seeds.len(), &mut buf).unwrap();
    let mut rngs: Vec<Pcg32> = seeds.iter().map(|&seed| Pcg32::from_seed(seed)).collect();
    let mut outs = vec![Name::new(); seeds.len()];
    generate_batch(model, &mut s, &mut rngs, cfg, prefix, &mut outs).unwrap();
    outs.iter().map(|o| o.to_string()).collect()
}

#[test]
fn batch_equals_one_name_at_a_time() {
    let seeds: Vec<u64> = (0..37).collect();
    let configs = [
        SampleConfig::default(),
        SampleConfig { temperature: Temperature::from_milli(700), top_k: 5, max_len: 16 },
        SampleConfig { temperature: Temperature::ARGMAX, top_k: 0, max_len: 16 },
        SampleConfig { temperature: Temperature::from_milli(1300), top_k: 0, max_len: 4 },
    ];
    for quant in [Quant::F32, Quant::Int8] {
        for (name, bytes) in shapes(quant) {
            let model = Model::from_bytes(&bytes).unwrap();
            for cfg in &configs {
                for prefix in ["", "a"] {
                    let want = single(&model, &seeds, cfg, prefix);
                    assert_eq!(
                        batched(&model, &seeds, cfg, prefix),
                        want,
                        "{quant:?} {name} {cfg:?} prefix {prefix:?}"
                    );
                }
            }
        }
    }
}

#[test]
fn streaming_hierarchies_in_a_batch_equal_one_name_at_a_time() {
    // Merges of 3 and of 2 then 4, a dense layer above the merges, prefixes longer than the
    // context: every name's rings slide within the batch.
    let seeds: Vec<u64> = (0..29).collect();
    let shapes: [(usize, &[(usize, usize)]); 3] =
        [(9, &[(3, 10), (3, 8), (1, 27)]), (8, &[(2, 6), (4, 9), (1, 11), (1, 27)]), (4, &[(2, 5), (2, 7), (1, 27)])];
    for quant in [Quant::F32, Quant::Int8] {
        for (i, (block, layers)) in shapes.into_iter().enumerate() {
            let bytes = encoded(&stack(NAMES, block, 4, layers, 20 + i as u64), quant);
            let model = Model::from_bytes(&bytes).unwrap();
            assert!(model.stream_words() > 0);
            for prefix in ["", "e", "christopher"] {
                let cfg = SampleConfig::default();
                let want = single(&model, &seeds, &cfg, prefix);
                assert_eq!(batched(&model, &seeds, &cfg, prefix), want, "{quant:?} {layers:?} prefix {prefix:?}");
            }
        }
    }
}

#[test]
fn batch_size_and_scratch_are_checked() {
    let bytes = names_mlp(Quant::Int8);
    let model = Model::from_bytes(&bytes).unwrap();
    let mut buf = vec![0; 1];
    assert!(matches!(BatchScratch::new(&model, 4, &mut buf), Err(Error::ScratchTooSmall { .. })));
    assert!(matches!(BatchScratch::new(&model, 0, &mut buf), Err(Error::BatchSize { .. })));
    assert!(matches!(BatchScratch::new(&model, MAX_BATCH + 1, &mut buf), Err(Error::BatchSize { .. })));
    let mut buf = vec![0; batch_scratch_words(&model, 2)];
    let mut s = BatchScratch::new(&model, 2, &mut buf).unwrap();
    let mut rngs = vec![Pcg32::from_seed(1); 3];
    let mut outs = vec![Name::new(); 3];
    let cfg = SampleConfig::default();
    assert_eq!(
        generate_batch(&model, &mut s, &mut rngs, &cfg, "", &mut outs),
        Err(Error::BatchSize { n: 3, capacity: 2 })
    );
    // A scratch made for another model is refused.
    let other = encoded(&mlp(NAMES, 5, 4, 16, 1), Quant::Int8);
    let other = Model::from_bytes(&other).unwrap();
    let mut rngs = vec![Pcg32::from_seed(1); 2];
    let mut outs = vec![Name::new(); 2];
    assert_eq!(generate_batch(&other, &mut s, &mut rngs, &cfg, "", &mut outs), Err(Error::ScratchForOtherModel));
}

#[test]
fn a_batch_scratch_made_for_another_model_of_the_same_size_computes_its_first_step() {
    for quant in [Quant::F32, Quant::Int8] {
        let (a, b) = (encoded(&mlp(NAMES, 3, 4, 16, 7), quant), encoded(&mlp(NAMES, 3, 4, 16, 8), quant));
        let (ma, mb) = (Model::from_bytes(&a).unwrap(), Model::from_bytes(&b).unwrap());
        let seeds: Vec<u64> = (0..40).collect();
        let mut buf = vec![0; batch_scratch_words(&ma, seeds.len())];
        let mut s = BatchScratch::new(&ma, seeds.len(), &mut buf).unwrap();
        let mut rngs: Vec<Pcg32> = seeds.iter().map(|&seed| Pcg32::from_seed(seed)).collect();
        let mut outs = vec![Name::new(); seeds.len()];
        let cfg = SampleConfig::default();
        generate_batch(&mb, &mut s, &mut rngs, &cfg, "", &mut outs).unwrap();
        let got: Vec<String> = outs.iter().map(|o| o.to_string()).collect();
        assert_eq!(got, single(&mb, &seeds, &cfg, ""), "{quant:?}");
        assert_ne!(got, single(&ma, &seeds, &cfg, ""), "{quant:?}: the two models differ");
    }
}
