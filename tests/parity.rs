//! The trainer (Burn) and the runtime agree, on a small model trained in seconds:
//! - f32: test NLL within 1e-4 absolute, every test example's logits within 1e-4;
//! - the integer model (int8 file): test NLL within +0.01 of Burn's;
//! - bigram counts: the exported table's runtime NLL equals the counts' NLL within 1e-4.

use burn::backend::{flex::FlexDevice, Autodiff, Flex};
use burn::module::AutodiffModule;
use runtime::{Model, Network, Pcg32, Quant, Scratch};
use trainer::config::{ModelChoice, Preset, TrainConfig};
use trainer::data::{Dataset, Examples, Splits};
use trainer::export::{encode_model, runtime_nll, Source};
use trainer::model::mlp::MlpConfig;
use trainer::model::{bigram, Net};
use trainer::training::{evaluate, fit, ids_2d};

type B = Autodiff<Flex>;

fn data() -> (Dataset, Splits) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/names.txt");
    let all = Dataset::load(path.as_ref()).unwrap();
    let words: Vec<String> = all.words.into_iter().step_by(8).collect(); // ~4,000 names
    let ds = Dataset { vocab: trainer::data::Vocab::from_words(&words), words };
    let splits = ds.split(3);
    (ds, splits)
}

/// Trains `cfg` briefly, exports it, and checks the runtime against Burn (module docs).
fn check_parity(cfg: &TrainConfig) {
    let (ds, splits) = data();
    let b = cfg.block_size;
    let (train, test) = (Examples::build(&splits.train, &ds.vocab, b), Examples::build(&splits.test, &ds.vocab, b));
    let shape = MlpConfig::new(cfg, ds.vocab.len());
    let device = FlexDevice;
    let model = shape.load::<B>(&shape.init_params(true, &mut Pcg32::new(cfg.seed, 1)), &device).unwrap();
    let model = fit(model, cfg, &train, &device).valid();
    let burn_test = evaluate(&model, &test, &device);
    assert!(burn_test < 2.6, "the model learned something: {burn_test}");

    let params = model.params();
    let vocab = ds.vocab.as_string();
    let source = Source::Mlp { shape, params: &params };
    let (f32_bytes, _) = encode_model(&vocab, &source, Quant::F32, "").unwrap();
    let (i8_bytes, errors) = encode_model(&vocab, &source, Quant::Int8, "").unwrap();
    let f32_nll = runtime_nll(&f32_bytes, &splits.test).unwrap();
    let i8_nll = runtime_nll(&i8_bytes, &splits.test).unwrap();
    eprintln!(
        "{:?}: burn test {burn_test:.6}, runtime f32 {f32_nll:.6}, int8 {i8_nll:.6}, quantization errors {errors:?}",
        shape.layers()
    );
    assert!((f32_nll - burn_test).abs() < 1e-4, "f32 runtime {f32_nll} vs burn {burn_test}");
    assert!(i8_nll - burn_test < 0.01, "integer model {i8_nll} vs burn {burn_test}");

    // Every test example's logits.
    let logits = model.logits(ids_2d::<Flex>(&test.x, b, &device)).into_data().to_vec::<f32>().unwrap();
    let rt = Model::from_bytes(&f32_bytes).unwrap();
    let net = rt.float().unwrap();
    let mut buf = vec![0; net.scratch_words()];
    let mut scratch = Scratch::new(&net, &mut buf).unwrap();
    let v = ds.vocab.len();
    let mut worst = 0f32;
    for (ctx, burn_row) in test.x.chunks(b).zip(logits.chunks(v)) {
        let ours = net.logits(ctx, &mut scratch).unwrap();
        for (a, b) in ours.iter().zip(burn_row) {
            worst = worst.max((a - b).abs());
        }
    }
    eprintln!("largest per-logit difference over {} examples: {worst:e}", test.len());
    assert!(worst < 1e-4, "logits differ by {worst}");
}

fn small(cfg: TrainConfig) -> TrainConfig {
    TrainConfig { n_embd: 8, n_hidden: 64, steps: 3000, lr_milestones: vec![2000], ..cfg }
}

#[test]
fn mlp_f32_and_int8_files_agree_with_burn() {
    check_parity(&small(TrainConfig::preset(ModelChoice::Mlp, Preset::Flat)));
}

/// Two hidden layers with batch norm, folded into the linear layers at export.
#[test]
fn deeper_mlp_with_batch_norm_agrees_with_burn() {
    let cfg = TrainConfig { n_layers: 2, batch_norm: true, ..TrainConfig::preset(ModelChoice::Mlp, Preset::Flat) };
    check_parity(&small(cfg));
}

/// The WaveNet-style hierarchy: 8 positions merged in pairs over three layers, batch norm.
#[test]
fn hierarchical_mlp_with_batch_norm_agrees_with_burn() {
    let cfg = TrainConfig {
        block_size: 8,
        merge: 2,
        batch_norm: true,
        ..TrainConfig::preset(ModelChoice::Mlp, Preset::Flat)
    };
    check_parity(&TrainConfig { n_embd: 6, n_hidden: 32, ..small(cfg) });
}

#[test]
fn bigram_file_agrees_with_the_counts() {
    let (ds, splits) = data();
    let lp = bigram::log_probs(&bigram::counts(&splits.train, &ds.vocab), 1.0);
    let counts_nll = bigram::nll(&lp, &ds.vocab, &splits.test);
    let table: Vec<f32> = lp.iter().map(|&v| v as f32).collect();
    let (bytes, _) = encode_model(&ds.vocab.as_string(), &Source::Bigram { table: &table }, Quant::F32, "").unwrap();
    let nll = runtime_nll(&bytes, &splits.test).unwrap();
    assert!((nll - counts_nll).abs() < 1e-4, "runtime {nll} vs counts {counts_nll}");
}
