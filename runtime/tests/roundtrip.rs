//! encode -> decode gives back the header and the tensors, for both kinds and encodings.

mod common;

use common::*;
use runtime::{decode, Encoding, Matrix, ModelKind, Quant, Tensor, Weights};

fn values(m: &Matrix) -> Vec<f32> {
    (0..m.rows()).flat_map(|r| (0..m.cols()).map(move |c| m.get(r, c).unwrap())).collect()
}

fn tensor_values(t: &Tensor) -> Vec<f32> {
    match t {
        Tensor::Matrix(m) => values(m),
        Tensor::Bias(b) => b.iter().map(|w| f32::from_le_bytes(*w)).collect(),
    }
}

#[test]
fn mlp_roundtrip_f32_is_exact() {
    let p = MlpParams::random(".abc", 3, 2, 5, 1);
    let bytes = p.encode(Quant::F32);
    let (header, weights) = decode(&bytes).unwrap();
    assert_eq!(header.kind, ModelKind::Mlp);
    assert_eq!(header.vocab.as_str(), ".abc");
    assert_eq!((header.block_size, header.n_embd, header.n_hidden), (3, 2, 5));
    assert_eq!(header.quant, Quant::F32);
    let expected = [&p.c, &p.w1, &p.b1, &p.w2, &p.b2];
    let tensors = weights.tensors();
    let names: Vec<_> = tensors.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, ["C", "W1", "b1", "W2", "b2"]);
    for ((name, t), want) in tensors.iter().zip(expected) {
        assert_eq!(&tensor_values(t), want, "tensor {name}");
    }
    assert_eq!(weights.n_params(), 4 * 2 + 5 * 6 + 5 + 4 * 5 + 4);
}

#[test]
fn mlp_roundtrip_int8_keeps_quantized_values_and_f32_biases() {
    let p = MlpParams::random(".abc", 2, 3, 4, 2);
    let bytes = p.encode(Quant::Int8PerRow);
    let (header, weights) = decode(&bytes).unwrap();
    assert_eq!(header.quant, Quant::Int8PerRow);
    let Weights::Mlp { c, w1, b1, w2, b2 } = weights else { panic!("not an MLP") };
    for (m, orig) in [(c, &p.c), (w1, &p.w1), (w2, &p.w2)] {
        assert_eq!(m.encoding(), Encoding::I8);
        let want = matrix(m.rows(), m.cols(), orig, Quant::Int8PerRow).to_f32();
        assert_eq!(values(&m), want);
        // Per-row symmetric int8: the error is at most half a step of that row.
        for r in 0..m.rows() {
            let row = &orig[r * m.cols()..(r + 1) * m.cols()];
            let step = row.iter().fold(0f32, |a, v| a.max(v.abs())) / 127.0;
            for (c, &w) in row.iter().enumerate() {
                assert!((m.get(r, c).unwrap() - w).abs() <= step * 0.5 + 1e-7);
            }
        }
    }
    let bias = |b: &[[u8; 4]]| b.iter().map(|w| f32::from_le_bytes(*w)).collect::<Vec<_>>();
    assert_eq!(bias(b1), p.b1);
    assert_eq!(bias(b2), p.b2);
}

#[test]
fn bigram_roundtrip_both_encodings() {
    let table = random_values(16, 3.0, 9);
    for quant in [Quant::F32, Quant::Int8PerRow] {
        let bytes = bigram_bytes(".xyz", &table, quant);
        let (header, weights) = decode(&bytes).unwrap();
        assert_eq!((header.kind, header.quant, header.block_size), (ModelKind::Bigram, quant, 1));
        let Weights::Bigram { table: t } = weights else { panic!("not a bigram") };
        assert_eq!(values(&t), matrix(4, 4, &table, quant).to_f32());
    }
}

#[test]
fn int8_file_is_about_a_quarter_of_f32() {
    let p = MlpParams::random(".abcdefghijklmnopqrstuvwxyz", 3, 10, 200, 3);
    let (f, q) = (p.encode(Quant::F32).len(), p.encode(Quant::Int8PerRow).len());
    // 11,897 params: 4 bytes each in f32; 1 byte each (+ f32 biases and scales) in int8.
    assert!(f > 4 * 11_897 && f < 4 * 11_897 + 200, "f32 file {f} bytes");
    assert!(q < f / 3, "int8 file {q} bytes vs f32 {f}");
}

#[test]
fn encoding_is_deterministic() {
    let p = MlpParams::random(".ab", 2, 2, 3, 4);
    assert_eq!(p.encode(Quant::F32), p.encode(Quant::F32));
}

#[test]
fn model_card_round_trips() {
    use runtime::{encode, Header, Vocab};
    let card = "test_nll_f32: 2.0973\ntest_nll_int8: 2.0977\ndataset: names.txt \u{2713}";
    let table = matrix(2, 2, &[0.0, -1.0, -2.0, -3.0], Quant::F32);
    let header = Header {
        kind: ModelKind::Bigram,
        vocab: Vocab::new(".a").unwrap(),
        block_size: 1,
        n_embd: 0,
        n_hidden: 0,
        quant: Quant::F32,
        card,
    };
    let bytes = encode(&header, &Weights::Bigram { table: table.view() }).unwrap();
    let (decoded, _) = decode(&bytes).unwrap();
    assert_eq!(decoded.card, card);
    assert_eq!(decoded, header);
}
