//! The model file format: the one place it is defined. The trainer writes it (through
//! `encode`, behind the `alloc` feature) and the runtime reads it ([`decode`]).
//!
//! ```text
//! magic      4 bytes    b"MKMR"
//! version    varint u16 FORMAT_VERSION (4; version 3 is read too)
//! header     postcard   kind u8 (0 bigram, 1 mlp), vocab bytes (varint len + UTF-8),
//!                       block_size u32, n_embd u32,                   (u32s are varints)
//!                       layers: varint count + (n_merge u32, n_out u32) per layer,
//!                       quant u8 (0 f32, 1 int8), card bytes (UTF-8, may be empty)
//! tensors    postcard   per tensor: encoding u8 (0 f32, 1 i8, 2 i32), rows u32, cols u32,
//!                       requant_pad bytes (0-3 zeros: the multipliers start 4-byte aligned),
//!                       requant bytes (rows x i32 LE multipliers, or empty),
//!                       pad bytes (0-3 zeros: the values start 4-byte aligned in the file),
//!                       values bytes (rows x cols values, little-endian)
//!                       (version 3: no requant_pad, and only int8 values aligned)
//! crc        4 bytes    CRC-32 (ISO-HDLC, as zlib) of every byte before it, little-endian
//! ```
//!
//! Tensors, in order (`[rows, cols]`):
//! - bigram: `table [vocab, vocab]` (row = previous symbol, columns = next-symbol logits);
//!   int8: row-major int8 log-probabilities with one multiplier per row.
//! - mlp: `C [vocab, n_embd]`, then for each layer `k = 1..`: `Wk [n_out, n_in]`,
//!   `bk [1, n_out]`, where `n_in = n_merge * (n_embd or the previous layer's n_out)`.
//!   f32: row-major f32 weights (PyTorch's `Linear` layout) and f32 biases. int8 (the integer
//!   model, [`crate::quant`]): `C` row-major int8; `Wk` int8 in the row-quad layout
//!   ([`crate::int_kernels`]) with one multiplier per row; `bk` i32.
//!
//! The layers form a stack over the context's positions: the embedding makes `block_size`
//! positions of `n_embd` features; a layer concatenates `n_merge` consecutive positions (the
//! lectures' `FlattenConsecutive`) and maps each group to `n_out` features; every layer but
//! the last is followed by tanh; the last leaves one position of `vocab` logits. Bengio's MLP
//! is two layers, `(block_size, n_hidden)` and `(1, vocab)`; a deeper MLP adds `(1, n_hidden)`
//! layers; the WaveNet-style hierarchy merges pairs, `(2, n_hidden)` per level. Batch norm is
//! folded into the linear layers at export, so it has no tensor here.
//!
//! Any change to this layout bumps [`FORMAT_VERSION`] and adds a fixture.

use crate::layout::GROUP;
use crate::quant::X_MAX;
use crate::tensor::{i32_le, int8s, words, Encoding, Layout, TensorView};
use crate::vocab::Vocab;
use crate::DecodeError;
use serde::{Deserialize, Serialize};

/// First four bytes of every model file.
pub const MAGIC: [u8; 4] = *b"MKMR";

/// The format version this runtime writes. Version 2 had one hidden layer and int8 files
/// with f32 activations; version 3 has a stack of layers and integer int8 models; version 4
/// the same tensors with every array 4-byte aligned in the file (the multipliers too), so
/// that cores without unaligned loads (Cortex-M0, RISC-V) read an i32 with one load.
pub const FORMAT_VERSION: u16 = 4;

/// The format version of a model file (`None` if `bytes` does not start like one), read
/// without decoding the rest: [`decode`] accepts [`OLDEST_VERSION`] to [`FORMAT_VERSION`].
pub fn file_version(bytes: &[u8]) -> Option<u16> {
    let rest = bytes.strip_prefix(&MAGIC)?;
    postcard::take_from_bytes::<u16>(rest).ok().map(|(v, _)| v)
}

/// The oldest format version this runtime reads: version 3 files decode and run exactly as
/// before (their multipliers and i32 values read a byte at a time).
pub const OLDEST_VERSION: u16 = 3;

/// Most linear layers a model may have.
pub const MAX_LAYERS: usize = 6;

// Bitwise, without a lookup table: the CRC runs once per load, and the 1 KB table would be a
// noticeable share of a 24 KB flash budget.
const CRC: crc::Crc<u32, crc::NoTable> = crc::Crc::<u32, crc::NoTable>::new(&crc::CRC_32_ISO_HDLC);

/// CRC-32 (ISO-HDLC, the zlib one) of `bytes`, as stored at the end of a model file.
pub fn crc32(bytes: &[u8]) -> u32 {
    CRC.checksum(bytes)
}

/// Which network the file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ModelKind {
    /// A `[vocab, vocab]` table of next-symbol logits (log-probabilities for a counts model).
    Bigram,
    /// An embedding table and a stack of linear layers with tanh between them (Bengio et al.
    /// 2003, deeper MLPs, the WaveNet-style hierarchy).
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

/// What numbers the file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Quant {
    /// Every tensor f32: the float reference (libm's tanh and exp).
    F32,
    /// The integer model: int8 weights, i32 biases, fixed-point activations, table tanh,
    /// integer softmax and sampling ([`crate::quant`]).
    Int8,
}

impl Quant {
    /// The name used in flags, messages and `inspect` output.
    pub fn name(self) -> &'static str {
        match self {
            Quant::F32 => "f32",
            Quant::Int8 => "int8",
        }
    }
}

/// One linear layer's shape: it concatenates `n_merge` consecutive positions and maps each
/// group to `n_out` features.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LayerShape {
    /// Consecutive positions of its input one output position reads (1: a plain layer; the
    /// first layer of a flat MLP reads the whole context).
    pub n_merge: usize,
    /// Outputs per position.
    pub n_out: usize,
}

/// The layer shapes of a model, in order (at most [`MAX_LAYERS`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LayerShapes {
    len: usize,
    shapes: [LayerShape; MAX_LAYERS],
}

impl LayerShapes {
    /// `shapes` as a stack, or `None` if there are more than [`MAX_LAYERS`]. A `const fn`, for
    /// headers known at build time ([`ModelMap`]).
    pub const fn new(shapes: &[LayerShape]) -> Option<Self> {
        if shapes.len() > MAX_LAYERS {
            return None;
        }
        let mut s = Self { len: shapes.len(), shapes: [LayerShape { n_merge: 0, n_out: 0 }; MAX_LAYERS] };
        let (mut from, mut to) = (shapes, &mut s.shapes as &mut [LayerShape]);
        while let ([shape, from_rest @ ..], [slot, to_rest @ ..]) = (from, to) {
            *slot = *shape;
            (from, to) = (from_rest, to_rest);
        }
        Some(s)
    }

    /// The shapes, first layer first.
    pub fn as_slice(&self) -> &[LayerShape] {
        self.shapes.get(..self.len).unwrap_or(&[])
    }
}

/// The header: everything needed to size buffers and interpret the tensors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header<'a> {
    /// Bigram table or MLP.
    pub kind: ModelKind,
    /// The symbols in id order (id 0: the boundary `'.'`).
    pub vocab: Vocab<'a>,
    /// Context length in symbols (1 for a bigram).
    pub block_size: usize,
    /// Embedding width (0 for a bigram).
    pub n_embd: usize,
    /// The linear layers (none for a bigram).
    pub layers: LayerShapes,
    /// The number format: the f32 reference or the integer model.
    pub quant: Quant,
    /// The model card: free UTF-8 text written at export (`key: value` lines: training
    /// figures, the test NLL the runtime measured on this very file). May be empty.
    pub card: &'a str,
}

impl Header<'_> {
    /// `(positions, features)` entering layer `k` (`k = layers` gives the logits' `(1, vocab)`
    /// for a valid model): the embedding makes `(block_size, n_embd)`.
    pub fn stage(&self, k: usize) -> (usize, usize) {
        let mut stage = (self.block_size, self.n_embd);
        for l in self.layers.as_slice().iter().take(k) {
            stage = (stage.0 / l.n_merge.max(1), l.n_out);
        }
        stage
    }

    /// Number of parameters (weights and biases; multipliers not counted).
    pub fn n_params(&self) -> usize {
        let v = self.vocab.len();
        match self.kind {
            ModelKind::Bigram => v * v,
            ModelKind::Mlp => {
                let layers = self.layers.as_slice().iter().enumerate();
                v * self.n_embd + layers.map(|(k, l)| l.n_out * (l.n_merge * self.stage(k).1 + 1)).sum::<usize>()
            }
        }
    }

    /// The hidden width of a one-hidden-layer MLP (the first layer's `n_out`); 0 for a bigram.
    pub fn n_hidden(&self) -> usize {
        match self.layers.as_slice() {
            [first, _, ..] => first.n_out,
            _ => 0,
        }
    }
}

/// One linear layer's tensors as they lie in the model bytes (shapes: the header's).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Linear<'a> {
    /// `[n_out, n_in]`: f32 words row-major, or int8 in the row-quad layout.
    pub w: &'a [u8],
    /// `[n_out]`: f32 words, or i32 words in accumulator units.
    pub b: &'a [u8],
    /// `[n_out]` requantisation multipliers, i32 words (int8 files), else empty.
    pub requant: &'a [u8],
}

/// The tensors of a model as they lie in its bytes: the decoder has checked every length
/// against the header, so the slices hold exactly the values the shapes say.
#[derive(Clone, Debug, PartialEq)]
#[allow(clippy::large_enum_variant)] // one per model, and a Box would need a heap
pub enum Weights<'a> {
    /// A bigram table.
    Bigram {
        /// `[vocab, vocab]` row-major: row = previous symbol, columns = next-symbol logits.
        table: &'a [u8],
        /// `[vocab]` multipliers of an int8 table's rows, else empty.
        requant: &'a [u8],
    },
    /// An MLP: the embedding table and the linear layers.
    Mlp {
        /// `[vocab, n_embd]` embedding table, row-major.
        c: &'a [u8],
        /// The layers, first first; the last one makes the logits.
        layers: heapless::Vec<Linear<'a>, MAX_LAYERS>,
    },
}

/// Names of the layers' tensors in messages and `inspect` output.
const W_NAMES: [&str; MAX_LAYERS] = ["W1", "W2", "W3", "W4", "W5", "W6"];
const B_NAMES: [&str; MAX_LAYERS] = ["b1", "b2", "b3", "b4", "b5", "b6"];

/// The tensors of a model in file order, with their names and shapes.
pub fn tensors<'a>(
    header: &Header<'a>,
    weights: &Weights<'a>,
) -> heapless::Vec<TensorView<'a>, { 1 + 2 * MAX_LAYERS }> {
    let mut v = heapless::Vec::new();
    let (matrix, bias) = match header.quant {
        Quant::F32 => (Encoding::F32, Encoding::F32),
        Quant::Int8 => (Encoding::I8, Encoding::I32),
    };
    let view = |name, rows, cols, encoding, layout, values, requant| TensorView {
        name,
        rows,
        cols,
        encoding,
        layout,
        values,
        requant,
    };
    let n = header.vocab.len();
    // The capacity is the most tensors a model has, so no push fails.
    match weights {
        Weights::Bigram { table, requant } => {
            let _ = v.push(view("table", n, n, matrix, Layout::RowMajor, table, requant));
        }
        Weights::Mlp { c, layers } => {
            let _ = v.push(view("C", n, header.n_embd, matrix, Layout::RowMajor, c, &[]));
            let quads = if matrix == Encoding::I8 { Layout::RowQuads } else { Layout::RowMajor };
            for (k, (((l, shape), w), b)) in
                layers.iter().zip(header.layers.as_slice()).zip(W_NAMES).zip(B_NAMES).enumerate()
            {
                let n_in = shape.n_merge * header.stage(k).1;
                let _ = v.push(view(w, shape.n_out, n_in, matrix, quads, l.w, l.requant));
                let _ = v.push(view(b, 1, shape.n_out, bias, Layout::RowMajor, l.b, &[]));
            }
        }
    }
    v
}

// ---- Wire structs: postcard's view of the layout above ----

#[derive(Serialize, Deserialize)]
struct WireLayer {
    n_merge: u32,
    n_out: u32,
}

/// The header in three parts: the fields before the layers, the layers (a varint count,
/// then each layer), the fields after. (Read part by part rather than as one struct with a
/// `heapless::Vec`: the generic sequence decoder is half a kilobyte of flash.)
#[derive(Serialize, Deserialize)]
struct WireHeaderStart<'a> {
    kind: u8,
    #[serde(borrow)]
    vocab: &'a [u8],
    block_size: u32,
    n_embd: u32,
}

#[derive(Serialize, Deserialize)]
struct WireHeaderEnd<'a> {
    quant: u8,
    #[serde(borrow)]
    card: &'a [u8],
}

/// The header as decoded (the layers already converted).
struct WireHeader<'a> {
    start: WireHeaderStart<'a>,
    layers: LayerShapes,
    end: WireHeaderEnd<'a>,
}

/// Reads the header's three parts from `bytes`; `None` when they do not parse (or there are
/// more than [`MAX_LAYERS`] layers, or a dimension does not fit a `usize`).
fn take_header(bytes: &[u8]) -> Option<(WireHeader<'_>, &[u8])> {
    let (start, rest) = postcard::take_from_bytes::<WireHeaderStart>(bytes).ok()?;
    let (count, mut rest) = postcard::take_from_bytes::<u32>(rest).ok()?;
    let mut layers = LayerShapes { len: usize::try_from(count).ok()?, ..LayerShapes::default() };
    if layers.len > MAX_LAYERS {
        return None;
    }
    for shape in layers.shapes.iter_mut().take(layers.len) {
        let (layer, r) = postcard::take_from_bytes::<WireLayer>(rest).ok()?;
        *shape =
            LayerShape { n_merge: usize::try_from(layer.n_merge).ok()?, n_out: usize::try_from(layer.n_out).ok()? };
        rest = r;
    }
    let (end, rest) = postcard::take_from_bytes::<WireHeaderEnd>(rest).ok()?;
    Some((WireHeader { start, layers, end }, rest))
}

#[derive(Serialize, Deserialize)]
struct WireTensor<'a> {
    encoding: u8,
    rows: u32,
    cols: u32,
    #[serde(borrow)]
    requant_pad: &'a [u8],
    #[serde(borrow)]
    requant: &'a [u8],
    #[serde(borrow)]
    pad: &'a [u8],
    #[serde(borrow)]
    values: &'a [u8],
}

/// A tensor of a version 3 file: no `requant_pad`.
#[derive(Deserialize)]
struct WireTensorV3<'a> {
    encoding: u8,
    rows: u32,
    cols: u32,
    #[serde(borrow)]
    requant: &'a [u8],
    #[serde(borrow)]
    pad: &'a [u8],
    #[serde(borrow)]
    values: &'a [u8],
}

const KIND_BIGRAM: u8 = 0;
const KIND_MLP: u8 = 1;
const QUANT_F32: u8 = 0;
const QUANT_INT8: u8 = 1;
const ENC_F32: u8 = 0;
const ENC_I8: u8 = 1;
const ENC_I32: u8 = 2;

// ---- Decoding ----

/// Decodes and validates a model file in place: every tensor borrows from `bytes`.
///
/// Checks, in order: magic, version, CRC, header fields and the layer stack, vocabulary, each
/// tensor's encoding, shape and byte length against the header, finite f32 values, the int8
/// range, non-negative multipliers, that no integer layer's sums can overflow, and that
/// nothing follows the last tensor. Never panics, never allocates and uses no floating-point
/// arithmetic, whatever `bytes` holds.
// Not inlined: its temporaries then live in a frame of their own, released before the
// model runs, instead of in the caller's frame for its whole life (600 bytes of a
// microcontroller's peak stack).
#[inline(never)]
pub fn decode(bytes: &[u8]) -> Result<(Header<'_>, Weights<'_>), DecodeError> {
    let too_short = DecodeError::TooShort { len: bytes.len() };
    let (magic, rest) = bytes.split_first_chunk::<4>().ok_or(too_short)?;
    if *magic != MAGIC {
        return Err(DecodeError::BadMagic { found: *magic, expected: MAGIC });
    }
    let (version, _) = postcard::take_from_bytes::<u16>(rest).map_err(|_| too_short)?;
    if !(OLDEST_VERSION..=FORMAT_VERSION).contains(&version) {
        return Err(DecodeError::UnsupportedVersion { found: version, oldest: OLDEST_VERSION, newest: FORMAT_VERSION });
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
    let (wire, rest) = take_header(rest).ok_or(DecodeError::Malformed { section: "header" })?;
    let header = validate_header(&wire)?;

    let mut reader = TensorReader { rest, quant: header.quant, version };
    let v = header.vocab.len();
    let weights = match header.kind {
        ModelKind::Bigram => {
            let (table, requant) = reader.matrix("table", v, v, true)?;
            Weights::Bigram { table, requant }
        }
        ModelKind::Mlp => {
            let (c, _) = reader.matrix("C", v, header.n_embd, false)?;
            let mut layers = heapless::Vec::new();
            for (k, ((shape, w_name), b_name)) in header.layers.as_slice().iter().zip(W_NAMES).zip(B_NAMES).enumerate()
            {
                let n_in = shape
                    .n_merge
                    .checked_mul(header.stage(k).1)
                    .ok_or(DecodeError::SizeOverflow { what: "n_merge * features" })?;
                let (w, requant) = reader.matrix(w_name, shape.n_out, n_in, true)?;
                let b = reader.bias(b_name, shape.n_out)?;
                if header.quant == Quant::Int8 {
                    check_accumulators(w_name, int8s(w), words(b), n_in)?;
                }
                // The header allows at most MAX_LAYERS layers, the capacity.
                let _ = layers.push(Linear { w, b, requant });
            }
            Weights::Mlp { c, layers }
        }
    };
    if !reader.rest.is_empty() {
        return Err(DecodeError::TrailingBytes { count: reader.rest.len() });
    }
    Ok((header, weights))
}

fn validate_header<'a>(h: &WireHeader<'a>) -> Result<Header<'a>, DecodeError> {
    let wire = &h.start;
    let kind = match wire.kind {
        KIND_BIGRAM => ModelKind::Bigram,
        KIND_MLP => ModelKind::Mlp,
        tag => return Err(DecodeError::UnknownModelKind { tag }),
    };
    let quant = match h.end.quant {
        QUANT_F32 => Quant::F32,
        QUANT_INT8 => Quant::Int8,
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
    let (b, e) = (wire.block_size, wire.n_embd);
    let (block_size, n_embd) = match kind {
        ModelKind::Bigram => {
            (dim("block_size", b, b == 1, "1 for a bigram")?, dim("n_embd", e, e == 0, "0 for a bigram")?)
        }
        ModelKind::Mlp => (dim("block_size", b, b >= 1, "at least 1")?, dim("n_embd", e, e >= 1, "at least 1")?),
    };
    let layer_err = |layer: usize, problem: &'static str| DecodeError::BadLayers { layer, problem };
    let mut positions = block_size;
    for (k, l) in h.layers.as_slice().iter().enumerate() {
        if l.n_merge == 0 || l.n_out == 0 {
            return Err(layer_err(k + 1, "n_merge and n_out must be at least 1"));
        }
        if positions % l.n_merge != 0 {
            return Err(layer_err(k + 1, "n_merge must divide the positions left (block_size, then each layer's)"));
        }
        positions /= l.n_merge;
    }
    let (layers, n_layers) = (h.layers, h.layers.len);
    match kind {
        ModelKind::Bigram if n_layers != 0 => return Err(layer_err(1, "a bigram has no layers")),
        ModelKind::Mlp if n_layers == 0 => return Err(layer_err(0, "an mlp needs at least one layer")),
        ModelKind::Mlp if positions != 1 => return Err(layer_err(n_layers, "the last layer must leave one position")),
        ModelKind::Mlp if layers.as_slice().last().map(|l| l.n_out) != Some(vocab.len()) => {
            return Err(layer_err(n_layers, "the last layer's n_out must be the vocabulary size"))
        }
        _ => {}
    }
    let card = core::str::from_utf8(h.end.card).map_err(|_| DecodeError::CardNotUtf8)?;
    Ok(Header { kind, vocab, block_size, n_embd, layers, quant, card })
}

/// Reads tensors one after another, checking each against the header.
struct TensorReader<'a> {
    rest: &'a [u8],
    quant: Quant,
    /// The file's format version (both read the same tensors).
    version: u16,
}

impl<'a> TensorReader<'a> {
    fn next(&mut self, name: &'static str) -> Result<WireTensor<'a>, DecodeError> {
        let malformed = |_| DecodeError::Malformed { section: name };
        let (t, rest) = if self.version == 3 {
            let (t, rest) = postcard::take_from_bytes::<WireTensorV3>(self.rest).map_err(malformed)?;
            let WireTensorV3 { encoding, rows, cols, requant, pad, values } = t;
            (WireTensor { encoding, rows, cols, requant_pad: &[], requant, pad, values }, rest)
        } else {
            postcard::take_from_bytes::<WireTensor>(self.rest).map_err(malformed)?
        };
        self.rest = rest;
        Ok(t)
    }

    /// A `[rows, cols]` matrix in the file's number format, and (int8 with `requant`) its
    /// rows' multipliers.
    fn matrix(
        &mut self,
        name: &'static str,
        rows: usize,
        cols: usize,
        requant: bool,
    ) -> Result<(&'a [u8], &'a [u8]), DecodeError> {
        let t = self.next(name)?;
        check_shape(name, &t, rows, cols)?;
        check_pads(name, &t)?;
        let n = rows.checked_mul(cols).ok_or(DecodeError::SizeOverflow { what: name })?;
        match self.quant {
            Quant::Int8 => {
                expect_encoding(name, &t, Encoding::I8)?;
                let multipliers = if requant {
                    let m = checked_words(name, "requant", t.requant, rows)?;
                    if let Some(row) = words(m).iter().position(|w| i32_le(w) < 0) {
                        return Err(DecodeError::BadRequant { tensor: name, row });
                    }
                    m
                } else {
                    check_len(name, "requant", 0, t.requant.len())?;
                    &[]
                };
                check_len(name, "values", n, t.values.len())?;
                if let Some(index) = t.values.iter().position(|&q| q == 0x80) {
                    return Err(DecodeError::Int8OutOfRange { tensor: name, index });
                }
                Ok((t.values, multipliers))
            }
            Quant::F32 => {
                expect_encoding(name, &t, Encoding::F32)?;
                check_len(name, "requant", 0, t.requant.len())?;
                Ok((f32_words(name, t.values, n)?, &[]))
            }
        }
    }

    fn bias(&mut self, name: &'static str, n: usize) -> Result<&'a [u8], DecodeError> {
        let t = self.next(name)?;
        check_shape(name, &t, 1, n)?;
        check_pads(name, &t)?;
        check_len(name, "requant", 0, t.requant.len())?;
        match self.quant {
            Quant::F32 => {
                expect_encoding(name, &t, Encoding::F32)?;
                f32_words(name, t.values, n)
            }
            Quant::Int8 => {
                expect_encoding(name, &t, Encoding::I32)?;
                checked_words(name, "values", t.values, n)
            }
        }
    }
}

fn expect_encoding(tensor: &'static str, t: &WireTensor, expected: Encoding) -> Result<(), DecodeError> {
    let found = match t.encoding {
        ENC_F32 => Encoding::F32,
        ENC_I8 => Encoding::I8,
        ENC_I32 => Encoding::I32,
        tag => return Err(DecodeError::UnknownEncoding { tensor, tag }),
    };
    if found != expected {
        return Err(DecodeError::WrongEncoding { tensor, expected: expected.name(), found: found.name() });
    }
    Ok(())
}

/// Padding is 0 to 3 zero bytes.
fn check_pads(tensor: &'static str, t: &WireTensor) -> Result<(), DecodeError> {
    let bad = |pad: &[u8]| pad.len() > 3 || pad.iter().any(|&b| b != 0);
    if bad(t.pad) || bad(t.requant_pad) {
        return Err(DecodeError::Malformed { section: tensor });
    }
    Ok(())
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

/// `bytes`, checked to hold `n` 4-byte words.
fn checked_words<'a>(
    tensor: &'static str,
    part: &'static str,
    bytes: &'a [u8],
    n: usize,
) -> Result<&'a [u8], DecodeError> {
    let expected = n.checked_mul(4).ok_or(DecodeError::SizeOverflow { what: tensor })?;
    check_len(tensor, part, expected, bytes.len())?;
    Ok(bytes)
}

/// `bytes`, checked to hold `n` stored f32 words, all finite (checked on the bits: an all-ones
/// exponent is infinity or NaN, so no floating-point arithmetic is needed).
fn f32_words<'a>(tensor: &'static str, bytes: &'a [u8], n: usize) -> Result<&'a [u8], DecodeError> {
    let w = checked_words(tensor, "values", bytes, n)?;
    if let Some(index) = words(w).iter().position(|w| u32::from_le_bytes(*w) & 0x7f80_0000 == 0x7f80_0000) {
        return Err(DecodeError::NonFinite { tensor, index });
    }
    Ok(w)
}

/// Proves that no row of an integer layer can overflow its `i32` sum: for every row,
/// `|b| + X_MAX * sum |w|` fits, whatever the inputs (all inputs are i16 of magnitude at most
/// `X_MAX`). `w` is in the row-quad layout: a group of 4, 2 or 1 rows stores, per column
/// pair, its rows' weights in the order `ROW_OF` gives, then one byte per row for an odd
/// last column.
fn check_accumulators(tensor: &'static str, w: &[i8], b: &[[u8; 4]], n_in: usize) -> Result<(), DecodeError> {
    const ROW_OF: [[usize; 8]; 3] = [[0, 1, 0, 1, 2, 3, 2, 3], [0, 1, 0, 1, 0, 0, 0, 0], [0; 8]];
    let n_out = b.len();
    let mut first = 0;
    while first < n_out {
        let rows = if n_out - first >= GROUP {
            GROUP
        } else if n_out - first >= 2 {
            2
        } else {
            1
        };
        let pattern = ROW_OF.get(rows / 2).copied().unwrap_or_default(); // 4 -> 0, 2 -> 1, 1 -> 2
        let paired = n_in / 2 * 2 * rows; // bytes of the column pairs
        let mut l1 = [0i64; GROUP];
        for (i, &q) in w.get(first * n_in..(first + rows) * n_in).unwrap_or(&[]).iter().enumerate() {
            let row = if i < paired { pattern.get(i % (2 * rows)).copied().unwrap_or(0) } else { i - paired };
            if let Some(s) = l1.get_mut(row) {
                *s += i64::from(q).abs();
            }
        }
        for (r, (s, bias)) in l1.iter().zip(b.get(first..first + rows).unwrap_or(&[])).enumerate() {
            if i64::from(i32_le(bias)).abs() + s * X_MAX > i64::from(i32::MAX) {
                return Err(DecodeError::AccumulatorOverflow { tensor, row: first + r });
            }
        }
        first += rows;
    }
    Ok(())
}

// ---- Model maps: decoding done ahead of time ----

/// Where `part` (a subslice of `file`) starts in `file`.
fn offset_in(file: &[u8], part: &[u8]) -> usize {
    // Address arithmetic only: both slices come from the same file.
    (part.as_ptr() as usize).wrapping_sub(file.as_ptr() as usize)
}

/// What [`decode`] found in a model file it accepted: its header and where each tensor's
/// values start (their lengths follow from the header). A firmware's build script computes it from the file it embeds ([`ModelMap::of`])
/// and writes it into the firmware as a `const` (the header's parts are `const`-constructible,
/// so the compiler checks the vocabulary); the device then builds the model with
/// [`from_map`], which only slices the bytes, checking each range against the shapes, so
/// none of the decoder's parsing and checks (about 5 KB of Cortex-M flash) is linked. The
/// build ran them all on these very bytes; a model from anywhere else (a file, a radio, a
/// flash partition written later) goes through [`decode`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelMap<'s> {
    /// The decoded header (its strings borrowed from where the map was written).
    pub header: Header<'s>,
    /// Offsets of the embedding table `C` (the table, for a bigram) and, for an int8 bigram,
    /// its rows' multipliers.
    pub first: [usize; 2],
    /// Offsets of each layer's `[W, b, multipliers]`.
    pub linear: [[usize; 3]; MAX_LAYERS],
}

impl<'s> ModelMap<'s> {
    /// Decodes `bytes` (every check of [`decode`]) and records where everything lies.
    pub fn of(bytes: &'s [u8]) -> Result<Self, DecodeError> {
        let (header, w) = decode(bytes)?;
        // An empty part (an f32 file's multipliers) may point anywhere: 0.
        let at = |part: &[u8]| if part.is_empty() { 0 } else { offset_in(bytes, part) };
        let mut linear = [[0; 3]; MAX_LAYERS];
        let first = match &w {
            Weights::Bigram { table, requant } => [at(table), at(requant)],
            Weights::Mlp { c, layers } => {
                for (slot, l) in linear.iter_mut().zip(layers) {
                    *slot = [at(l.w), at(l.b), at(l.requant)];
                }
                [at(c), 0]
            }
        };
        Ok(Self { header, first, linear })
    }
}

/// The model `map` describes, its tensors borrowed from `bytes`: each tensor is as long as
/// the header's shapes say, checked to lie in `bytes`; the values themselves are trusted (see
/// [`ModelMap`]).
#[inline(never)] // its temporaries in a frame of their own, as decode's
pub fn from_map<'a>(bytes: &'a [u8], map: &ModelMap<'a>) -> Result<(Header<'a>, Weights<'a>), DecodeError> {
    let header = map.header;
    // Bytes per value and per multiplier.
    let (value, multiplier) = if header.quant == Quant::Int8 { (1, 4) } else { (4, 0) };
    let take = |start: usize, len: Option<usize>| {
        let part = len.and_then(|len| bytes.get(start..start.checked_add(len)?));
        part.ok_or(DecodeError::Malformed { section: "model map" })
    };
    let v = header.vocab.len();
    let [first, first_m] = map.first;
    let weights = match header.kind {
        ModelKind::Bigram => Weights::Bigram {
            table: take(first, v.checked_mul(v * value))?,
            requant: take(first_m, v.checked_mul(multiplier))?,
        },
        ModelKind::Mlp => {
            let c = take(first, v.checked_mul(header.n_embd * value))?;
            let mut layers = heapless::Vec::new();
            for (k, (l, [w, b, m])) in header.layers.as_slice().iter().zip(map.linear).enumerate() {
                let n_w = l.n_merge.checked_mul(header.stage(k).1).and_then(|n_in| n_in.checked_mul(l.n_out));
                let linear = Linear {
                    w: take(w, n_w.and_then(|n| n.checked_mul(value)))?,
                    b: take(b, l.n_out.checked_mul(4))?,
                    requant: take(m, l.n_out.checked_mul(multiplier))?,
                };
                // At most MAX_LAYERS layers, the capacity.
                let _ = layers.push(linear);
            }
            Weights::Mlp { c, layers }
        }
    };
    Ok((header, weights))
}

// ---- Encoding (host side) ----

#[cfg(feature = "alloc")]
pub use encode::*;

#[cfg(feature = "alloc")]
mod encode {
    use super::*;
    use alloc::vec::Vec;

    /// Writes a model file for `header` and `weights`, then decodes the result so that a file
    /// this function returns is one the runtime accepts (the decoder's checks are the only
    /// definition of "valid"). Every tensor's values are placed 4-byte aligned in the file,
    /// for the word loads of the kernels (int8 weights on the Cortex-M4 and M0, i32 biases on
    /// cores without unaligned loads: the M0, RISC-V). Files from earlier encoders padded the
    /// int8 tensors only; they decode and run the same.
    pub fn encode(header: &Header, weights: &Weights) -> Result<Vec<u8>, DecodeError> {
        let overflow = |what| DecodeError::SizeOverflow { what };
        let u32_of = |what, v: usize| u32::try_from(v).map_err(|_| overflow(what));
        let mut layers = Vec::new();
        for l in header.layers.as_slice() {
            layers.push(WireLayer { n_merge: u32_of("n_merge", l.n_merge)?, n_out: u32_of("n_out", l.n_out)? });
        }
        let start = WireHeaderStart {
            kind: match header.kind {
                ModelKind::Bigram => KIND_BIGRAM,
                ModelKind::Mlp => KIND_MLP,
            },
            vocab: header.vocab.as_str().as_bytes(),
            block_size: u32_of("block_size", header.block_size)?,
            n_embd: u32_of("n_embd", header.n_embd)?,
        };
        let end = WireHeaderEnd {
            quant: match header.quant {
                Quant::F32 => QUANT_F32,
                Quant::Int8 => QUANT_INT8,
            },
            card: header.card.as_bytes(),
        };
        let mut out = Vec::from(MAGIC);
        let ser = |_| DecodeError::Malformed { section: "encoder" };
        out.extend(postcard::to_allocvec(&FORMAT_VERSION).map_err(ser)?);
        out.extend(postcard::to_allocvec(&start).map_err(ser)?);
        out.extend(postcard::to_allocvec(&u32_of("layers", layers.len())?).map_err(ser)?);
        for layer in &layers {
            out.extend(postcard::to_allocvec(layer).map_err(ser)?);
        }
        out.extend(postcard::to_allocvec(&end).map_err(ser)?);
        for t in tensors(header, weights) {
            let encoding = match t.encoding {
                Encoding::F32 => ENC_F32,
                Encoding::I8 => ENC_I8,
                Encoding::I32 => ENC_I32,
            };
            let (rows, cols) = (u32_of(t.name, t.rows)?, u32_of(t.name, t.cols)?);
            // The smallest paddings that put the multipliers and then the values (each after
            // its length varint) at a multiple of 4 from the start of the file.
            const ZEROS: [u8; 3] = [0; 3];
            let aligned = |prefix: &[u8], part: &[u8]| {
                part.is_empty() || (out.len() + prefix.len() - part.len()).is_multiple_of(4)
            };
            let mut head = Vec::new();
            for pad in 0..4 {
                let requant_pad = ZEROS.get(..pad).unwrap_or(&[]);
                head = postcard::to_allocvec(&(encoding, rows, cols, requant_pad, t.requant)).map_err(ser)?;
                if aligned(&head, t.requant) {
                    break;
                }
            }
            let mut bytes = Vec::new();
            for pad in 0..4 {
                let pad = ZEROS.get(..pad).unwrap_or(&[]);
                bytes = head.clone();
                bytes.extend(postcard::to_allocvec(&(pad, t.values)).map_err(ser)?);
                if aligned(&bytes, t.values) {
                    break;
                }
            }
            out.extend(bytes);
        }
        let crc = crc32(&out);
        out.extend(crc.to_le_bytes());
        decode(&out)?;
        Ok(out)
    }
}
