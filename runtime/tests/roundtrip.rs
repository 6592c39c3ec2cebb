//! encode -> decode gives back the header and the tensors, for both kinds and both number
//! formats; the integer model's quantisation follows its stated rules.

mod common;

use common::*;
use makemore_runtime::quant::{quantize_row, EMBED_SHIFT, PRE_FRAC_BITS};
use makemore_runtime::{
    decode, Encoding, FloatBody, FloatLinear, FloatModel, Layout, Model, ModelKind, Quant, TensorView,
};

fn values(t: &TensorView) -> Vec<f64> {
    (0..t.rows).flat_map(|r| (0..t.cols).map(move |c| t.get(r, c).unwrap())).collect()
}

#[test]
fn mlp_roundtrip_f32_is_exact() {
    let m = mlp(".abc", 3, 2, 5, 1);
    let bytes = encoded(&m, Quant::F32);
    let (header, _) = decode(&bytes).unwrap();
    assert_eq!(header.kind, ModelKind::Mlp);
    assert_eq!(header.vocab.as_str(), ".abc");
    assert_eq!((header.block_size, header.n_embd, header.n_hidden()), (3, 2, 5));
    assert_eq!(header.quant, Quant::F32);
    let FloatBody::Mlp { c, layers, .. } = &m.body else { unreachable!() };
    let expected = [c, &layers[0].w, &layers[0].b, &layers[1].w, &layers[1].b];
    let model = Model::from_bytes(&bytes).unwrap();
    let tensors = model.tensors();
    let names: Vec<_> = tensors.iter().map(|t| t.name).collect();
    assert_eq!(names, ["C", "W1", "b1", "W2", "b2"]);
    for (t, want) in tensors.iter().zip(expected) {
        assert_eq!((t.encoding, t.layout), (Encoding::F32, Layout::RowMajor), "{}", t.name);
        let want: Vec<f64> = want.iter().map(|&v| f64::from(v)).collect();
        assert_eq!(values(t), want, "tensor {}", t.name);
    }
    assert_eq!(model.n_params(), 4 * 2 + 5 * 6 + 5 + 4 * 5 + 4);
}

#[test]
fn int8_quantisation_follows_the_stated_rules() {
    let m = mlp(".abc", 2, 3, 5, 2);
    let bytes = encoded(&m, Quant::Int8);
    let model = Model::from_bytes(&bytes).unwrap();
    let FloatBody::Mlp { c, layers, .. } = &m.body else { unreachable!() };
    let t = model.tensors();
    // C: one scale for the table, max|C| -> 127.
    let c_scale = c.iter().fold(0f32, |a, v| a.max(v.abs())) / 127.0;
    let want: Vec<f64> = c.iter().map(|&v| f64::from((v / c_scale).round().clamp(-127.0, 127.0))).collect();
    assert_eq!((t[0].encoding, t[0].layout), (Encoding::I8, Layout::RowMajor));
    assert_eq!(values(&t[0]), want);
    // Each layer: int8 rows with their own scale, in the row-quad layout; i32 biases in
    // accumulator units; multipliers folding every scale into Q12 outputs.
    let mut x_scale = f64::from(c_scale) / f64::from(1u32 << EMBED_SHIFT);
    for (k, l) in layers.iter().enumerate() {
        let (w, b) = (&t[1 + 2 * k], &t[2 + 2 * k]);
        assert_eq!((w.encoding, w.layout, b.encoding), (Encoding::I8, Layout::RowQuads, Encoding::I32));
        let n_in = w.cols;
        for r in 0..w.rows {
            let mut q = vec![0i8; n_in];
            let scale = quantize_row(&l.w[r * n_in..(r + 1) * n_in], &mut q);
            let got: Vec<f64> = (0..n_in).map(|c| w.get(r, c).unwrap()).collect();
            assert_eq!(got, q.iter().map(|&v| f64::from(v)).collect::<Vec<_>>(), "{} row {r}", w.name);
            let acc_scale = x_scale * f64::from(scale);
            assert_eq!(b.get(0, r).unwrap(), (f64::from(l.b[r]) / acc_scale).round(), "{} row {r}", b.name);
            let m = (acc_scale * f64::from(1u32 << PRE_FRAC_BITS) * 4_294_967_296.0).round();
            assert_eq!(f64::from(w.multiplier(r).unwrap()), m, "{} row {r}", w.name);
        }
        x_scale = 1.0 / 32768.0;
    }
}

#[test]
fn bigram_roundtrip_both_formats() {
    let table = random_values(16, 3.0, 9);
    for quant in [Quant::F32, Quant::Int8] {
        let bytes = encoded(&bigram(".xyz", &table), quant);
        let model = Model::from_bytes(&bytes).unwrap();
        let (header, _) = decode(&bytes).unwrap();
        assert_eq!((header.kind, header.quant, header.block_size), (ModelKind::Bigram, quant, 1));
        let t = &model.tensors()[0];
        for r in 0..4 {
            let row = &table[r * 4..(r + 1) * 4];
            let got: Vec<f64> = (0..4).map(|c| t.get(r, c).unwrap()).collect();
            match quant {
                Quant::F32 => assert_eq!(got, row.iter().map(|&v| f64::from(v)).collect::<Vec<_>>()),
                _ => {
                    let mut q = [0i8; 4];
                    quantize_row(row, &mut q);
                    assert_eq!(got, q.map(f64::from));
                    assert!(t.multiplier(r).unwrap() > 0);
                }
            }
        }
    }
}

#[test]
fn int8_file_is_about_a_quarter_of_f32() {
    let m = mlp(NAMES, 3, 10, 200, 3);
    let (f, q) = (encoded(&m, Quant::F32).len(), encoded(&m, Quant::Int8).len());
    // 11,897 params: 4 bytes each in f32; 1 byte each (+ i32 biases and multipliers) in int8.
    assert!(f > 4 * 11_897 && f < 4 * 11_897 + 200, "f32 file {f} bytes");
    assert!(q < 11_897 + 2 * 4 * 227 + 200, "int8 file {q} bytes");
}

#[test]
fn int8_values_start_4_byte_aligned_in_the_file() {
    for (name, bytes) in shapes(Quant::Int8) {
        let model = Model::from_bytes(&bytes).unwrap();
        for t in model.tensors().iter().filter(|t| t.encoding == Encoding::I8) {
            let offset = t.values.as_ptr() as usize - bytes.as_ptr() as usize;
            assert_eq!(offset % 4, 0, "{name} {}: values at {offset}", t.name);
        }
    }
}

/// Decoded f32 values encode back to the same bytes: the encoder's output depends on the
/// model alone.
#[test]
fn decode_then_encode_gives_the_same_bytes() {
    for (name, bytes) in shapes(Quant::F32) {
        let model = Model::from_bytes(&bytes).unwrap();
        let (header, _) = decode(&bytes).unwrap();
        let t = model.tensors();
        let f = |t: &TensorView| values(t).iter().map(|&v| v as f32).collect::<Vec<f32>>();
        let body = match header.kind {
            ModelKind::Bigram => FloatBody::Bigram { table: f(&t[0]) },
            _ => FloatBody::Mlp {
                n_embd: header.n_embd,
                c: f(&t[0]),
                layers: header
                    .layers
                    .as_slice()
                    .iter()
                    .enumerate()
                    .map(|(k, l)| FloatLinear { n_merge: l.n_merge, w: f(&t[1 + 2 * k]), b: f(&t[2 + 2 * k]) })
                    .collect(),
            },
        };
        let rebuilt = FloatModel { vocab: header.vocab.as_str().into(), block_size: header.block_size, body };
        assert_eq!(encoded(&rebuilt, Quant::F32), bytes, "{name}");
    }
}

#[test]
fn model_card_round_trips() {
    let card = "test_nll_f32: 2.0973\ntest_nll_int8: 2.0977\ndataset: names.txt \u{2713}";
    for quant in [Quant::F32, Quant::Int8] {
        let bytes = bigram(".a", &[0.0, -1.0, -2.0, -3.0]).encode(quant, card).unwrap().bytes;
        let (decoded, _) = decode(&bytes).unwrap();
        assert_eq!(decoded.card, card);
    }
}
