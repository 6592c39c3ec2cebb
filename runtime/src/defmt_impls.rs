//! `defmt::Format` for the public types (feature `defmt`), kept out of the type definitions
//! so the rest of the crate has no `#[cfg]`s. Written by hand: the derive would need an
//! attribute on every type.

use crate::{DecodeError, Encoding, Error, ModelKind, Quant, Stop};
use defmt::{write, Format, Formatter};

impl Format for ModelKind {
    fn format(&self, f: Formatter) {
        write!(f, "{=str}", self.name())
    }
}

impl Format for Quant {
    fn format(&self, f: Formatter) {
        write!(f, "{=str}", self.name())
    }
}

impl Format for Encoding {
    fn format(&self, f: Formatter) {
        write!(f, "{=str}", self.name())
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
            BadMagic { found } => write!(f, "bad magic {=[u8]:x}", found),
            UnsupportedVersion { found, supported } => {
                write!(f, "format version {=u16} not supported (reads {=u16})", found, supported)
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

impl Format for Error {
    fn format(&self, f: Formatter) {
        use Error::*;
        match *self {
            ScratchTooSmall { need, have } => {
                write!(f, "scratch too small: need {=usize} words, have {=usize}", need, have)
            }
            ScratchForOtherModel => write!(f, "scratch made for another model"),
            ContextLength { expected, found } => {
                write!(f, "context has {=usize} symbols, expected {=usize}", found, expected)
            }
            SymbolOutOfRange { id, vocab_size } => write!(f, "symbol id {=u8} out of range ({=usize})", id, vocab_size),
            UnknownSymbol { symbol } => write!(f, "unknown symbol {=char}", symbol),
            BoundaryInWord => write!(f, "boundary token inside a word"),
            PrefixTooLong { len, max } => write!(f, "prefix of {=usize} symbols, at most {=usize}", len, max),
            NameBufferTooSmall { need, have } => {
                write!(f, "name buffer of {=usize} bytes, need {=usize}", have, need)
            }
            BadTemperature { milli } => write!(f, "temperature {=u32}/1000 above 100", milli),
            WrongNumberFormat { found, expected } => write!(f, "model is {=str}, code runs {=str}", found, expected),
            BatchSize { n, capacity } => write!(f, "batch of {=usize} names, capacity {=usize}", n, capacity),
        }
    }
}
