//! `defmt::Format` for the public types (feature `defmt`), kept out of the type definitions
//! so the rest of the crate has no `#[cfg]`s. Written by hand: the derive would need an
//! attribute on every type.

use crate::{DecodeError, Encoding, Error, ModelKind, Quant, Stop};
use defmt::{write, Format, Formatter};

// The names as literals: defmt interns them (no string in flash, and no `name()` call).
impl Format for ModelKind {
    fn format(&self, f: Formatter) {
        match self {
            ModelKind::Bigram => write!(f, "bigram"),
            ModelKind::Mlp => write!(f, "mlp"),
        }
    }
}

impl Format for Quant {
    fn format(&self, f: Formatter) {
        match self {
            Quant::F32 => write!(f, "f32"),
            Quant::Int8 => write!(f, "int8"),
        }
    }
}

impl Format for Encoding {
    fn format(&self, f: Formatter) {
        match self {
            Encoding::F32 => write!(f, "f32"),
            Encoding::I8 => write!(f, "i8"),
            Encoding::I32 => write!(f, "i32"),
        }
    }
}

impl Format for Stop {
    fn format(&self, f: Formatter) {
        match self {
            Stop::Boundary => write!(f, "Boundary"),
            Stop::MaxLen => write!(f, "MaxLen"),
        }
    }
}

impl Format for DecodeError {
    fn format(&self, f: Formatter) {
        use DecodeError::*;
        match *self {
            TooShort { len } => write!(f, "model file truncated ({=usize} bytes)", len),
            BadMagic { found, .. } => write!(f, "bad magic {=[u8]:x}", found),
            UnsupportedVersion { found, oldest, newest } => {
                write!(f, "format version {=u16} not supported (reads {=u16} to {=u16})", found, oldest, newest)
            }
            CrcMismatch { stored, computed } => {
                write!(f, "CRC mismatch: stored {=u32:x}, computed {=u32:x}", stored, computed)
            }
            Malformed { section } => write!(f, "malformed {=str} section", section),
            TrailingBytes { count } => write!(f, "{=usize} trailing bytes", count),
            UnknownModelKind { tag } => write!(f, "unknown model kind {=u8}", tag),
            UnknownQuant { tag } => write!(f, "unknown quantization {=u8}", tag),
            UnknownEncoding { tensor, tag } => write!(f, "tensor {=str}: unknown encoding {=u8}", tensor, tag),
            VocabNotUtf8 => write!(f, "vocabulary not UTF-8"),
            CardNotUtf8 => write!(f, "model card not UTF-8"),
            VocabSize { len } => write!(f, "vocabulary size {=usize} not in 1..=256", len),
            VocabBoundary { found } => write!(f, "symbol 0 is {=char}, not '.'", found),
            VocabDuplicate { symbol } => write!(f, "duplicate symbol {=char}", symbol),
            BadDimension { field, value, expected } => {
                write!(f, "{=str} = {=u32}, expected {=str}", field, value, expected)
            }
            SizeOverflow { what } => write!(f, "size of {=str} overflows", what),
            ShapeMismatch { tensor, expected, found } => write!(
                f,
                "tensor {=str}: shape [{=usize}, {=usize}], expected [{=usize}, {=usize}]",
                tensor, found.0, found.1, expected.0, expected.1
            ),
            WrongEncoding { tensor, expected, found } => {
                write!(f, "tensor {=str}: encoded {=str}, expected {=str}", tensor, found, expected)
            }
            LengthMismatch { tensor, part, expected, found } => {
                write!(f, "tensor {=str}: {=usize} bytes of {=str}, expected {=usize}", tensor, found, part, expected)
            }
            NonFinite { tensor, index } => write!(f, "tensor {=str}: non-finite value at {=usize}", tensor, index),
            Int8OutOfRange { tensor, index } => write!(f, "tensor {=str}: -128 at {=usize}", tensor, index),
            BadLayers { layer, problem } => write!(f, "layer {=usize}: {=str}", layer, problem),
            BadRequant { tensor, row } => write!(f, "tensor {=str}: negative multiplier in row {=usize}", tensor, row),
            AccumulatorOverflow { tensor, row } => write!(f, "tensor {=str}: row {=usize} can overflow", tensor, row),
        }
    }
}

// One message and up to two numbers per variant, written by one of three calls: a `write!`
// per variant with its own arguments was a third of a kilobyte of flash.
impl Format for Error {
    fn format(&self, f: Formatter) {
        use defmt::{intern, Str};
        use Error::*;
        let (what, numbers): (Str, [Option<usize>; 2]) = match *self {
            ScratchTooSmall { need, have } => {
                (intern!("scratch too small (words needed, given)"), [Some(need), Some(have)])
            }
            ScratchForOtherModel => (intern!("scratch made for another model"), [None, None]),
            ContextLength { expected, found } => {
                (intern!("wrong context length (expected, found)"), [Some(expected), Some(found)])
            }
            SymbolOutOfRange { id, vocab_size } => {
                (intern!("symbol id out of range (id, vocabulary size)"), [Some(usize::from(id)), Some(vocab_size)])
            }
            UnknownSymbol { symbol } => (intern!("unknown symbol (code point)"), [Some(symbol as usize), None]),
            BoundaryInWord => (intern!("boundary token inside a word"), [None, None]),
            PrefixTooLong { len, max } => (intern!("prefix too long (symbols, most)"), [Some(len), Some(max)]),
            NameBufferTooSmall { need, have } => {
                (intern!("name buffer too small (bytes needed, given)"), [Some(need), Some(have)])
            }
            ProbsTooSmall { need, have } => {
                (intern!("probability buffer too small (values needed, given)"), [Some(need), Some(have)])
            }
            BadTemperature { milli } => (intern!("temperature above 100 (thousandths)"), [Some(milli as usize), None]),
            WrongNumberFormat { .. } => (intern!("model's number format is not the one this code runs"), [None, None]),
            BatchSize { n, capacity } => (intern!("batch does not fit (names, capacity)"), [Some(n), Some(capacity)]),
        };
        match numbers {
            [Some(a), Some(b)] => write!(f, "{=istr}: {=usize}, {=usize}", what, a, b),
            [Some(a), None] => write!(f, "{=istr}: {=usize}", what, a),
            _ => write!(f, "{=istr}", what),
        }
    }
}
