//! Architecture-specific code: the Cortex-M DSP instructions, and which integer kernel each
//! build runs. Everything here equals a portable reference bit for bit (tested on the host,
//! and under QEMU on the M4F and the M0).

pub mod dsp;

use crate::int_kernels::{self, Epilogue};
use crate::tensor::I32Le;

/// The integer linear layer this build runs: [`int_kernels::linear_dsp`] (SMLAD) on cores
/// with the DSP extension, [`int_kernels::linear_quads`] (plain integer loops) elsewhere.
/// Both give exactly the sums of [`int_kernels::linear_ref`].
#[inline(always)]
pub fn linear<E: Epilogue>(x: &[i16], w: &[i8], b: &[I32Le], m: &[I32Le], out: &mut [E::Out]) {
    if cfg!(arm_dsp) {
        int_kernels::linear_dsp::<E>(x, w, b, m, out);
    } else {
        int_kernels::linear_quads::<E>(x, w, b, m, out);
    }
}
