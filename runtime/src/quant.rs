//! Symmetric int8 quantization with one scale per row: `q = round(w / scale)`,
//! `scale = max|w| / 127`, so `q` lies in [-127, 127] and dequantizes as `q * scale`.

/// Largest int8 magnitude the scheme uses (-128 is never produced, keeping the range symmetric).
pub const Q_MAX: f32 = 127.0;

/// Quantizes one row into `out` and returns its scale (0 for an all-zero row).
///
/// `row: [n]`, `out: [n]`. Rounds half away from zero, so `max|w|` maps to exactly +-127.
pub fn quantize_row(row: &[f32], out: &mut [i8]) -> f32 {
    let max_abs = row.iter().fold(0.0f32, |m, &w| m.max(libm::fabsf(w)));
    let scale = max_abs / Q_MAX;
    for (q, &w) in out.iter_mut().zip(row) {
        *q = if scale > 0.0 {
            // The clamp makes the cast exact; NaN (never in a valid row) would become 0.
            libm::roundf(w / scale).clamp(-Q_MAX, Q_MAX) as i8
        } else {
            0
        };
    }
    scale
}
