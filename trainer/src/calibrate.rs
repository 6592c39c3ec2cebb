//! Temperature calibration (Guo et al. 2017, "On Calibration of Modern Neural Networks"): one
//! number `T`, fitted on the dev split, divides every logit. A model trained until it
//! overfits is overconfident, and `T > 1` softens it; a model that underfits gets `T` near
//! or below 1. The fitted `T` minimises the dev NLL over all temperatures, so it never
//! raises it (`T = 1` is among the candidates), and it costs nothing at run time: `logits / T
//! = (W / T) h + b / T`, so it is folded into the output layer's weights and bias before
//! export, and the model file is the same shape and size.
//!
//! The dev logits come from the runtime's f32 model of the weights (no Burn), so `train` and
//! `export` calibrate the same weights the same way.

use crate::data::Examples;
use crate::export::{encode_model, Source};
use crate::model::mlp::MlpConfig;
use crate::model::{log_sum_exp, Params};
use runtime::{Model, Network, Quant, Scratch};

/// Temperatures the fit searches, as `1 / T`: from T = 0.25 to T = 4.
const INV_T_RANGE: (f64, f64) = (0.25, 4.0);

/// Mean NLL of `targets` under `softmax(logits * inv_t)`; `logits` is `[targets.len(), v]`.
pub fn nll_at(logits: &[f32], targets: &[u8], v: usize, inv_t: f64) -> f64 {
    let mut sum = 0.0;
    for (row, &y) in logits.chunks_exact(v).zip(targets) {
        sum += log_sum_exp(row, inv_t) - f64::from(row[usize::from(y)]) * inv_t;
    }
    sum / targets.len().max(1) as f64
}

/// The temperature that minimises [`nll_at`] over [`INV_T_RANGE`]. The NLL is convex in
/// `1 / T` (a log-sum-exp of linear functions minus a linear one), so a golden-section search
/// finds the minimum; 60 rounds narrow the range to below 1e-11.
pub fn fit_temperature(logits: &[f32], targets: &[u8], v: usize) -> f64 {
    let f = |inv_t: f64| nll_at(logits, targets, v, inv_t);
    let g = (5f64.sqrt() - 1.0) / 2.0;
    let (mut a, mut b) = INV_T_RANGE;
    let (mut c, mut d) = (b - g * (b - a), a + g * (b - a));
    let (mut fc, mut fd) = (f(c), f(d));
    for _ in 0..60 {
        if fc < fd {
            (b, d, fd) = (d, c, fc);
            c = b - g * (b - a);
            fc = f(c);
        } else {
            (a, c, fc) = (c, d, fd);
            d = a + g * (b - a);
            fd = f(d);
        }
    }
    let inv_t = (a + b) / 2.0;
    // The search brackets T = 1: keep 1 unless the fit is strictly better (flat data).
    if f(inv_t) < f(1.0) {
        1.0 / inv_t
    } else {
        1.0
    }
}

/// The model's logits for every context window of `ex` (`[ex.len(), vocab]`), from the
/// runtime's f32 model of `params`.
pub fn logits_of(vocab: &str, shape: MlpConfig, params: &Params, ex: &Examples) -> anyhow::Result<Vec<f32>> {
    let (bytes, _) = encode_model(vocab, &Source::Mlp { shape, params }, Quant::F32, "")?;
    let model = Model::from_bytes(&bytes)?;
    let net = model.float()?;
    let mut buf = vec![0; model.scratch_words()];
    let mut scratch = Scratch::new(&net, &mut buf)?;
    let mut logits = Vec::with_capacity(ex.len() * vocab.chars().count());
    for ctx in ex.x.chunks_exact(ex.block_size) {
        logits.extend_from_slice(net.logits(ctx, &mut scratch)?);
    }
    Ok(logits)
}

/// Divides the output layer's weights and bias by `t`: the model's logits become `logits / t`.
pub fn fold_temperature(shape: MlpConfig, params: &mut Params, t: f64) -> anyhow::Result<()> {
    let last = shape.specs().len();
    for name in [format!("W{last}"), format!("b{last}")] {
        for w in &mut params.get_mut(&name)?.values {
            *w = (f64::from(*w) / t) as f32;
        }
    }
    Ok(())
}

/// Fits the temperature on `dev` (the dev split's examples) and folds it into a copy of
/// `params`: the calibrated weights and `T`.
pub fn calibrate(vocab: &str, shape: MlpConfig, params: &Params, dev: &Examples) -> anyhow::Result<(Params, f64)> {
    let logits = logits_of(vocab, shape, params, dev)?;
    let t = fit_temperature(&logits, &dev.y, vocab.chars().count());
    let mut calibrated = params.clone();
    fold_temperature(shape, &mut calibrated, t)?;
    Ok((calibrated, t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use runtime::Pcg32;

    /// Logits `z` and targets drawn from `softmax(z / t)`: the fit finds `t` again.
    fn drawn(t: f64, n: usize, v: usize) -> (Vec<f32>, Vec<u8>) {
        let mut rng = Pcg32::new(7, 3);
        let mut unit = || f64::from(rng.next_u32()) / 4_294_967_296.0;
        let (mut logits, mut targets) = (vec![], vec![]);
        for _ in 0..n {
            let row: Vec<f32> = (0..v).map(|_| (unit() * 8.0 - 4.0) as f32).collect();
            let p: Vec<f64> = row.iter().map(|&z| (f64::from(z) / t).exp()).collect();
            let mut u = unit() * p.iter().sum::<f64>();
            let y = p.iter().position(|&q| {
                u -= q;
                u < 0.0
            });
            targets.push(y.unwrap_or(v - 1) as u8);
            logits.extend(row);
        }
        (logits, targets)
    }

    #[test]
    fn the_fit_finds_the_temperature_the_targets_were_drawn_at() {
        for t in [0.5, 1.0, 2.0] {
            let (logits, targets) = drawn(t, 20_000, 27);
            let fitted = fit_temperature(&logits, &targets, 27);
            assert!((fitted / t - 1.0).abs() < 0.05, "drawn at {t}, fitted {fitted}");
            let best = nll_at(&logits, &targets, 27, 1.0 / fitted);
            for other in [0.9, 0.97, 1.03, 1.1] {
                assert!(best <= nll_at(&logits, &targets, 27, other / fitted), "T = {fitted} is not the minimum");
            }
        }
    }

    #[test]
    fn the_fit_never_raises_the_nll() {
        // Targets that ignore the logits: the best temperature flattens them (large T).
        let (logits, _) = drawn(1.0, 2_000, 5);
        let targets: Vec<u8> = (0..2_000).map(|i| (i % 5) as u8).collect();
        let t = fit_temperature(&logits, &targets, 5);
        assert!(t > 2.0, "uninformative logits are flattened: T = {t}");
        assert!(nll_at(&logits, &targets, 5, 1.0 / t) <= nll_at(&logits, &targets, 5, 1.0));
        // A single symbol: every temperature gives NLL 0, and T stays 1.
        assert_eq!(fit_temperature(&[0.0; 10], &[0; 10], 1), 1.0);
    }

    #[test]
    fn folding_divides_the_runtimes_logits() {
        let cfg = crate::config::TrainConfig {
            block_size: 4,
            n_embd: 3,
            n_hidden: 8,
            n_layers: 2,
            ..crate::config::TrainConfig::preset(crate::config::ModelChoice::Mlp, crate::config::Preset::Large)
        };
        let vocab = ".abc";
        let shape = MlpConfig::new(&cfg, vocab.len());
        let mut params = shape.init_params(false, &mut Pcg32::new(1, 1));
        let words = ["abca", "cab"];
        let ex = Examples::build(&words, &crate::data::Vocab::from_words(&words), 4);
        assert_eq!(ex.y, [1, 2, 3, 1, 0, 3, 1, 2, 0]);
        let before = logits_of(vocab, shape, &params, &ex).unwrap();
        fold_temperature(shape, &mut params, 2.5).unwrap();
        let after = logits_of(vocab, shape, &params, &ex).unwrap();
        assert_eq!(before.len(), ex.len() * 4);
        for (b, a) in before.iter().zip(&after) {
            assert!((b / 2.5 - a).abs() <= 1e-5 * b.abs().max(1.0), "{b} / 2.5 != {a}");
        }
        let (_, t) = calibrate(vocab, shape, &params, &ex).unwrap();
        assert!(t.is_finite() && t > 0.0);
        let foreign = Examples { block_size: 4, x: vec![0, 0, 1, 9], y: vec![0] };
        assert!(logits_of(vocab, shape, &params, &foreign).is_err(), "a symbol outside the vocabulary");
    }
}
