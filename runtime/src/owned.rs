//! Owned tensors for the host side (`alloc` feature): the trainer and tools build these from
//! their own f32 weights, then borrow them as [`Matrix`] views to call [`crate::encode`].

use crate::quant::quantize_row;
use crate::tensor::{f32_le, F32Le, Matrix, MatrixData};
use alloc::vec::Vec;

/// f32 values as stored words (little-endian).
pub fn to_words(values: &[f32]) -> Vec<F32Le> {
    values.iter().map(|v| v.to_le_bytes()).collect()
}

/// A row-major `[rows x cols]` matrix that owns its storage.
#[derive(Clone, Debug, PartialEq)]
pub struct OwnedMatrix {
    rows: usize,
    cols: usize,
    scales: Vec<F32Le>,
    values: OwnedValues,
}

#[derive(Clone, Debug, PartialEq)]
enum OwnedValues {
    F32(Vec<F32Le>),
    I8(Vec<i8>),
}

impl OwnedMatrix {
    /// An f32 matrix from row-major `values`; `None` when `values.len() != rows * cols`.
    pub fn f32(rows: usize, cols: usize, values: &[f32]) -> Option<Self> {
        (rows.checked_mul(cols)? == values.len()).then(|| Self {
            rows,
            cols,
            scales: Vec::new(),
            values: OwnedValues::F32(to_words(values)),
        })
    }

    /// Quantizes row-major `values` to int8 with one scale per row (see [`crate::quant`]);
    /// `None` when `values.len() != rows * cols`.
    pub fn quantize_i8(rows: usize, cols: usize, values: &[f32]) -> Option<Self> {
        if rows.checked_mul(cols)? != values.len() {
            return None;
        }
        let mut q = alloc::vec![0i8; values.len()];
        let mut scales = Vec::with_capacity(rows);
        if cols > 0 {
            for (row, out) in values.chunks_exact(cols).zip(q.chunks_exact_mut(cols)) {
                scales.push(quantize_row(row, out).to_le_bytes());
            }
        } else {
            scales.resize(rows, 0f32.to_le_bytes());
        }
        Some(Self { rows, cols, scales, values: OwnedValues::I8(q) })
    }

    /// The borrowed view that [`crate::encode`] and the kernels take.
    pub fn view(&self) -> Matrix<'_> {
        let data = match &self.values {
            OwnedValues::F32(v) => MatrixData::F32(v),
            OwnedValues::I8(v) => MatrixData::I8 { scales: &self.scales, values: v },
        };
        // The constructors above established the lengths.
        Matrix::from_parts(self.rows, self.cols, data)
    }

    /// Dequantized values, row-major.
    pub fn to_f32(&self) -> Vec<f32> {
        match &self.values {
            OwnedValues::F32(v) => v.iter().map(f32_le).collect(),
            OwnedValues::I8(v) => {
                let cols = self.cols.max(1);
                v.iter()
                    .enumerate()
                    .map(|(i, &q)| f32::from(q) * self.scales.get(i / cols).map_or(0.0, f32_le))
                    .collect()
            }
        }
    }

    /// Largest `|w - dequant(w)|` against the original f32 `values` (the exporter prints it).
    pub fn max_abs_error(&self, values: &[f32]) -> f32 {
        self.to_f32().iter().zip(values).fold(0.0f32, |m, (a, b)| m.max((a - b).abs()))
    }
}
