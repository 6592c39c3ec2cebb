//! Borrowed views of the weights as they lie in the model bytes.
//!
//! Nothing is copied: an f32 is read from four little-endian bytes each time it is used
//! (`include_bytes!` only guarantees alignment 1, so `&[f32]` cannot be borrowed), and int8
//! values are the file's bytes seen as `i8`.

/// One f32 as stored: four little-endian bytes, alignment 1.
pub type F32Le = [u8; 4];

/// Reads one stored f32.
#[inline(always)]
pub fn f32_le(word: &F32Le) -> f32 {
    f32::from_le_bytes(*word)
}

/// How a matrix's values are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// One little-endian f32 per value.
    F32,
    /// One i8 per value in [-127, 127] and one f32 scale per row: `value = q * scale[row]`.
    I8,
}

impl Encoding {
    /// The name used in messages and `inspect` output.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::F32 => "f32",
            Encoding::I8 => "int8-per-row",
        }
    }
}

/// A row-major `[rows x cols]` matrix borrowed from the model bytes.
///
/// The constructors check that the slices hold exactly `rows * cols` values, so the kernels
/// that consume a matrix never see a short slice.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Matrix<'a> {
    rows: usize,
    cols: usize,
    data: MatrixData<'a>,
}

/// The storage behind a [`Matrix`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MatrixData<'a> {
    /// `[rows * cols]` f32 values.
    F32(&'a [F32Le]),
    /// `[rows]` scales and `[rows * cols]` int8 values.
    I8 { scales: &'a [F32Le], values: &'a [i8] },
}

impl<'a> Matrix<'a> {
    /// An f32 matrix, or `None` when `data` does not hold `rows * cols` values.
    pub fn f32(rows: usize, cols: usize, data: &'a [F32Le]) -> Option<Self> {
        (rows.checked_mul(cols)? == data.len()).then_some(Self { rows, cols, data: MatrixData::F32(data) })
    }

    /// An int8 matrix with one scale per row, or `None` when the lengths do not match the shape.
    pub fn i8(rows: usize, cols: usize, scales: &'a [F32Le], values: &'a [i8]) -> Option<Self> {
        let ok = rows.checked_mul(cols)? == values.len() && scales.len() == rows;
        ok.then_some(Self { rows, cols, data: MatrixData::I8 { scales, values } })
    }

    /// A matrix whose lengths the caller has already checked (the owned host-side buffers).
    #[cfg(feature = "alloc")]
    pub(crate) fn from_parts(rows: usize, cols: usize, data: MatrixData<'a>) -> Self {
        Self { rows, cols, data }
    }

    /// Number of rows (outputs of a linear layer, symbols of an embedding table).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns (inputs of a linear layer, `n_embd` of an embedding table).
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The storage, for kernels and inspection.
    pub fn data(&self) -> MatrixData<'a> {
        self.data
    }

    /// How the values are stored.
    pub fn encoding(&self) -> Encoding {
        match self.data {
            MatrixData::F32(_) => Encoding::F32,
            MatrixData::I8 { .. } => Encoding::I8,
        }
    }

    /// Value at (`row`, `col`), dequantized; `None` outside the matrix.
    pub fn get(&self, row: usize, col: usize) -> Option<f32> {
        if col >= self.cols {
            return None;
        }
        let idx = row.checked_mul(self.cols)?.checked_add(col)?;
        match self.data {
            MatrixData::F32(data) => data.get(idx).map(f32_le),
            MatrixData::I8 { scales, values } => Some(f32::from(*values.get(idx)?) * f32_le(scales.get(row)?)),
        }
    }
}
