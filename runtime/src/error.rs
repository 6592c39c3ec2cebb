//! Typed errors: one enum for decoding model bytes, one for running a decoded model.
//!
//! Both are `#[non_exhaustive]` so new checks do not break callers, and every `Display`
//! says what is wrong and what to do about it.

use core::fmt;

/// Why a byte string is not a valid model file. Returned by [`crate::Model::from_bytes`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ends before a complete file (magic, version, header, tensors, CRC).
    TooShort {
        /// The input's length in bytes.
        len: usize,
    },
    /// The first four bytes are not [`crate::format::MAGIC`].
    BadMagic {
        /// The first four bytes.
        found: [u8; 4],
        /// What a model file starts with ([`crate::format::MAGIC`]).
        expected: [u8; 4],
    },
    /// The file was written by a format version this runtime does not read.
    UnsupportedVersion {
        /// The file's version.
        found: u16,
        /// The oldest version this runtime reads ([`crate::OLDEST_VERSION`]).
        oldest: u16,
        /// The newest version this runtime reads ([`crate::FORMAT_VERSION`]).
        newest: u16,
    },
    /// The CRC-32 stored at the end does not match the bytes before it.
    CrcMismatch {
        /// The CRC-32 the file ends with.
        stored: u32,
        /// The CRC-32 of the bytes before it.
        computed: u32,
    },
    /// A section could not be parsed (a length pointing past the end, a bad varint).
    Malformed {
        /// The section that could not be parsed.
        section: &'static str,
    },
    /// Bytes remain after the last tensor and before the CRC.
    TrailingBytes {
        /// How many bytes are left over.
        count: usize,
    },
    /// The model kind tag is not one this runtime knows.
    UnknownModelKind {
        /// The tag found.
        tag: u8,
    },
    /// The number format tag is not one this runtime knows.
    UnknownQuant {
        /// The tag found.
        tag: u8,
    },
    /// A tensor's encoding tag is not one this runtime knows.
    UnknownEncoding {
        /// The tensor's name (`C`, `W1`, ...).
        tensor: &'static str,
        /// The tag found.
        tag: u8,
    },
    /// The vocabulary bytes are not UTF-8.
    VocabNotUtf8,
    /// The model card is not UTF-8.
    CardNotUtf8,
    /// The vocabulary has no symbols or more than 256.
    VocabSize {
        /// The number of symbols found.
        len: usize,
    },
    /// Symbol id 0 must be the boundary token `'.'`.
    VocabBoundary {
        /// The symbol found at id 0.
        found: char,
    },
    /// A symbol appears twice in the vocabulary.
    VocabDuplicate {
        /// The repeated symbol.
        symbol: char,
    },
    /// A header dimension is out of range for the model kind.
    BadDimension {
        /// The header field.
        field: &'static str,
        /// Its value in the file.
        value: u32,
        /// The values allowed, in words.
        expected: &'static str,
    },
    /// A size computed from the header overflows `usize`.
    SizeOverflow {
        /// The size that overflows.
        what: &'static str,
    },
    /// A tensor's shape differs from the one the header implies.
    ShapeMismatch {
        /// The tensor's name.
        tensor: &'static str,
        /// `(rows, columns)` the header implies.
        expected: (usize, usize),
        /// `(rows, columns)` in the file.
        found: (usize, usize),
    },
    /// A tensor's encoding differs from the one the quantization scheme implies.
    WrongEncoding {
        /// The tensor's name.
        tensor: &'static str,
        /// The encoding the scheme implies.
        expected: &'static str,
        /// The encoding in the file.
        found: &'static str,
    },
    /// A tensor's byte length does not match its shape and encoding.
    LengthMismatch {
        /// The tensor's name.
        tensor: &'static str,
        /// Which part of it (values, scales, multipliers).
        part: &'static str,
        /// Bytes its shape and encoding imply.
        expected: usize,
        /// Bytes in the file.
        found: usize,
    },
    /// A weight, bias or scale is NaN or infinite.
    NonFinite {
        /// The tensor's name.
        tensor: &'static str,
        /// The value's index in it.
        index: usize,
    },
    /// An int8 weight is -128 (the symmetric scheme uses [-127, 127]).
    Int8OutOfRange {
        /// The tensor's name.
        tensor: &'static str,
        /// The value's index in it.
        index: usize,
    },
    /// The layer stack does not fit together (layer 0: the stack as a whole).
    BadLayers {
        /// The layer (0: the stack as a whole).
        layer: usize,
        /// What does not fit, in words.
        problem: &'static str,
    },
    /// A requantisation multiplier is negative.
    BadRequant {
        /// The tensor's name.
        tensor: &'static str,
        /// The row whose multiplier is negative.
        row: usize,
    },
    /// An integer layer's row could overflow its 32-bit sum for some input.
    AccumulatorOverflow {
        /// The tensor's name.
        tensor: &'static str,
        /// The row that could overflow.
        row: usize,
    },
}

const REEXPORT: &str = "re-export the model with `trainer export`";

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use DecodeError::*;
        match *self {
            TooShort { len } => write!(f, "model file is truncated ({len} bytes); copy or {REEXPORT} again"),
            BadMagic { found, expected } => write!(
                f,
                "not a makemore model file: expected magic {expected:?}, found {found:?}; pass a file written by `trainer export`"
            ),
            UnsupportedVersion { found, oldest, newest } => write!(
                f,
                "model file format version {found} is not supported (this runtime reads versions {oldest} to {newest}); {REEXPORT}"
            ),
            CrcMismatch { stored, computed } => write!(
                f,
                "model file is corrupt: CRC-32 is {computed:#010x} but the file says {stored:#010x}; copy or {REEXPORT} again"
            ),
            Malformed { section } => write!(f, "model file is malformed in its {section} section; {REEXPORT}"),
            TrailingBytes { count } => write!(f, "model file has {count} unexpected bytes after the last tensor; {REEXPORT}"),
            UnknownModelKind { tag } => write!(f, "unknown model kind {tag} (known: 0 = bigram, 1 = mlp); update the runtime or {REEXPORT}"),
            UnknownQuant { tag } => write!(f, "unknown number format {tag} (known: 0 = f32, 1 = int8); {REEXPORT}"),
            UnknownEncoding { tensor, tag } => {
                write!(f, "tensor {tensor} has unknown encoding {tag} (known: 0 = f32, 1 = int8, 2 = int32); {REEXPORT}")
            }
            VocabNotUtf8 => write!(f, "model vocabulary is not valid UTF-8; {REEXPORT}"),
            CardNotUtf8 => write!(f, "model card is not valid UTF-8; {REEXPORT}"),
            VocabSize { len } => write!(f, "model vocabulary has {len} symbols; it must have between 1 and 256"),
            VocabBoundary { found } => write!(f, "symbol 0 of the vocabulary must be the boundary token '.', found {found:?}"),
            VocabDuplicate { symbol } => write!(f, "symbol {symbol:?} appears twice in the model vocabulary"),
            BadDimension { field, value, expected } => write!(f, "header field {field} is {value} but must be {expected}"),
            SizeOverflow { what } => write!(f, "the size of {what} overflows this machine's address space"),
            ShapeMismatch { tensor, expected, found } => write!(
                f,
                "tensor {tensor} has shape [{}, {}] but the header implies [{}, {}]",
                found.0, found.1, expected.0, expected.1
            ),
            WrongEncoding { tensor, expected, found } => {
                write!(f, "tensor {tensor} is encoded as {found} but the header's scheme needs {expected}")
            }
            LengthMismatch { tensor, part, expected, found } => {
                write!(f, "tensor {tensor} has {found} bytes of {part}, expected {expected}")
            }
            NonFinite { tensor, index } => write!(f, "tensor {tensor} holds a NaN or infinite value at index {index}; retrain or {REEXPORT}"),
            Int8OutOfRange { tensor, index } => write!(f, "tensor {tensor} holds -128 at index {index}; symmetric int8 uses [-127, 127]"),
            BadLayers { layer, problem } => write!(f, "layer {layer} of the model: {problem}; {REEXPORT}"),
            BadRequant { tensor, row } => {
                write!(f, "tensor {tensor} has a negative requantisation multiplier in row {row}; {REEXPORT}")
            }
            AccumulatorOverflow { tensor, row } => write!(
                f,
                "tensor {tensor} row {row}: its 32-bit sum could overflow (bias plus 32767 x the sum of |weights|); {REEXPORT}"
            ),
        }
    }
}

impl core::error::Error for DecodeError {}

/// Why running a decoded model failed: a caller error, never a property of the model bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The scratch buffer is smaller than the model needs (sizes in f32 words).
    ScratchTooSmall {
        /// Words the model needs.
        need: usize,
        /// Words given.
        have: usize,
    },
    /// The scratch was made for a model with other dimensions.
    ScratchForOtherModel,
    /// The context passed to `forward` is not `block_size` symbols long.
    ContextLength {
        /// The model's `block_size`.
        expected: usize,
        /// The context's length.
        found: usize,
    },
    /// A symbol id is not below the vocabulary size.
    SymbolOutOfRange {
        /// The id given.
        id: u8,
        /// The vocabulary's size.
        vocab_size: usize,
    },
    /// A character of a word or prefix is not in the model's vocabulary.
    UnknownSymbol {
        /// The symbol given.
        symbol: char,
    },
    /// A word or prefix contains the boundary token `'.'`.
    BoundaryInWord,
    /// The prefix is longer than `max_len` symbols.
    PrefixTooLong {
        /// The prefix's length in symbols.
        len: usize,
        /// The most symbols a name has (`max_len`).
        max: usize,
    },
    /// The output string cannot hold `max_len` of the vocabulary's widest symbols.
    NameBufferTooSmall {
        /// Bytes a name of `max_len` of the widest symbols needs.
        need: usize,
        /// Bytes the string holds.
        have: usize,
    },
    /// The buffer for a distribution has fewer values than the vocabulary has symbols.
    ProbsTooSmall {
        /// The vocabulary's size.
        need: usize,
        /// Values the buffer holds.
        have: usize,
    },
    /// Temperature must be at most 100 (0 means argmax).
    BadTemperature {
        /// The temperature given, in thousandths.
        milli: u32,
    },
    /// The model holds other numbers than this code runs (an f32 file given to the integer
    /// path, or the reverse).
    WrongNumberFormat {
        /// The file's number format (`f32`, `int8`).
        found: &'static str,
        /// The one this code runs.
        expected: &'static str,
    },
    /// A batch of `n` names does not fit (`capacity`), or the RNG and output counts differ.
    BatchSize {
        /// Names asked for (or the larger of the RNG and output counts).
        n: usize,
        /// Names the scratch holds.
        capacity: usize,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Error::*;
        match *self {
            ScratchTooSmall { need, have } => write!(
                f,
                "scratch buffer holds {have} f32 words but this model needs {need}; size it with Model::scratch_words()"
            ),
            ScratchForOtherModel => write!(
                f,
                "this scratch was made for a model with other dimensions; make one with Scratch::new for this model"
            ),
            ContextLength { expected, found } => {
                write!(f, "context has {found} symbols but the model's block_size is {expected}")
            }
            SymbolOutOfRange { id, vocab_size } => {
                write!(f, "symbol id {id} is out of range for a vocabulary of {vocab_size}")
            }
            UnknownSymbol { symbol } => write!(f, "symbol {symbol:?} is not in the model's vocabulary"),
            BoundaryInWord => write!(f, "words and prefixes cannot contain the boundary token '.'"),
            PrefixTooLong { len, max } => write!(f, "prefix has {len} symbols but names have at most {max}"),
            NameBufferTooSmall { need, have } => write!(
                f,
                "the output string holds {have} bytes but a name of max_len symbols of this vocabulary needs {need}; size it with name_capacity()"
            ),
            ProbsTooSmall { need, have } => write!(
                f,
                "the probability buffer holds {have} values but the vocabulary has {need} symbols; size it with vocab().len()"
            ),
            BadTemperature { milli } => write!(
                f,
                "temperature {}.{:03} is above 100; use 0 (most likely symbol) to 100",
                milli / 1000,
                milli % 1000
            ),
            WrongNumberFormat { found, expected } => {
                write!(f, "this model is {found} but this code runs {expected} models; use a {expected} file")
            }
            BatchSize { n, capacity } => write!(
                f,
                "a batch of {n} names does not fit a scratch for {capacity} (or the RNG and output counts differ); make a BatchScratch for this many"
            ),
        }
    }
}

impl core::error::Error for Error {}
