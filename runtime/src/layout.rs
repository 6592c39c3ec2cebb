//! The **row-quad layout** of an integer model's weight matrices, the order the Cortex-M4
//! kernel reads them (as CMSIS-NN stores its weights in the order its kernels want): rows in
//! groups of four (then one pair and one single row for the rest); within a group, for each
//! pair of columns `(2c, 2c+1)`, the group's weights two rows at a time, `[w(r, 2c), w(r+1,
//! 2c), w(r, 2c+1), w(r+1, 2c+1)]`, so that SXTB16 splits one word into the two rows' pairs;
//! an odd last column follows with one byte per row. [`layout_index`] is the definition; the
//! file format, the kernels and the inspector all read it from here.

/// Rows of a weight matrix the kernels handle together.
pub const GROUP: usize = 4;

/// Where weight `(row, col)` of an `[n_out, n_in]` matrix lies in the row-quad layout.
pub const fn layout_index(n_out: usize, n_in: usize, row: usize, col: usize) -> usize {
    let quads = n_out / GROUP * GROUP;
    let (first, rows) = if row < quads {
        (row / GROUP * GROUP, GROUP)
    } else if n_out - quads >= 2 && row < quads + 2 {
        (quads, 2)
    } else {
        (n_out - 1, 1)
    };
    let i = row - first;
    let base = first * n_in;
    if col < n_in / 2 * 2 {
        let within = if rows == 1 { col % 2 } else { i / 2 * 4 + col % 2 * 2 + i % 2 };
        base + col / 2 * 2 * rows + within
    } else {
        base + n_in / 2 * 2 * rows + i
    }
}

/// Row-major `[n_out, n_in]` values in the row-quad layout (the exporter's side).
#[cfg(feature = "alloc")]
pub fn to_row_quads<T: Copy + Default>(values: &[T], n_out: usize, n_in: usize) -> alloc::vec::Vec<T> {
    let mut out = alloc::vec![T::default(); values.len()];
    for (row, r) in values.chunks_exact(n_in.max(1)).enumerate().take(n_out) {
        for (col, &v) in r.iter().enumerate() {
            if let Some(slot) = out.get_mut(layout_index(n_out, n_in, row, col)) {
                *slot = v;
            }
        }
    }
    out
}
