//! `next_distribution` is the distribution `generate` draws from: it sums to 1, top-k and
//! temperature 0 shape it as they shape the draw, and draws follow it (both number formats).

mod common;

use common::*;
use makemore_runtime::{
    generate, next_distribution, Error, Model, Network, Pcg32, Quant, SampleConfig, Scratch, Temperature, MAX_LEN,
};

fn dist(model: &Model, cfg: &SampleConfig, text: &str) -> Vec<f64> {
    let mut buf = vec![0; model.scratch_words()];
    let mut s = Scratch::new(model, &mut buf).unwrap();
    let mut probs = vec![f64::NAN; model.vocab().len()];
    next_distribution(model, &mut s, cfg, text, &mut probs).unwrap();
    probs
}

fn cfg(milli: u32, top_k: usize) -> SampleConfig {
    SampleConfig { temperature: Temperature::from_milli(milli), top_k, max_len: MAX_LEN }
}

#[test]
fn the_distribution_sums_to_one_and_top_k_keeps_k_symbols() {
    for quant in [Quant::F32, Quant::Int8] {
        let bytes = names_mlp(quant);
        let model = Model::from_bytes(&bytes).unwrap();
        for text in ["", "a", "emm", "abcdefghij"] {
            for (milli, k) in [(1000, 0), (800, 5), (2500, 0), (300, 3)] {
                let p = dist(&model, &cfg(milli, k), text);
                let sum: f64 = p.iter().sum();
                assert!((sum - 1.0).abs() < 1e-6, "{quant:?} {text:?} T {milli} k {k}: sum {sum}");
                assert!(p.iter().all(|&x| (0.0..=1.0).contains(&x)));
                let nonzero = p.iter().filter(|&&x| x > 0.0).count();
                if k > 0 {
                    assert!(nonzero <= k, "{quant:?} top-k {k}: {nonzero} symbols");
                }
            }
            // A lower temperature sharpens: the most likely symbol gains.
            let (cold, warm) = (dist(&model, &cfg(500, 0), text), dist(&model, &cfg(1000, 0), text));
            let best = (0..cold.len()).max_by(|&a, &b| warm[a].total_cmp(&warm[b])).unwrap();
            assert!(cold[best] > warm[best], "{quant:?} {text:?}");
        }
    }
}

#[test]
fn at_temperature_zero_all_of_it_is_on_the_symbol_generate_picks() {
    for quant in [Quant::F32, Quant::Int8] {
        let bytes = names_mlp(quant);
        let model = Model::from_bytes(&bytes).unwrap();
        let argmax = cfg(0, 0);
        let mut buf = vec![0; model.scratch_words()];
        let mut s = Scratch::new(&model, &mut buf).unwrap();
        let mut name = heapless::String::<{ 4 * MAX_LEN }>::new();
        generate(&model, &mut s, &mut Pcg32::from_seed(1), &argmax, "", &mut name).unwrap();
        // Each symbol of the argmax name has probability 1 after the symbols before it.
        for (i, symbol) in name.chars().enumerate() {
            let p = dist(&model, &argmax, &name[..name.char_indices().nth(i).unwrap().0]);
            let id = usize::from(model.vocab().id(symbol).unwrap());
            assert_eq!(p[id], 1.0, "{quant:?} {name} symbol {i}");
            assert_eq!(p.iter().sum::<f64>(), 1.0);
        }
    }
}

#[test]
fn draws_follow_the_distribution() {
    // The first symbol of 20,000 one-symbol names (max_len 1) against the distribution.
    for quant in [Quant::F32, Quant::Int8] {
        let bytes = names_mlp(quant);
        let model = Model::from_bytes(&bytes).unwrap();
        for (milli, k) in [(1000, 0), (1500, 4)] {
            let c = SampleConfig { max_len: 2, ..cfg(milli, k) };
            let p = dist(&model, &c, "k");
            let names = makemore_runtime::names(&model, 7, 0..20_000, &c, "k").unwrap();
            for (id, &want) in p.iter().enumerate() {
                let symbol = model.vocab().symbol(id as u8).unwrap();
                let count = names.iter().filter(|n| n.chars().nth(1) == Some(symbol)).count();
                // The boundary ends the name at "k".
                let count = if id == 0 { names.iter().filter(|n| n.chars().count() == 1).count() } else { count };
                let got = count as f64 / names.len() as f64;
                let sd = (want * (1.0 - want) / names.len() as f64).sqrt();
                assert!(
                    (got - want).abs() <= 5.0 * sd + 1e-9,
                    "{quant:?} T {milli} k {k} symbol {symbol:?}: {got} vs {want}"
                );
            }
        }
    }
}

#[test]
fn a_short_buffer_or_a_foreign_symbol_is_an_error() {
    let bytes = names_mlp(Quant::Int8);
    let model = Model::from_bytes(&bytes).unwrap();
    let mut buf = vec![0; model.scratch_words()];
    let mut s = Scratch::new(&model, &mut buf).unwrap();
    let v = model.vocab().len();
    let mut short = vec![0.0; v - 1];
    assert_eq!(
        next_distribution(&model, &mut s, &cfg(1000, 0), "", &mut short),
        Err(Error::ProbsTooSmall { need: v, have: v - 1 })
    );
    let mut probs = vec![0.0; v];
    assert_eq!(
        next_distribution(&model, &mut s, &cfg(1000, 0), "a#", &mut probs),
        Err(Error::UnknownSymbol { symbol: '#' })
    );
    assert_eq!(next_distribution(&model, &mut s, &cfg(1000, 0), "a.", &mut probs), Err(Error::BoundaryInWord));
}
