//! The model file format: the one place it is defined. The trainer writes it (through
//! [`encode`], behind the `alloc` feature) and the runtime reads it ([`decode`]).
//!
//! ```text
//! magic      4 bytes    b"MKMR"
//! version    varint u16 FORMAT_VERSION
//! header     postcard   kind u8, vocab bytes (varint len + UTF-8), block_size u32,
//!                       n_embd u32, n_hidden u32, quant u8,         (u32s are varints)
//!                       card bytes (varint len + UTF-8 text, may be empty)
//! tensors    postcard   per tensor: encoding u8, rows u32, cols u32,
//!                       scales bytes (varint len + rows x f32 LE, empty for f32),
//!                       values bytes (varint len + rows x cols x f32 LE or i8)
//!                       bigram: table [vocab, vocab]
//!                       mlp:    C [vocab, n_embd], W1 [n_hidden, block_size * n_embd],
//!                               b1 [1, n_hidden], W2 [vocab, n_hidden], b2 [1, vocab]
//! crc        4 bytes    CRC-32 (ISO-HDLC, as zlib) of every byte before it, little-endian
//! ```
//! Weight matrices are row-major `[out, in]` (PyTorch's `Linear` layout), so each output row
//! is contiguous and owns one int8 scale. Biases are always f32. Any change to this layout
//! bumps [`FORMAT_VERSION`].

use crate::tensor::{f32_le, Encoding, F32Le, Matrix};
use crate::vocab::Vocab;
use crate::DecodeError;
use serde::{Deserialize, Serialize};

/// First four bytes of every model file.
pub const MAGIC: [u8; 4] = *b"MKMR";

/// The format version this runtime reads and writes.
/// Version 2 added the model card to the header.
pub const FORMAT_VERSION: u16 = 2;

// Bitwise, without a lookup table: the CRC runs once per load, and the 1 KB table would be a
// noticeable share of a 32 KB flash budget.
const CRC: crc::Crc<u32, crc::NoTable> = crc::Crc::<u32, crc::NoTable>::new(&crc::CRC_32_ISO_HDLC);

/// CRC-32 (ISO-HDLC, the zlib one) of `bytes`, as stored at the end of a model file.
pub fn crc32(bytes: &[u8]) -> u32 {
    CRC.checksum(bytes)
}

/// Which network the file holds (new kinds come with a new format version).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ModelKind {
    /// A `[vocab, vocab]` table of next-symbol logits (log-probabilities for a counts model).
    Bigram,
    /// Bengio et al. 2003: embedding, concatenated context, tanh hidden layer, logits.
    Mlp,
}

impl ModelKind {
    /// The name used in flags, messages and `inspect` output.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Bigram => "bigram",
            ModelKind::Mlp => "mlp",
        }
    }
}

/// How the weight matrices are stored (new schemes come with a new format version).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Quant {
    /// Every tensor f32.
    F32,
    /// Weight matrices (and the embedding and bigram tables) int8 with one f32 scale per row,
    /// `scale = max|row| / 127`; biases f32.
    Int8PerRow,
}

impl Quant {
    /// The name used in flags, messages and `inspect` output.
    pub fn name(self) -> &'static str {
        match self {
            Quant::F32 => "f32",
            Quant::Int8PerRow => "int8-per-row",
        }
    }

    fn matrix_encoding(self) -> Encoding {
        match self {
            Quant::F32 => Encoding::F32,
            Quant::Int8PerRow => Encoding::I8,
        }
    }
}

/// The header: everything needed to size buffers and interpret the tensors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header<'a> {
    pub kind: ModelKind,
    pub vocab: Vocab<'a>,
    /// Context length in symbols (1 for a bigram).
    pub block_size: usize,
    /// Embedding width (0 for a bigram).
    pub n_embd: usize,
    /// Hidden layer width (0 for a bigram).
    pub n_hidden: usize,
    pub quant: Quant,
    /// The model card: free UTF-8 text written at export (`key: value` lines: training
    /// figures, the test NLL the runtime measured on this very file). May be empty.
    pub card: &'a str,
}

/// The tensors of a model, borrowed from its bytes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Weights<'a> {
    Bigram {
        /// `[vocab, vocab]`: row = previous symbol, columns = logits of the next symbol.
        table: Matrix<'a>,
    },
    Mlp {
        /// `[vocab, n_embd]` embedding table.
        c: Matrix<'a>,
        /// `[n_hidden, block_size * n_embd]`.
        w1: Matrix<'a>,
        /// `[n_hidden]`.
        b1: &'a [F32Le],
        /// `[vocab, n_hidden]`.
        w2: Matrix<'a>,
        /// `[vocab]`.
        b2: &'a [F32Le],
    },
}

impl Weights<'_> {
    /// Number of parameters (weights and biases; int8 scales not counted).
    pub fn n_params(&self) -> usize {
        let m = |m: &Matrix| m.rows() * m.cols();
        match self {
            Weights::Bigram { table } => m(table),
            Weights::Mlp { c, w1, b1, w2, b2 } => m(c) + m(w1) + b1.len() + m(w2) + b2.len(),
        }
    }

    /// The tensors with their names, in file order.
    pub fn tensors(&self) -> heapless::Vec<(&'static str, Tensor<'_>), 5> {
        let mut v = heapless::Vec::new();
        let pairs: &[(&'static str, Tensor)] = match self {
            Weights::Bigram { table } => &[("table", Tensor::Matrix(*table))],
            Weights::Mlp { c, w1, b1, w2, b2 } => &[
                ("C", Tensor::Matrix(*c)),
                ("W1", Tensor::Matrix(*w1)),
                ("b1", Tensor::Bias(b1)),
                ("W2", Tensor::Matrix(*w2)),
                ("b2", Tensor::Bias(b2)),
            ],
        };
        for p in pairs {
            // Capacity 5 is the most tensors any kind has.
            let _ = v.push(*p);
        }
        v
    }
}

/// One named tensor of a model, for inspection and encoding.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Tensor<'a> {
    Matrix(Matrix<'a>),
    /// An f32 vector, stored as a `[1, n]` tensor.
    Bias(&'a [F32Le]),
}

// ---- Wire structs: postcard's view of the layout above ----

#[derive(Serialize, Deserialize)]
struct WireHeader<'a> {
    kind: u8,
    #[serde(borrow)]
    vocab: &'a [u8],
    block_size: u32,
    n_embd: u32,
    n_hidden: u32,
    quant: u8,
    #[serde(borrow)]
    card: &'a [u8],
}

#[derive(Serialize, Deserialize)]
struct WireTensor<'a> {
    encoding: u8,
    rows: u32,
    cols: u32,
    #[serde(borrow)]
    scales: &'a [u8],
    #[serde(borrow)]
    values: &'a [u8],
}

const KIND_BIGRAM: u8 = 0;
const KIND_MLP: u8 = 1;
const QUANT_F32: u8 = 0;
const QUANT_INT8: u8 = 1;
const ENC_F32: u8 = 0;
const ENC_I8: u8 = 1;

// ---- Decoding ----

/// Decodes and validates a model file in place: every tensor borrows from `bytes`.
///
/// Checks, in order: magic, version, CRC, header fields, vocabulary, each tensor's encoding,
/// shape and byte length against the header, finite values and int8 range, and that nothing
/// follows the last tensor. Never panics and never allocates, whatever `bytes` holds.
pub fn decode(bytes: &[u8]) -> Result<(Header<'_>, Weights<'_>), DecodeError> {
    let too_short = DecodeError::TooShort { len: bytes.len() };
    let (magic, rest) = bytes.split_first_chunk::<4>().ok_or(too_short)?;
    if *magic != MAGIC {
        return Err(DecodeError::BadMagic { found: *magic });
    }
    let (version, _) = postcard::take_from_bytes::<u16>(rest).map_err(|_| too_short)?;
    if version != FORMAT_VERSION {
        return Err(DecodeError::UnsupportedVersion { found: version, supported: FORMAT_VERSION });
    }
    let (body, stored) = bytes.split_last_chunk::<4>().ok_or(too_short)?;
    let stored = u32::from_le_bytes(*stored);
    let computed = crc32(body);
    if stored != computed {
        return Err(DecodeError::CrcMismatch { stored, computed });
    }
    // The magic and version were read above; parse the rest of the body.
    let rest = body.get(4..).ok_or(too_short)?;
    let (_, rest) = postcard::take_from_bytes::<u16>(rest).map_err(|_| too_short)?;
    let (wire, rest) =
        postcard::take_from_bytes::<WireHeader>(rest).map_err(|_| DecodeError::Malformed { section: "header" })?;
    let header = validate_header(&wire)?;

    let mut reader = TensorReader { rest, header: &header };
    let weights = match header.kind {
        ModelKind::Bigram => {
            let v = header.vocab.len();
            Weights::Bigram { table: reader.matrix("table", v, v)? }
        }
        ModelKind::Mlp => {
            let v = header.vocab.len();
            let n_in = header
                .block_size
                .checked_mul(header.n_embd)
                .ok_or(DecodeError::SizeOverflow { what: "block_size * n_embd" })?;
            Weights::Mlp {
                c: reader.matrix("C", v, header.n_embd)?,
                w1: reader.matrix("W1", header.n_hidden, n_in)?,
                b1: reader.bias("b1", header.n_hidden)?,
                w2: reader.matrix("W2", v, header.n_hidden)?,
                b2: reader.bias("b2", v)?,
            }
        }
    };
    if !reader.rest.is_empty() {
        return Err(DecodeError::TrailingBytes { count: reader.rest.len() });
    }
    Ok((header, weights))
}

fn validate_header<'a>(wire: &WireHeader<'a>) -> Result<Header<'a>, DecodeError> {
    let kind = match wire.kind {
        KIND_BIGRAM => ModelKind::Bigram,
        KIND_MLP => ModelKind::Mlp,
        tag => return Err(DecodeError::UnknownModelKind { tag }),
    };
    let quant = match wire.quant {
        QUANT_F32 => Quant::F32,
        QUANT_INT8 => Quant::Int8PerRow,
        tag => return Err(DecodeError::UnknownQuant { tag }),
    };
    let vocab = Vocab::new(core::str::from_utf8(wire.vocab).map_err(|_| DecodeError::VocabNotUtf8)?)?;
    let dim = |field: &'static str, value: u32, ok: bool, expected: &'static str| {
        if ok {
            usize::try_from(value).map_err(|_| DecodeError::SizeOverflow { what: field })
        } else {
            Err(DecodeError::BadDimension { field, value, expected })
        }
    };
    let (b, e, h) = (wire.block_size, wire.n_embd, wire.n_hidden);
    let (block_size, n_embd, n_hidden) = match kind {
        ModelKind::Bigram => (
            dim("block_size", b, b == 1, "1 for a bigram")?,
            dim("n_embd", e, e == 0, "0 for a bigram")?,
            dim("n_hidden", h, h == 0, "0 for a bigram")?,
        ),
        ModelKind::Mlp => (
            dim("block_size", b, b >= 1, "at least 1")?,
            dim("n_embd", e, e >= 1, "at least 1")?,
            dim("n_hidden", h, h >= 1, "at least 1")?,
        ),
    };
    let card = core::str::from_utf8(wire.card).map_err(|_| DecodeError::CardNotUtf8)?;
    Ok(Header { kind, vocab, block_size, n_embd, n_hidden, quant, card })
}

/// Reads tensors one after another, checking each against the header.
struct TensorReader<'a, 'h> {
    rest: &'a [u8],
    header: &'h Header<'a>,
}

impl<'a> TensorReader<'a, '_> {
    fn next(&mut self, name: &'static str) -> Result<WireTensor<'a>, DecodeError> {
        let (t, rest) =
            postcard::take_from_bytes::<WireTensor>(self.rest).map_err(|_| DecodeError::Malformed { section: name })?;
        self.rest = rest;
        Ok(t)
    }

    fn matrix(&mut self, name: &'static str, rows: usize, cols: usize) -> Result<Matrix<'a>, DecodeError> {
        let t = self.next(name)?;
        let expected = self.header.quant.matrix_encoding();
        let found = encoding(name, t.encoding)?;
        if found != expected {
            return Err(DecodeError::WrongEncoding { tensor: name, expected: expected.name(), found: found.name() });
        }
        check_shape(name, &t, rows, cols)?;
        let n = rows.checked_mul(cols).ok_or(DecodeError::SizeOverflow { what: name })?;
        match found {
            Encoding::F32 => {
                check_len(name, "scales", 0, t.scales.len())?;
                let data = f32_words(name, "values", t.values, n)?;
                Matrix::f32(rows, cols, data).ok_or(DecodeError::SizeOverflow { what: name })
            }
            Encoding::I8 => {
                let scales = f32_words(name, "scales", t.scales, rows)?;
                for (row, s) in scales.iter().enumerate() {
                    if f32_le(s) < 0.0 {
                        return Err(DecodeError::NegativeScale { tensor: name, row });
                    }
                }
                check_len(name, "values", n, t.values.len())?;
                let values: &[i8] = bytemuck::cast_slice(t.values);
                if let Some(index) = values.iter().position(|&q| q == i8::MIN) {
                    return Err(DecodeError::Int8OutOfRange { tensor: name, index });
                }
                Matrix::i8(rows, cols, scales, values).ok_or(DecodeError::SizeOverflow { what: name })
            }
        }
    }

    fn bias(&mut self, name: &'static str, n: usize) -> Result<&'a [F32Le], DecodeError> {
        let t = self.next(name)?;
        let found = encoding(name, t.encoding)?;
        if found != Encoding::F32 {
            return Err(DecodeError::WrongEncoding { tensor: name, expected: "f32", found: found.name() });
        }
        check_shape(name, &t, 1, n)?;
        check_len(name, "scales", 0, t.scales.len())?;
        f32_words(name, "values", t.values, n)
    }
}

fn encoding(tensor: &'static str, tag: u8) -> Result<Encoding, DecodeError> {
    match tag {
        ENC_F32 => Ok(Encoding::F32),
        ENC_I8 => Ok(Encoding::I8),
        tag => Err(DecodeError::UnknownEncoding { tensor, tag }),
    }
}

fn check_shape(tensor: &'static str, t: &WireTensor, rows: usize, cols: usize) -> Result<(), DecodeError> {
    // u32 -> usize saturates on 16-bit targets, which then fails the comparison as it should.
    let found = (usize::try_from(t.rows).unwrap_or(usize::MAX), usize::try_from(t.cols).unwrap_or(usize::MAX));
    if found != (rows, cols) {
        return Err(DecodeError::ShapeMismatch { tensor, expected: (rows, cols), found });
    }
    Ok(())
}

fn check_len(tensor: &'static str, part: &'static str, expected: usize, found: usize) -> Result<(), DecodeError> {
    if expected != found {
        return Err(DecodeError::LengthMismatch { tensor, part, expected, found });
    }
    Ok(())
}

/// `bytes` as `n` stored f32 words, all finite.
fn f32_words<'a>(
    tensor: &'static str,
    part: &'static str,
    bytes: &'a [u8],
    n: usize,
) -> Result<&'a [F32Le], DecodeError> {
    let expected = n.checked_mul(4).ok_or(DecodeError::SizeOverflow { what: tensor })?;
    check_len(tensor, part, expected, bytes.len())?;
    let (words, _) = bytes.as_chunks::<4>();
    if let Some(index) = words.iter().position(|w| !f32_le(w).is_finite()) {
        return Err(DecodeError::NonFinite { tensor, index });
    }
    Ok(words)
}

// ---- Encoding (host side) ----

#[cfg(feature = "alloc")]
pub use encode::*;

#[cfg(feature = "alloc")]
mod encode {
    use super::*;
    use crate::tensor::MatrixData;
    use alloc::vec::Vec;

    /// Writes a model file for `header` and `weights`, then decodes the result so that a file
    /// this function returns is one the runtime accepts (the decoder's checks are the only
    /// definition of "valid").
    pub fn encode(header: &Header, weights: &Weights) -> Result<Vec<u8>, DecodeError> {
        let overflow = |what| DecodeError::SizeOverflow { what };
        let wire = WireHeader {
            kind: match header.kind {
                ModelKind::Bigram => KIND_BIGRAM,
                ModelKind::Mlp => KIND_MLP,
            },
            vocab: header.vocab.as_str().as_bytes(),
            block_size: u32::try_from(header.block_size).map_err(|_| overflow("block_size"))?,
            n_embd: u32::try_from(header.n_embd).map_err(|_| overflow("n_embd"))?,
            n_hidden: u32::try_from(header.n_hidden).map_err(|_| overflow("n_hidden"))?,
            quant: match header.quant {
                Quant::F32 => QUANT_F32,
                Quant::Int8PerRow => QUANT_INT8,
            },
            card: header.card.as_bytes(),
        };
        let mut out = Vec::from(MAGIC);
        let ser = |_| DecodeError::Malformed { section: "encoder" };
        out.extend(postcard::to_allocvec(&FORMAT_VERSION).map_err(ser)?);
        out.extend(postcard::to_allocvec(&wire).map_err(ser)?);
        for (name, tensor) in weights.tensors() {
            let (encoding, rows, cols, scales, values) = match tensor {
                Tensor::Matrix(m) => match m.data() {
                    MatrixData::F32(d) => (ENC_F32, m.rows(), m.cols(), &[][..], d.as_flattened()),
                    MatrixData::I8 { scales, values } => {
                        (ENC_I8, m.rows(), m.cols(), scales.as_flattened(), bytemuck::cast_slice::<i8, u8>(values))
                    }
                },
                Tensor::Bias(b) => (ENC_F32, 1, b.len(), &[][..], b.as_flattened()),
            };
            let wire = WireTensor {
                encoding,
                rows: u32::try_from(rows).map_err(|_| overflow(name))?,
                cols: u32::try_from(cols).map_err(|_| overflow(name))?,
                scales,
                values,
            };
            out.extend(postcard::to_allocvec(&wire).map_err(ser)?);
        }
        let crc = crc32(&out);
        out.extend(crc.to_le_bytes());
        decode(&out)?;
        Ok(out)
    }
}
