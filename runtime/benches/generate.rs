//! Host sampling speed of the runtime: names/s and time per generated symbol for the bigram,
//! the default model the firmware embeds (the WaveNet-style hierarchy, f32 and int8) and the
//! flat MLP (`--preset flat`, int8). One iteration
//! generates 100 names from a fixed seed, so every iteration does the same work; the batched
//! variant generates 100 names, name i from seed i, all at once (`generate_batch`).
//! `BENCH_MODEL=path` adds that model file as `generate/file`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use makemore_runtime::{
    batch_scratch_words, generate, generate_batch, BatchScratch, FloatBody, FloatModel, Model, Network, Pcg32, Quant,
    SampleConfig, Scratch, Stop, MAX_LEN,
};
use std::hint::black_box;

const N: usize = 100;

/// The counts bigram (+1 smoothing) of data/names.txt, as an f32 model file.
fn bigram_file() -> Vec<u8> {
    let text = include_str!("../../data/names.txt");
    let symbols: String = ".abcdefghijklmnopqrstuvwxyz".into();
    let id = |c: char| symbols.chars().position(|s| s == c).unwrap_or(0);
    let mut counts = vec![1.0f64; 27 * 27];
    for w in text.lines() {
        let mut prev = 0;
        for next in w.chars().map(id).chain([0]) {
            counts[prev * 27 + next] += 1.0;
            prev = next;
        }
    }
    let table: Vec<f32> = counts
        .chunks(27)
        .flat_map(|row| {
            let total: f64 = row.iter().sum();
            row.iter().map(move |c| (c / total).ln() as f32).collect::<Vec<_>>()
        })
        .collect();
    let model = FloatModel { vocab: symbols, block_size: 1, body: FloatBody::Bigram { table } };
    model.encode(Quant::F32, "").unwrap().bytes
}

/// Generates `N` names from seed 1; returns the number of symbols (forward passes).
fn run(model: &Model, scratch: &mut Scratch) -> usize {
    let mut rng = Pcg32::from_seed(1);
    let cfg = SampleConfig::DEFAULT;
    let mut name = heapless::String::<MAX_LEN>::new();
    let mut symbols = 0;
    for _ in 0..N {
        let stop = generate(model, scratch, &mut rng, &cfg, "", &mut name).unwrap();
        symbols += name.chars().count() + usize::from(stop == Stop::Boundary);
    }
    symbols
}

/// Generates `N` names at once, name `i` from `Pcg32::from_seed(i)`.
fn run_batch(model: &Model, scratch: &mut BatchScratch, outs: &mut [heapless::String<MAX_LEN>]) {
    let mut rngs: Vec<Pcg32> = (0..N as u64).map(Pcg32::from_seed).collect();
    let cfg = SampleConfig::DEFAULT;
    generate_batch(model, scratch, &mut rngs, &cfg, "", outs).unwrap();
}

fn bench(c: &mut Criterion) {
    let mut files: Vec<(&str, Vec<u8>)> = vec![
        ("bigram", bigram_file()),
        ("mlp-f32", include_bytes!("../../firmware/models/names-mlp-f32.mkmr").to_vec()),
        ("mlp-int8", include_bytes!("../../firmware/models/names-mlp-int8.mkmr").to_vec()),
        ("flat-int8", include_bytes!("../../firmware/models/names-flat-int8.mkmr").to_vec()),
    ];
    // Any other model file, measured as `generate/file`: `BENCH_MODEL=run/model-int8.mkmr`.
    if let Ok(path) = std::env::var("BENCH_MODEL") {
        files.push(("file", std::fs::read(&path).unwrap_or_else(|e| panic!("BENCH_MODEL {path}: {e}"))));
    }
    for (name, bytes) in &files {
        let model = Model::from_bytes(bytes).unwrap();
        let mut buf = vec![0; model.scratch_words()];
        let mut scratch = Scratch::new(&model, &mut buf).unwrap();
        let symbols = run(&model, &mut scratch);
        let mut g = c.benchmark_group(format!("generate/{name}"));
        g.throughput(Throughput::Elements(N as u64));
        g.bench_function("names", |b| b.iter(|| black_box(run(&model, &mut scratch))));
        g.throughput(Throughput::Elements(symbols as u64));
        g.bench_function("symbols", |b| b.iter(|| black_box(run(&model, &mut scratch))));
        let mut bbuf = vec![0; batch_scratch_words(&model, N)];
        let mut bs = BatchScratch::new(&model, N, &mut bbuf).unwrap();
        let mut outs = vec![heapless::String::<MAX_LEN>::new(); N];
        g.throughput(Throughput::Elements(N as u64));
        g.bench_function("names-batched", |b| b.iter(|| run_batch(&model, &mut bs, black_box(&mut outs))));
        g.finish();
    }
}

/// The non-matmul cost of one symbol of the default MLP: 200 tanh (hidden layer) one at a
/// time through libm and in vector lanes (the same bits), and a 27-way softmax (27 expf).
fn per_symbol_transcendentals(c: &mut Criterion) {
    let mut g = c.benchmark_group("per-symbol");
    let h: Vec<f32> = (0..200).map(|i| (i as f32 - 100.0) * 0.03).collect();
    let logits: Vec<f32> = (0..27).map(|i| (i as f32 * 0.77).sin() * 4.0).collect();
    g.bench_function("tanh-200-libm", |b| {
        let mut v = h.clone();
        b.iter(|| {
            v.copy_from_slice(&h);
            makemore_runtime::kernels::tanh_libm(black_box(&mut v));
        })
    });
    g.bench_function("tanh-200-lanes", |b| {
        let mut v = h.clone();
        b.iter(|| {
            v.copy_from_slice(&h);
            makemore_runtime::lanes::tanh(black_box(&mut v));
        })
    });
    g.bench_function("softmax-27", |b| {
        let mut v = logits.clone();
        b.iter(|| {
            v.copy_from_slice(&logits);
            makemore_runtime::kernels::softmax(black_box(&mut v));
        })
    });
    g.finish();
}

criterion_group!(benches, bench, per_symbol_transcendentals);
criterion_main!(benches);
