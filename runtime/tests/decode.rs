//! The decoder on hostile input: every failure is a typed error, never a panic or a hang.
//!
//! Random corruption is mostly caught by the CRC, so most cases here re-seal the file with a
//! correct CRC after changing it: that is what reaches the structural checks.

mod common;

use common::*;
use proptest::prelude::*;
use runtime::format::crc32;
use runtime::{DecodeError, Model, Pcg32, Quant, SampleConfig, Scratch, FORMAT_VERSION, MAGIC};

/// Replaces the trailing CRC with the right one for the (changed) body.
fn reseal(mut bytes: Vec<u8>) -> Vec<u8> {
    let n = bytes.len().saturating_sub(4);
    bytes.truncate(n);
    let crc = crc32(&bytes);
    bytes.extend(crc.to_le_bytes());
    bytes
}

/// A file assembled field by field with postcard, independently of the runtime's encoder:
/// (kind, vocab, block_size, n_embd, n_hidden, quant) then (encoding, rows, cols, scales, values)*.
/// (kind, vocab, block_size, n_embd, n_hidden, quant), in wire order; the card follows.
type RawHeader<'a> = (u8, &'a [u8], u32, u32, u32, u8);
/// (encoding, rows, cols, scales, values), in wire order.
type RawTensor<'a> = (u8, u32, u32, &'a [u8], &'a [u8]);

fn raw_file(header: RawHeader, tensors: &[RawTensor]) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.extend(postcard::to_allocvec(&FORMAT_VERSION).unwrap());
    out.extend(postcard::to_allocvec(&header).unwrap());
    out.extend(postcard::to_allocvec(&b""[..]).unwrap()); // empty model card
    for t in tensors {
        out.extend(postcard::to_allocvec(t).unwrap());
    }
    out.extend([0; 4]);
    reseal(out)
}

/// A decoded model must be fully usable: forward, generate and nll run without panicking.
fn exercise(model: &Model) {
    let mut buf = vec![0.0; model.scratch_words()];
    let mut s = Scratch::new(model, &mut buf).unwrap();
    let ctx = vec![0u8; model.block_size()];
    assert_eq!(model.forward(&ctx, &mut s).unwrap().len(), model.vocab().len());
    let mut rng = Pcg32::from_seed(1);
    let mut out = heapless::String::<16>::new();
    runtime::generate(model, &mut s, &mut rng, &SampleConfig::default(), "", &mut out).unwrap();
}

#[test]
fn the_independent_layout_decodes() {
    // The layout documented in format.rs, written by hand: a bigram over ".a".
    let table: Vec<u8> = [0.0f32, -1.0, -2.0, -3.0].iter().flat_map(|v| v.to_le_bytes()).collect();
    let bytes = raw_file((0, b".a", 1, 0, 0, 0), &[(0, 2, 2, &[], &table)]);
    let model = Model::from_bytes(&bytes).unwrap();
    exercise(&model);
    // And the encoder writes exactly these bytes.
    assert_eq!(bytes, bigram_bytes(".a", &[0.0, -1.0, -2.0, -3.0], Quant::F32));
}

#[test]
fn named_errors_for_each_kind_of_damage() {
    let good = names_mlp(Quant::Int8PerRow);
    let err = |b: &[u8]| Model::from_bytes(b).unwrap_err();
    assert_eq!(err(&[]), DecodeError::TooShort { len: 0 });
    assert_eq!(err(b"MKM"), DecodeError::TooShort { len: 3 });
    assert_eq!(err(b"\x89PNG\r\n\x1a\n"), DecodeError::BadMagic { found: *b"\x89PNG" });
    let mut v2 = good.clone();
    v2[4] = 1;
    assert_eq!(err(&v2), DecodeError::UnsupportedVersion { found: 1, supported: 2 });
    let mut flipped = good.clone();
    flipped[100] ^= 0x10;
    assert!(matches!(err(&flipped), DecodeError::CrcMismatch { .. }));
    assert!(matches!(err(&good[..good.len() - 1]), DecodeError::CrcMismatch { .. }));
    let mut extra = good.clone();
    extra.insert(good.len() - 4, 0);
    assert_eq!(err(&reseal(extra)), DecodeError::TrailingBytes { count: 1 });

    let f = |v: f32| v.to_le_bytes().to_vec();
    let table: Vec<u8> = [0.0f32; 4].iter().flat_map(|v| v.to_le_bytes()).collect();
    let t = |enc, r, c, s: &'static [u8], v: &[u8]| (enc, r, c, s, v.to_vec());
    type Owned = (u8, u32, u32, &'static [u8], Vec<u8>);
    let check = |header: RawHeader, tensors: Vec<Owned>, want| {
        let ts: Vec<RawTensor> = tensors.iter().map(|(a, b, c, d, e)| (*a, *b, *c, *d, &e[..])).collect();
        assert_eq!(err(&raw_file(header, &ts)), want);
    };
    check((7, b".a", 1, 0, 0, 0), vec![], DecodeError::UnknownModelKind { tag: 7 });
    check((0, b".a", 1, 0, 0, 9), vec![], DecodeError::UnknownQuant { tag: 9 });
    check((0, b".\xff", 1, 0, 0, 0), vec![], DecodeError::VocabNotUtf8);
    let mut bad_card = MAGIC.to_vec();
    bad_card.extend(postcard::to_allocvec(&FORMAT_VERSION).unwrap());
    bad_card.extend(postcard::to_allocvec(&(0u8, &b".a"[..], 1u32, 0u32, 0u32, 0u8, &b"\xc3"[..])).unwrap());
    bad_card.extend([0; 4]);
    assert_eq!(err(&reseal(bad_card)), DecodeError::CardNotUtf8);
    check((0, b"", 1, 0, 0, 0), vec![], DecodeError::VocabSize { len: 0 });
    check((0, b"a.", 1, 0, 0, 0), vec![], DecodeError::VocabBoundary { found: 'a' });
    check((0, b".aba", 1, 0, 0, 0), vec![], DecodeError::VocabDuplicate { symbol: 'a' });
    check(
        (0, b".a", 2, 0, 0, 0),
        vec![],
        DecodeError::BadDimension { field: "block_size", value: 2, expected: "1 for a bigram" },
    );
    check(
        (1, b".a", 1, 0, 4, 0),
        vec![],
        DecodeError::BadDimension { field: "n_embd", value: 0, expected: "at least 1" },
    );
    check((0, b".a", 1, 0, 0, 0), vec![], DecodeError::Malformed { section: "table" });
    check(
        (0, b".a", 1, 0, 0, 0),
        vec![t(5, 2, 2, &[], &table)],
        DecodeError::UnknownEncoding { tensor: "table", tag: 5 },
    );
    check(
        (0, b".a", 1, 0, 0, 0),
        vec![t(0, 2, 3, &[], &table)],
        DecodeError::ShapeMismatch { tensor: "table", expected: (2, 2), found: (2, 3) },
    );
    check(
        (0, b".a", 1, 0, 0, 1),
        vec![t(0, 2, 2, &[], &table)],
        DecodeError::WrongEncoding { tensor: "table", expected: "int8-per-row", found: "f32" },
    );
    check(
        (0, b".a", 1, 0, 0, 0),
        vec![t(0, 2, 2, &[], &table[..12])],
        DecodeError::LengthMismatch { tensor: "table", part: "values", expected: 16, found: 12 },
    );
    let mut nan = table.clone();
    nan[8..12].copy_from_slice(&f(f32::NAN));
    check((0, b".a", 1, 0, 0, 0), vec![t(0, 2, 2, &[], &nan)], DecodeError::NonFinite { tensor: "table", index: 2 });
    let scales: &'static [u8] = &[0, 0, 128, 63, 0, 0, 128, 63];
    check(
        (0, b".a", 1, 0, 0, 1),
        vec![t(1, 2, 2, scales, &[1, 2, 0x80, 4])],
        DecodeError::Int8OutOfRange { tensor: "table", index: 2 },
    );
    let neg: &'static [u8] = &[0, 0, 128, 63, 0, 0, 128, 191];
    check(
        (0, b".a", 1, 0, 0, 1),
        vec![t(1, 2, 2, neg, &[1, 2, 3, 4])],
        DecodeError::NegativeScale { tensor: "table", row: 1 },
    );
}

#[test]
fn length_fields_pointing_past_the_end_are_malformed() {
    // A values length of 2^32 bytes in a file of a few dozen.
    let mut body = MAGIC.to_vec();
    body.extend(postcard::to_allocvec(&FORMAT_VERSION).unwrap());
    body.extend(postcard::to_allocvec(&(0u8, &b".a"[..], 1u32, 0u32, 0u32, 0u8, &b""[..])).unwrap());
    body.extend(postcard::to_allocvec(&(0u8, 2u32, 2u32, &[][..] as &[u8])).unwrap());
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
}

#[test]
fn huge_dimensions_fail_fast() {
    for (b, e, h) in [(u32::MAX, u32::MAX, u32::MAX), (1 << 31, 4, 1), (3, 10, u32::MAX), (u32::MAX, 1, 1)] {
        let bytes = raw_file((1, b".ab", b, e, h, 0), &[(0, 3, e, &[], &[0; 12])]);
        let err = Model::from_bytes(&bytes).unwrap_err();
        assert!(
            matches!(
                err,
                DecodeError::SizeOverflow { .. }
                    | DecodeError::ShapeMismatch { .. }
                    | DecodeError::LengthMismatch { .. }
                    | DecodeError::Malformed { .. }
            ),
            "({b}, {e}, {h}): {err:?}"
        );
    }
}

#[test]
fn every_truncation_is_an_error() {
    for quant in [Quant::F32, Quant::Int8PerRow] {
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
    let good = bigram_bytes(".abc", &random_values(16, 2.0, 1), Quant::Int8PerRow);
    for byte in 0..good.len() {
        for bit in 0..8 {
            let mut bad = good.clone();
            bad[byte] ^= 1 << bit;
            assert!(Model::from_bytes(&bad).is_err(), "flip of bit {bit} in byte {byte} went unnoticed");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        prop_assert!(Model::from_bytes(&bytes).is_err());
    }

    #[test]
    fn arbitrary_bytes_after_the_magic_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut file = MAGIC.to_vec();
        file.push(1);
        file.extend(bytes);
        let _ = Model::from_bytes(&reseal(file));
    }

    #[test]
    fn resealed_mutations_decode_to_errors_or_usable_models(
        int8 in any::<bool>(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let mut bytes = names_mlp(if int8 { Quant::Int8PerRow } else { Quant::F32 });
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
        kind in 0u8..3, quant in 0u8..3, b in any::<u32>(), e in any::<u32>(), h in any::<u32>(),
        rows in any::<u32>(), cols in any::<u32>(), n in 0usize..64,
    ) {
        let values = vec![0u8; n];
        let bytes = raw_file((kind, b".ab", b, e, h, quant), &[(0, rows, cols, &[], &values)]);
        if let Ok(model) = Model::from_bytes(&bytes) {
            exercise(&model);
        }
    }
}
