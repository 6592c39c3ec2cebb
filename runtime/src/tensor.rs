//! The weights as they lie in the model bytes, and typed views of them.
//!
//! Nothing is copied: an f32 or i32 is read from four little-endian bytes each time it is used
//! (`include_bytes!` only guarantees alignment 1, so `&[f32]` cannot be borrowed), and int8
//! values are the file's bytes seen as `i8`. A decoded model keeps each tensor as its byte
//! slice; the shapes come from the header.

use crate::layout::layout_index;

/// One f32 as stored: four little-endian bytes, alignment 1.
pub type F32Le = [u8; 4];
/// One i32 as stored: four little-endian bytes, alignment 1.
pub type I32Le = [u8; 4];

/// Reads one stored f32.
#[inline(always)]
pub fn f32_le(word: &F32Le) -> f32 {
    f32::from_le_bytes(*word)
}

/// Reads one stored i32.
#[inline(always)]
pub fn i32_le(word: &I32Le) -> i32 {
    i32::from_le_bytes(*word)
}

/// Stored bytes as 4-byte words (a trailing partial word is dropped).
#[inline(always)]
pub fn words(bytes: &[u8]) -> &[[u8; 4]] {
    bytes.as_chunks::<4>().0
}

/// Stored bytes as int8 values.
#[inline(always)]
pub fn int8s(bytes: &[u8]) -> &[i8] {
    bytemuck::cast_slice(bytes)
}

/// How a tensor's values are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// One little-endian f32 per value.
    F32,
    /// One i8 per value in [-127, 127].
    I8,
    /// One little-endian i32 per value (the integer model's biases).
    I32,
}

impl Encoding {
    /// The name used in messages and `inspect` output.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::F32 => "f32",
            Encoding::I8 => "int8",
            Encoding::I32 => "int32",
        }
    }

    /// Bytes per value.
    pub fn size(self) -> usize {
        match self {
            Encoding::I8 => 1,
            _ => 4,
        }
    }
}

/// The order of a matrix's values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Row after row (embedding and bigram tables, every f32 matrix, biases).
    RowMajor,
    /// The integer kernels' row-quad order (see [`crate::int_kernels`]).
    RowQuads,
}

/// A named `[rows, cols]` tensor of a model as stored: for inspection, encoding and tests
/// (the forward passes read the byte slices directly).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TensorView<'a> {
    /// `C`, `W1`, `b1`, ... or `table`.
    pub name: &'static str,
    /// Rows (outputs of a layer; symbols of a table).
    pub rows: usize,
    /// Columns (inputs of a layer; features of a table).
    pub cols: usize,
    /// How each value is stored.
    pub encoding: Encoding,
    /// The order of the values.
    pub layout: Layout,
    /// `rows * cols` values in `encoding`, in `layout` order.
    pub values: &'a [u8],
    /// `[rows]` requantisation multipliers (i32 LE) of an integer matrix that has them, else
    /// empty.
    pub requant: &'a [u8],
}

impl TensorView<'_> {
    /// Value at (`row`, `col`) as stored (an integer as its value); `None` outside the tensor.
    pub fn get(&self, row: usize, col: usize) -> Option<f64> {
        if row >= self.rows || col >= self.cols {
            return None;
        }
        let idx = match self.layout {
            Layout::RowMajor => row * self.cols + col,
            Layout::RowQuads => layout_index(self.rows, self.cols, row, col),
        };
        match self.encoding {
            Encoding::F32 => words(self.values).get(idx).map(|w| f64::from(f32_le(w))),
            Encoding::I8 => int8s(self.values).get(idx).map(|&q| f64::from(q)),
            Encoding::I32 => words(self.values).get(idx).map(|w| f64::from(i32_le(w))),
        }
    }

    /// The requantisation multiplier of `row`, if the tensor has them.
    pub fn multiplier(&self, row: usize) -> Option<i32> {
        words(self.requant).get(row).map(i32_le)
    }
}
