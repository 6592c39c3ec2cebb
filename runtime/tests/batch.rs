//! `generate_batch` is `generate` for many names at once: same RNG, same word, bit for bit.

mod common;

use common::*;
use proptest::prelude::*;
use runtime::kernels::{linear_f32, linear_f32_batch, linear_i8, linear_i8_batch};
use runtime::{
    batch_scratch_words, generate, generate_batch, to_words, BatchScratch, Error, Model, Pcg32, Quant, SampleConfig,
    Scratch, MAX_BATCH,
};

fn single(model: &Model, seeds: &[u64], cfg: &SampleConfig, prefix: &str) -> Vec<String> {
    let mut buf = vec![0.0; model.scratch_words()];
    let mut s = Scratch::new(model, &mut buf).unwrap();
    let mut out = heapless::String::<16>::new();
    seeds
        .iter()
        .map(|&seed| {
            generate(model, &mut s, &mut Pcg32::from_seed(seed), cfg, prefix, &mut out).unwrap();
            out.to_string()
        })
        .collect()
}

fn batched(model: &Model, seeds: &[u64], cfg: &SampleConfig, prefix: &str) -> Vec<String> {
    let h = model.header();
    let words = batch_scratch_words(h.vocab.len(), h.block_size, h.n_embd, h.n_hidden, seeds.len());
    let mut buf = vec![0.0; words];
    let mut s = BatchScratch::new(model, seeds.len(), &mut buf).unwrap();
    let mut rngs: Vec<Pcg32> = seeds.iter().map(|&seed| Pcg32::from_seed(seed)).collect();
    let mut outs = vec![heapless::String::<16>::new(); seeds.len()];
    generate_batch(model, &mut s, &mut rngs, cfg, prefix, &mut outs).unwrap();
    outs.iter().map(|o| o.to_string()).collect()
}

#[test]
fn batch_equals_one_name_at_a_time() {
    let files = [
        names_mlp(Quant::F32),
        names_mlp(Quant::Int8PerRow),
        bigram_bytes(".abc", &random_values(16, 2.0, 3), Quant::F32),
    ];
    let seeds: Vec<u64> = (0..37).collect();
    let configs = [
        SampleConfig::default(),
        SampleConfig { temperature: 0.7, top_k: 5, max_len: 16 },
        SampleConfig { temperature: 0.0, top_k: 0, max_len: 16 },
        SampleConfig { temperature: 1.3, top_k: 0, max_len: 4 },
    ];
    for bytes in &files {
        let model = Model::from_bytes(bytes).unwrap();
        for cfg in &configs {
            for prefix in ["", "a"] {
                let want = single(&model, &seeds, cfg, prefix);
                assert_eq!(batched(&model, &seeds, cfg, prefix), want, "{cfg:?} prefix {prefix:?}");
            }
        }
    }
}

#[test]
fn batch_size_and_scratch_are_checked() {
    let bytes = names_mlp(Quant::F32);
    let model = Model::from_bytes(&bytes).unwrap();
    let mut buf = vec![0.0; 1];
    assert!(matches!(BatchScratch::new(&model, 4, &mut buf), Err(Error::ScratchTooSmall { .. })));
    assert!(matches!(BatchScratch::new(&model, 0, &mut buf), Err(Error::BatchSize { .. })));
    assert!(matches!(BatchScratch::new(&model, MAX_BATCH + 1, &mut buf), Err(Error::BatchSize { .. })));
    let h = model.header();
    let mut buf = vec![0.0; batch_scratch_words(h.vocab.len(), h.block_size, h.n_embd, h.n_hidden, 2)];
    let mut s = BatchScratch::new(&model, 2, &mut buf).unwrap();
    let mut rngs = vec![Pcg32::from_seed(1); 3];
    let mut outs = vec![heapless::String::<8>::new(); 3];
    let cfg = SampleConfig::default();
    assert_eq!(
        generate_batch(&model, &mut s, &mut rngs, &cfg, "", &mut outs),
        Err(Error::BatchSize { n: 3, capacity: 2 })
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Column k of the batch kernels is the reference kernel on example k, bit for bit.
    #[test]
    fn batch_linear_kernels_equal_the_reference_per_column(
        n_in in 0usize..20, n_out in 0usize..30, n_batch in 1usize..40, seed in any::<u64>(),
    ) {
        let mut rng = Pcg32::from_seed(seed);
        let mut r = |s: f32| (rng.next_f32() * 2.0 - 1.0) * s;
        let xs: Vec<Vec<f32>> = (0..n_batch).map(|_| (0..n_in).map(|_| r(3.0)).collect()).collect();
        let x_t: Vec<f32> = (0..n_in).flat_map(|j| xs.iter().map(move |x| x[j])).collect();
        let w = to_words(&(0..n_in * n_out).map(|_| r(1.0)).collect::<Vec<_>>());
        let q: Vec<i8> = (0..n_in * n_out).map(|_| (r(1.0) * 127.0) as i8).collect();
        let s = to_words(&(0..n_out).map(|_| r(0.01).abs()).collect::<Vec<_>>());
        let b = to_words(&(0..n_out).map(|_| r(1.0)).collect::<Vec<_>>());
        let mut out_t = vec![0.0f32; n_out * n_batch];
        let mut want = vec![0.0f32; n_out];
        linear_f32_batch(&mut out_t, &x_t, n_batch, &w, &b);
        for (k, x) in xs.iter().enumerate() {
            linear_f32(&mut want, x, &w, &b);
            let got: Vec<u32> = (0..n_out).map(|i| out_t[i * n_batch + k].to_bits()).collect();
            prop_assert_eq!(got, want.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
        }
        linear_i8_batch(&mut out_t, &x_t, n_batch, &q, &s, &b);
        for (k, x) in xs.iter().enumerate() {
            linear_i8(&mut want, x, &q, &s, &b);
            let got: Vec<u32> = (0..n_out).map(|i| out_t[i * n_batch + k].to_bits()).collect();
            prop_assert_eq!(got, want.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
        }
    }
}

/// With no inputs the output is the bias itself, as in the reference: -0.0 stays -0.0 and an
/// odd scale does not touch it.
#[test]
fn batch_linear_kernels_without_inputs_copy_the_bias() {
    let b = to_words(&[-0.0, 1.5]);
    let s = to_words(&[f32::INFINITY, 2.0]);
    for n_batch in [1, 3] {
        let mut out_t = vec![7.0f32; 2 * n_batch];
        let mut want = vec![0.0f32; 2];
        linear_f32_batch(&mut out_t, &[], n_batch, &[], &b);
        linear_f32(&mut want, &[], &[], &b);
        let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        let col0 = |o: &[f32]| vec![o[0], o[n_batch]];
        assert_eq!(bits(&col0(&out_t)), bits(&want));
        linear_i8_batch(&mut out_t, &[], n_batch, &[], &s, &b);
        linear_i8(&mut want, &[], &[], &s, &b);
        assert_eq!(bits(&col0(&out_t)), bits(&want));
    }
}
