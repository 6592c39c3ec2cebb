//! The decoder on hostile input: every failure is a typed error, never a panic or a hang.
//!
//! Random corruption is mostly caught by the CRC, so most cases here re-seal the file with a
//! correct CRC after changing it: that is what reaches the structural checks.

mod common;

use common::*;
use makemore_runtime::format::crc32;
use makemore_runtime::{DecodeError, Model, Network, Pcg32, Quant, SampleConfig, Scratch, FORMAT_VERSION, MAGIC};
use proptest::prelude::*;
use std::collections::BTreeSet;

/// Replaces the trailing CRC with the right one for the (changed) body.
fn reseal(mut bytes: Vec<u8>) -> Vec<u8> {
    let n = bytes.len().saturating_sub(4);
    bytes.truncate(n);
    let crc = crc32(&bytes);
    bytes.extend(crc.to_le_bytes());
    bytes
}

/// (kind, vocab, block_size, n_embd), the layers' (n_merge, n_out), (quant, card), in wire order.
type RawHeader<'a> = (u8, &'a [u8], u32, u32, &'a [(u32, u32)], u8);
/// (encoding, rows, cols, requant, pad, values), in wire order.
type RawTensor = (u8, u32, u32, Vec<u8>, Vec<u8>, Vec<u8>);

/// A file assembled field by field with postcard, independently of the runtime's encoder.
fn raw_file(version: u16, (kind, vocab, block, embd, layers, quant): RawHeader, tensors: &[RawTensor]) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.extend(postcard::to_allocvec(&version).unwrap());
    out.extend(postcard::to_allocvec(&(kind, vocab, block, embd)).unwrap());
    out.extend(postcard::to_allocvec(&(layers.len() as u32)).unwrap());
    for l in layers {
        out.extend(postcard::to_allocvec(l).unwrap());
    }
    out.extend(postcard::to_allocvec(&(quant, &b""[..])).unwrap()); // empty model card
    for (e, r, c, m, p, v) in tensors {
        if version >= 4 {
            // requant_pad, empty: the decoder reads multipliers wherever they are.
            out.extend(postcard::to_allocvec(&(*e, *r, *c, &[][..] as &[u8], &m[..], &p[..], &v[..])).unwrap());
        } else {
            out.extend(postcard::to_allocvec(&(*e, *r, *c, &m[..], &p[..], &v[..])).unwrap());
        }
    }
    out.extend([0; 4]);
    reseal(out)
}

fn f32s(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn i32s(v: &[i32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn t(encoding: u8, rows: u32, cols: u32, requant: Vec<u8>, values: Vec<u8>) -> RawTensor {
    (encoding, rows, cols, requant, vec![], values)
}

/// A decoded model must be fully usable: forward, generate and nll run without panicking.
fn exercise(model: &Model) {
    let mut buf = vec![0; model.scratch_words()];
    let mut s = Scratch::new(model, &mut buf).unwrap();
    let mut rng = Pcg32::from_seed(1);
    let mut out = heapless::String::<{ 4 * 32 }>::new();
    makemore_runtime::generate(model, &mut s, &mut rng, &SampleConfig::default(), "", &mut out).unwrap();
    let word: String = model.vocab().as_str().chars().skip(1).take(3).collect();
    makemore_runtime::nll(model, &mut s, [word.as_str()]).unwrap();
}

#[test]
fn the_independent_layout_decodes() {
    // The layout documented in format.rs, written by hand: a bigram over ".a".
    let table = [0.0f32, -1.0, -2.0, -3.0];
    // The table's values after 3 bytes of padding: at byte 24 of the file.
    let bytes = raw_file(FORMAT_VERSION, (0, b".a", 1, 0, &[], 0), &[(0, 2, 2, vec![], vec![0; 3], f32s(&table))]);
    let model = Model::from_bytes(&bytes).unwrap();
    exercise(&model);
    // And the encoder writes exactly these bytes.
    assert_eq!(bytes, encoded(&bigram(".a", &table), Quant::F32));
    // An integer MLP written by hand: vocab ".a", block 2, n_embd 1, layers (2, 3) and (1, 2).
    let c = vec![1u8, 0xff]; // [1, -1]
    let w1 = vec![1u8, 2, 3, 4, 5, 6]; // [3, 2] in the row-quad layout: a pair, then a row
    let w2 = vec![1u8, 2, 3, 4, 5, 6]; // [2, 3]
    let m = |n: usize| i32s(&vec![1 << 20; n]);
    let tensors = [
        t(1, 2, 1, vec![], c),
        (1, 3, 2, m(3), vec![0; 2], w1),
        t(2, 1, 3, vec![], i32s(&[0, 1, -1])),
        (1, 2, 3, m(2), vec![0], w2),
        t(2, 1, 2, vec![], i32s(&[5, -5])),
    ];
    let bytes = raw_file(FORMAT_VERSION, (1, b".a", 2, 1, &[(2, 3), (1, 2)], 1), &tensors);
    exercise(&Model::from_bytes(&bytes).unwrap());
}

#[test]
fn named_errors_for_each_kind_of_damage() {
    let good = names_mlp(Quant::Int8);
    let err = |b: &[u8]| Model::from_bytes(b).unwrap_err();
    assert_eq!(err(&[]), DecodeError::TooShort { len: 0 });
    assert_eq!(err(b"MKM"), DecodeError::TooShort { len: 3 });
    assert_eq!(err(b"\x89PNG\r\n\x1a\n"), DecodeError::BadMagic { found: *b"\x89PNG", expected: MAGIC });
    // Files of format version 2 (before the integer model) are refused by name.
    let mut v2 = good.clone();
    v2[4] = 2;
    assert_eq!(err(&v2), DecodeError::UnsupportedVersion { found: 2, oldest: 3, newest: FORMAT_VERSION });
    assert!(err(&v2).to_string().contains("re-export"), "{}", err(&v2));
    let mut flipped = good.clone();
    flipped[100] ^= 0x10;
    assert!(matches!(err(&flipped), DecodeError::CrcMismatch { .. }));
    assert!(matches!(err(&good[..good.len() - 1]), DecodeError::CrcMismatch { .. }));
    let mut extra = good.clone();
    extra.insert(good.len() - 4, 0);
    assert_eq!(err(&reseal(extra)), DecodeError::TrailingBytes { count: 1 });

    let v = FORMAT_VERSION;
    let table = f32s(&[0.0; 4]);
    let check =
        |header: RawHeader, tensors: Vec<RawTensor>, want| assert_eq!(err(&raw_file(v, header, &tensors)), want);
    check((7, b".a", 1, 0, &[], 0), vec![], DecodeError::UnknownModelKind { tag: 7 });
    check((0, b".a", 1, 0, &[], 9), vec![], DecodeError::UnknownQuant { tag: 9 });
    check((0, b".\xff", 1, 0, &[], 0), vec![], DecodeError::VocabNotUtf8);
    check((0, b"", 1, 0, &[], 0), vec![], DecodeError::VocabSize { len: 0 });
    check((0, b"a.", 1, 0, &[], 0), vec![], DecodeError::VocabBoundary { found: 'a' });
    check((0, b".aba", 1, 0, &[], 0), vec![], DecodeError::VocabDuplicate { symbol: 'a' });
    let bad = |field, value, expected| DecodeError::BadDimension { field, value, expected };
    check((0, b".a", 2, 0, &[], 0), vec![], bad("block_size", 2, "1 for a bigram"));
    check((1, b".a", 1, 0, &[(1, 2)], 0), vec![], bad("n_embd", 0, "at least 1"));
    // The layer stack.
    let layers = |layer, problem| DecodeError::BadLayers { layer, problem };
    check((0, b".a", 1, 0, &[(1, 2)], 0), vec![], layers(1, "a bigram has no layers"));
    check((1, b".a", 3, 2, &[], 0), vec![], layers(0, "an mlp needs at least one layer"));
    check((1, b".a", 3, 2, &[(0, 2)], 0), vec![], layers(1, "n_merge and n_out must be at least 1"));
    check(
        (1, b".a", 3, 2, &[(2, 4), (1, 2)], 0),
        vec![],
        layers(1, "n_merge must divide the positions left (block_size, then each layer's)"),
    );
    check((1, b".a", 4, 2, &[(2, 4), (1, 2)], 0), vec![], layers(2, "the last layer must leave one position"));
    check((1, b".a", 3, 2, &[(3, 5)], 0), vec![], layers(1, "the last layer's n_out must be the vocabulary size"));
    // Tensors.
    check((0, b".a", 1, 0, &[], 0), vec![], DecodeError::Malformed { section: "table" });
    check(
        (0, b".a", 1, 0, &[], 0),
        vec![t(5, 2, 2, vec![], table.clone())],
        DecodeError::UnknownEncoding { tensor: "table", tag: 5 },
    );
    check(
        (0, b".a", 1, 0, &[], 0),
        vec![t(0, 2, 3, vec![], table.clone())],
        DecodeError::ShapeMismatch { tensor: "table", expected: (2, 2), found: (2, 3) },
    );
    check(
        (0, b".a", 1, 0, &[], 1),
        vec![t(0, 2, 2, vec![], table.clone())],
        DecodeError::WrongEncoding { tensor: "table", expected: "int8", found: "f32" },
    );
    check(
        (0, b".a", 1, 0, &[], 0),
        vec![t(0, 2, 2, vec![], table[..12].to_vec())],
        DecodeError::LengthMismatch { tensor: "table", part: "values", expected: 16, found: 12 },
    );
    let mut nan = table.clone();
    nan[8..12].copy_from_slice(&f32::NAN.to_le_bytes());
    check(
        (0, b".a", 1, 0, &[], 0),
        vec![t(0, 2, 2, vec![], nan)],
        DecodeError::NonFinite { tensor: "table", index: 2 },
    );
    let ones = i32s(&[1, 1]);
    check(
        (0, b".a", 1, 0, &[], 1),
        vec![t(1, 2, 2, ones.clone(), vec![1, 2, 0x80, 4])],
        DecodeError::Int8OutOfRange { tensor: "table", index: 2 },
    );
    check(
        (0, b".a", 1, 0, &[], 1),
        vec![t(1, 2, 2, i32s(&[1, -1]), vec![1, 2, 3, 4])],
        DecodeError::BadRequant { tensor: "table", row: 1 },
    );
    check(
        (0, b".a", 1, 0, &[], 1),
        vec![t(1, 2, 2, vec![1, 2, 3], vec![1, 2, 3, 4])],
        DecodeError::LengthMismatch { tensor: "table", part: "requant", expected: 8, found: 3 },
    );
    check(
        (0, b".a", 1, 0, &[], 1),
        vec![(1, 2, 2, ones.clone(), vec![0; 4], vec![1, 2, 3, 4])],
        DecodeError::Malformed { section: "table" },
    );
    // An integer layer whose 32-bit sums could overflow: |bias| + 32767 * sum |w| > 2^31 - 1.
    let big_bias = t(2, 1, 2, vec![], i32s(&[i32::MAX - 32767 * 127 + 1, 0]));
    check(
        (1, b".a", 1, 1, &[(1, 2)], 1),
        vec![t(1, 2, 1, vec![], vec![1, 2]), (1, 2, 1, ones.clone(), vec![0], vec![127, 1]), big_bias],
        DecodeError::AccumulatorOverflow { tensor: "W1", row: 0 },
    );
    // The same with a bias one smaller is fine.
    let ok_bias = t(2, 1, 2, vec![], i32s(&[i32::MAX - 32767 * 127, 0]));
    let ok = raw_file(
        v,
        (1, b".a", 1, 1, &[(1, 2)], 1),
        &[t(1, 2, 1, vec![], vec![1, 2]), (1, 2, 1, ones, vec![0], vec![127, 1]), ok_bias],
    );
    exercise(&Model::from_bytes(&ok).unwrap());
}

#[test]
fn length_fields_pointing_past_the_end_are_malformed() {
    // A values length of 2^32 bytes in a file of a few dozen.
    let mut body = MAGIC.to_vec();
    body.extend(postcard::to_allocvec(&FORMAT_VERSION).unwrap());
    body.extend(postcard::to_allocvec(&(0u8, &b".a"[..], 1u32, 0u32, 0u32, 0u8, &b""[..])).unwrap());
    let empty = &[][..] as &[u8];
    body.extend(postcard::to_allocvec(&(0u8, 2u32, 2u32, empty, empty, empty)).unwrap());
    body.extend(postcard::to_allocvec(&(1u64 << 32)).unwrap()); // the varint length of `values`
    body.extend([0u8; 16]);
    body.extend([0; 4]);
    assert_eq!(Model::from_bytes(&reseal(body)).unwrap_err(), DecodeError::Malformed { section: "table" });
    // A vocabulary length past the end.
    let mut body = MAGIC.to_vec();
    body.extend(postcard::to_allocvec(&FORMAT_VERSION).unwrap());
    body.extend([0u8, 200, 1, b'.']);
    body.extend([0; 4]);
    assert_eq!(Model::from_bytes(&reseal(body)).unwrap_err(), DecodeError::Malformed { section: "header" });
    // More layers than the runtime holds.
    let many = [(1, 3); 7];
    let bytes = raw_file(FORMAT_VERSION, (1, b".ab", 1, 3, &many, 0), &[]);
    assert_eq!(Model::from_bytes(&bytes).unwrap_err(), DecodeError::Malformed { section: "header" });
}

#[test]
fn huge_dimensions_fail_fast() {
    for (b, e, n) in [(u32::MAX, u32::MAX, u32::MAX), (1 << 31, 4, 1), (3, 10, u32::MAX), (u32::MAX, 1, 1)] {
        let bytes =
            raw_file(FORMAT_VERSION, (1, b".ab", b, e, &[(b, n), (1, 3)], 0), &[t(0, 3, e, vec![], vec![0; 12])]);
        let err = Model::from_bytes(&bytes).unwrap_err();
        assert!(
            matches!(
                err,
                DecodeError::SizeOverflow { .. }
                    | DecodeError::ShapeMismatch { .. }
                    | DecodeError::LengthMismatch { .. }
                    | DecodeError::Malformed { .. }
                    | DecodeError::BadLayers { .. }
            ),
            "({b}, {e}, {n}): {err:?}"
        );
    }
}

#[test]
fn every_truncation_is_an_error() {
    for quant in [Quant::F32, Quant::Int8] {
        let good = names_mlp(quant);
        for len in 0..good.len() {
            assert!(Model::from_bytes(&good[..len]).is_err(), "truncated to {len}");
            // Even re-sealed with a correct CRC, a shorter file is rejected.
            if len >= 4 {
                assert!(Model::from_bytes(&reseal(good[..len].to_vec())).is_err(), "re-sealed at {len}");
            }
        }
    }
}

#[test]
fn every_single_bit_flip_is_caught() {
    let good = encoded(&bigram(".abc", &random_values(16, 2.0, 1)), Quant::Int8);
    for byte in 0..good.len() {
        for bit in 0..8 {
            let mut bad = good.clone();
            bad[byte] ^= 1 << bit;
            assert!(Model::from_bytes(&bad).is_err(), "flip of bit {bit} in byte {byte} went unnoticed");
        }
    }
}

/// Random bytes after a valid magic and version, re-sealed, reach the decoder's deeper checks
/// (not only the magic, version and CRC): the property tests below would be hollow otherwise.
#[test]
fn random_bodies_reach_the_tensor_checks() {
    let mut rng = Pcg32::from_seed(11);
    let good = names_mlp(Quant::Int8);
    // Where the tensors start: the first tensor, C, opens with (encoding 1, rows 27, cols 4).
    let header_end = (30..good.len()).find(|&i| good[i..].starts_with(&[1, 27, 4])).unwrap();
    let mut reached = BTreeSet::new();
    for i in 0..20_000 {
        let mut file = good[..5].to_vec(); // magic and version
        if i % 2 == 0 {
            // A valid header then random tensors.
            file = good[..header_end].to_vec();
        }
        let n = rng.next_u32() % 200;
        file.extend((0..n).map(|_| rng.next_u32() as u8));
        file.extend([0; 4]);
        if let Err(e) = Model::from_bytes(&reseal(file)) {
            reached.insert(format!("{e:?}").split([' ', '{', '(']).next().unwrap().to_string());
        }
    }
    for want in ["Malformed", "UnknownModelKind", "ShapeMismatch"] {
        assert!(reached.contains(want), "never reached {want}: {reached:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Model::from_bytes(&bytes);
        // And re-sealed behind a valid magic and version, so the header parser sees them.
        let mut file = MAGIC.to_vec();
        file.extend(postcard::to_allocvec(&FORMAT_VERSION).unwrap());
        file.extend(&bytes);
        file.extend([0; 4]);
        if let Ok(model) = Model::from_bytes(&reseal(file)) {
            exercise(&model);
        }
    }

    #[test]
    fn resealed_mutations_decode_to_errors_or_usable_models(
        shape in 0usize..4,
        int8 in any::<bool>(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let (_, mut bytes) = shapes(if int8 { Quant::Int8 } else { Quant::F32 }).swap_remove(shape);
        let body = bytes.len() - 4;
        for (at, value) in edits {
            bytes[at.index(body)] = value;
        }
        if let Ok(model) = Model::from_bytes(&reseal(bytes.clone())) {
            exercise(&model);
        }
    }

    #[test]
    fn resealed_header_fields_never_panic(
        kind in 0u8..3, quant in 0u8..3, b in any::<u32>(), e in any::<u32>(),
        layers in proptest::collection::vec((0u32..5, 0u32..5), 0..4),
        rows in any::<u32>(), cols in any::<u32>(), n in 0usize..64,
    ) {
        let bytes = raw_file(FORMAT_VERSION, (kind, b".ab", b, e, &layers, quant), &[t(0, rows, cols, vec![], vec![0u8; n])]);
        let decoded = Model::from_bytes(&bytes);
        if let Ok(model) = &decoded {
            exercise(model);
        }
    }
}

/// A model map (what a firmware build writes down) gives exactly the model the decoder gives,
/// for every shape in both number formats; a map that points past the bytes is an error.
#[test]
fn a_model_map_gives_the_decoded_model() {
    for quant in [Quant::F32, Quant::Int8] {
        for (name, bytes) in shapes(quant) {
            let decoded = Model::from_bytes(&bytes).unwrap();
            let map = makemore_runtime::ModelMap::of(&bytes).unwrap();
            let mapped = Model::from_map(&bytes, &map).unwrap();
            assert_eq!(mapped.header(), decoded.header(), "{name}");
            assert_eq!(mapped.weights(), decoded.weights(), "{name}");
            // The same map over fewer bytes: the last tensor no longer fits.
            let short = &bytes[..bytes.len() - 8];
            assert_eq!(Model::from_map(short, &map).err(), Some(DecodeError::Malformed { section: "model map" }));
            let mut far = map;
            far.first[0] = usize::MAX - 2;
            assert!(Model::from_map(&bytes, &far).is_err(), "{name}");
        }
    }
}

#[test]
fn version_3_files_decode_and_version_4_aligns_every_array() {
    // Fixtures written in version 3 (multipliers and i32 biases wherever the bytes fell; the
    // workspace's fixtures as they were before version 4); re-encoded they are version 4,
    // the same model, every array aligned.
    for name in ["tiny-int8.mkmr", "tiny-wavenet-int8.mkmr", "tiny-f32.mkmr"] {
        let v3 = std::fs::read(format!("{}/tests/fixtures-v3/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap();
        assert_eq!(makemore_runtime::file_version(&v3), Some(3), "{name}");
        let old = Model::from_bytes(&v3).unwrap();
        let v4 = makemore_runtime::encode(old.header(), old.weights()).unwrap();
        assert_eq!(makemore_runtime::file_version(&v4), Some(FORMAT_VERSION));
        let new = Model::from_bytes(&v4).unwrap();
        assert_eq!((new.header(), new.weights()), (old.header(), old.weights()), "{name}");
        // Both ways of reading the biases and multipliers (bytes; aligned words) give the
        // same names, one at a time and in batches.
        let cfg = SampleConfig::default();
        let single = |m: &Model| -> Vec<String> {
            let mut buf = vec![0; m.scratch_words()];
            let mut s = Scratch::new(m, &mut buf).unwrap();
            (0..64)
                .map(|k| {
                    let mut out = heapless::String::<{ 4 * 32 }>::new();
                    let mut rng = Pcg32::for_name(42, k);
                    makemore_runtime::generate(m, &mut s, &mut rng, &cfg, "", &mut out).unwrap();
                    out.to_string()
                })
                .collect()
        };
        let batched = |m: &Model| makemore_runtime::names(m, 42, 0..64, &cfg, "").unwrap();
        assert_eq!(single(&new), single(&old), "{name}");
        assert_eq!(batched(&new), batched(&old), "{name}");
        assert_eq!(single(&new), batched(&new), "{name}");
        // Every tensor's values and multipliers start at a multiple of 4 in the file.
        let at = |part: &[u8]| part.as_ptr() as usize - v4.as_ptr() as usize;
        for t in new.tensors() {
            assert_eq!(at(t.values) % 4, 0, "{name}: {}", t.name);
            assert!(t.requant.is_empty() || at(t.requant) % 4 == 0, "{name}: {}'s multipliers", t.name);
        }
    }
}
