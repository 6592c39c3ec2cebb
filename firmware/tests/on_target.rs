//! The runtime on the emulated core (defmt-test under QEMU: M4F and M0). Each expectation was
//! computed on the host by the build script with the same runtime, so "equal" here means the
//! target reproduces the host bit for bit: names, NLL (f64 bits), tanh and softmax (f32 bits).
#![no_std]
#![no_main]

use firmware as _;

mod expected {
    include!(concat!(env!("OUT_DIR"), "/expected.rs"));
}

/// A fixture model (defmt-test allows only test functions inside the test module).
fn model(bytes: &'static [u8]) -> runtime::Model<'static> {
    match runtime::Model::from_bytes(bytes) {
        Ok(m) => m,
        Err(e) => defmt::panic!("fixture does not decode: {}", e),
    }
}

#[defmt_test::tests]
mod tests {
    use super::expected::*;
    use super::model;
    use runtime::{generate, kernels, nll, DecodeError, Model, Pcg32, SampleConfig, Scratch, ScratchBuf, Stop};

    #[test]
    fn golden_names_match_the_host() {
        for &(file, seed, t_bits, top_k, names) in GOLDEN {
            let m = model(FIXTURES[file]);
            let mut buf = ScratchBuf::<64>::new();
            let mut s = buf.scratch(&m).unwrap();
            let mut rng = Pcg32::from_seed(seed);
            let cfg = SampleConfig { temperature: f32::from_bits(t_bits), top_k, max_len: 32 };
            let mut out = heapless::String::<32>::new();
            for want in names {
                generate(&m, &mut s, &mut rng, &cfg, "", &mut out).unwrap();
                defmt::assert_eq!(out.as_str(), want, "fixture {} seed {}", file, seed);
            }
        }
    }

    #[test]
    fn nll_matches_the_host_to_the_last_bit() {
        for (file, &(sum_bits, count)) in NLL.iter().enumerate() {
            let m = model(FIXTURES[file]);
            let mut buf = ScratchBuf::<64>::new();
            let mut s = buf.scratch(&m).unwrap();
            let got = nll(&m, &mut s, WORDS.iter().copied()).unwrap();
            defmt::assert_eq!(got.count, count);
            defmt::assert_eq!(got.sum.to_bits(), sum_bits, "fixture {}", file);
        }
    }

    #[test]
    fn tanh_and_softmax_match_the_host_bit_for_bit() {
        for &(x, y) in TANH {
            let mut v = [f32::from_bits(x)];
            kernels::tanh(&mut v);
            defmt::assert_eq!(v[0].to_bits(), y);
        }
        let mut p = SOFTMAX_IN.map(f32::from_bits);
        kernels::softmax(&mut p);
        defmt::assert_eq!(p.map(f32::to_bits), SOFTMAX_OUT);
    }

    #[test]
    fn fast_linear_kernels_equal_the_reference_bit_for_bit() {
        // Shapes with a remainder row (n_out = 7) and the MLP's own (30 -> 200 is too big for
        // the M0's stack here, so 30 -> 27).
        const N_IN: usize = 30;
        let mut rng = Pcg32::from_seed(5);
        for n_out in [7usize, 27] {
            let mut r = |s: f32| (rng.next_f32() * 2.0 - 1.0) * s;
            let x: [f32; N_IN] = core::array::from_fn(|_| r(3.0));
            let w: [[u8; 4]; N_IN * 27] = core::array::from_fn(|_| r(1.0).to_le_bytes());
            let q: [i8; N_IN * 27] = core::array::from_fn(|_| (r(1.0) * 127.0) as i8);
            let s: [[u8; 4]; 27] = core::array::from_fn(|_| r(0.01).abs().to_le_bytes());
            let b: [[u8; 4]; 27] = core::array::from_fn(|_| r(1.0).to_le_bytes());
            let (w, q, s, b) = (&w[..N_IN * n_out], &q[..N_IN * n_out], &s[..n_out], &b[..n_out]);
            let (mut want, mut got) = ([0.0f32; 27], [0.0f32; 27]);
            kernels::linear_f32(&mut want[..n_out], &x, w, b);
            kernels::linear_f32_x4(&mut got[..n_out], &x, w, b);
            defmt::assert_eq!(got.map(f32::to_bits), want.map(f32::to_bits));
            kernels::linear_i8(&mut want[..n_out], &x, q, s, b);
            kernels::linear_i8_x4(&mut got[..n_out], &x, q, s, b);
            defmt::assert_eq!(got.map(f32::to_bits), want.map(f32::to_bits));
        }
    }

    #[test]
    fn vector_lane_tanh_and_exp_equal_libm_on_this_core() {
        // 3 x 4096 bit patterns, 256 at a time (the M0's stack is small): random ones, the
        // range the MLP uses, and every exponent with both signs. The host checks all 2^32.
        let mut rng = Pcg32::from_seed(9);
        for round in 0..3 * 16u32 {
            let x: [f32; 256] = core::array::from_fn(|i| {
                let i = (round % 16) * 256 + i as u32;
                match round / 16 {
                    0 => f32::from_bits(rng.next_u32()),
                    1 => (i as f32 - 2048.0) / 128.0, // [-16, 16)
                    _ => f32::from_bits(i << 20),
                }
            });
            let (mut t, mut e) = (x, x);
            runtime::lanes::tanh(&mut t);
            runtime::lanes::exp(&mut e);
            let same = |a: f32, b: f32| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan());
            for ((x, t), e) in x.iter().zip(&t).zip(&e) {
                defmt::assert!(same(*t, libm::tanhf(*x)), "tanh {=u32:x}", x.to_bits());
                defmt::assert!(same(*e, libm::expf(*x)), "exp {=u32:x}", x.to_bits());
            }
        }
    }

    #[test]
    fn softmax_extremes() {
        let mut x = [1000.0f32, -1000.0, 0.0];
        kernels::softmax(&mut x);
        defmt::assert_eq!(x, [1.0, 0.0, 0.0]);
        let mut x = [f32::NEG_INFINITY; 4];
        kernels::softmax(&mut x);
        defmt::assert_eq!(x, [0.25; 4]);
    }

    #[test]
    fn pcg32_reference_vectors() {
        let mut rng = Pcg32::new(42, 54);
        let got = [(); 6].map(|_| rng.next_u32());
        defmt::assert_eq!(got, [0xa15c02b7, 0x7b47f409, 0xba1d3330, 0x83d2f293, 0xbfa4784b, 0xcbed606e]);
    }

    #[test]
    fn damaged_models_are_rejected() {
        let good = FIXTURES[1];
        defmt::assert!(matches!(Model::from_bytes(&good[..good.len() - 1]), Err(DecodeError::CrcMismatch { .. })));
        defmt::assert!(matches!(Model::from_bytes(&good[..3]), Err(DecodeError::TooShort { .. })));
        let mut copy = [0u8; 2048];
        let n = good.len();
        copy[..n].copy_from_slice(good);
        copy[n / 2] ^= 0x40;
        defmt::assert!(matches!(Model::from_bytes(&copy[..n]), Err(DecodeError::CrcMismatch { .. })));
        copy[0] = b'X';
        defmt::assert!(matches!(Model::from_bytes(&copy[..n]), Err(DecodeError::BadMagic { .. })));
    }

    #[test]
    fn argmax_generation_and_max_len() {
        let m = model(FIXTURES[0]);
        let mut buf = [0.0f32; 64];
        let mut s = Scratch::new(&m, &mut buf).unwrap();
        let mut rng = Pcg32::from_seed(0);
        let mut out = heapless::String::<4>::new();
        let cfg = SampleConfig { temperature: 0.0, top_k: 0, max_len: 3 };
        let stop = generate(&m, &mut s, &mut rng, &cfg, "", &mut out).unwrap();
        defmt::assert!(stop == Stop::MaxLen || out.len() < 3);
    }
}
