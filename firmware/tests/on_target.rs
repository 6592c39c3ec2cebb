//! The runtime on the emulated core (defmt-test under QEMU: M4F and M0). Each expectation was
//! computed on the host by the build script with the same runtime, so "equal" here means the
//! target reproduces the host bit for bit: names, NLL (f64 bits), the integer model's tanh
//! and softmax, the float tanh and softmax (f32 bits); and every fast kernel equals its
//! reference here too (on the M4F the integer kernel runs the DSP instructions).
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

/// A model file in RAM, 4-byte aligned (the fixtures are embedded at alignment 1).
#[repr(C, align(4))]
struct Aligned([u8; 1536]);

#[defmt_test::tests]
mod tests {
    use super::expected::*;
    use super::{model, Aligned};
    use runtime::arch::{dsp, riscv, thumb1};
    use runtime::int_kernels::{linear_dsp, linear_octets, linear_quads, linear_ref, Sum};
    use runtime::{
        generate, kernels, nll, quant, DecodeError, Model, Network, Pcg32, SampleConfig, Scratch, ScratchBuf, Stop,
        Temperature, MAX_LEN,
    };

    #[test]
    fn golden_names_match_the_host() {
        for &(file, seed, t_milli, top_k, names) in GOLDEN {
            let m = model(FIXTURES[file]);
            let mut buf = ScratchBuf::<128>::new();
            let mut s = buf.scratch(&m).unwrap();
            let cfg = SampleConfig { temperature: Temperature::from_milli(t_milli), top_k, max_len: MAX_LEN };
            let mut out = heapless::String::<{ 2 * MAX_LEN }>::new();
            for (i, want) in names.iter().enumerate() {
                let mut rng = Pcg32::for_name(seed, i as u64);
                generate(&m, &mut s, &mut rng, &cfg, "", &mut out).unwrap();
                defmt::assert_eq!(out.as_str(), *want, "fixture {} seed {}", file, seed);
            }
        }
    }

    #[test]
    fn golden_names_match_from_an_aligned_copy() {
        // The integer fixtures again, from 4-byte aligned RAM: on the M4F the DSP kernel runs
        // (the embedded fixtures are not aligned, so the test above ran the plain kernel).
        for &(file, seed, t_milli, top_k, names) in GOLDEN.iter().filter(|g| g.0 != 0) {
            let mut copy = Aligned([0; 1536]);
            let bytes = FIXTURES[file];
            copy.0[..bytes.len()].copy_from_slice(bytes);
            let m = match Model::from_bytes(&copy.0[..bytes.len()]) {
                Ok(m) => m,
                Err(e) => defmt::panic!("{}", e),
            };
            let net = m.int().unwrap();
            let mut buf = ScratchBuf::<128>::new();
            let mut s = buf.scratch(&net).unwrap();
            let cfg = SampleConfig { temperature: Temperature::from_milli(t_milli), top_k, max_len: MAX_LEN };
            let mut out = heapless::String::<{ 2 * MAX_LEN }>::new();
            for (i, want) in names.iter().enumerate() {
                let mut rng = Pcg32::for_name(seed, i as u64);
                generate(&net, &mut s, &mut rng, &cfg, "", &mut out).unwrap();
                defmt::assert_eq!(out.as_str(), *want, "fixture {} seed {}", file, seed);
            }
        }
    }

    #[test]
    fn streaming_gives_the_logits_of_the_full_forward_pass_at_every_step() {
        // The hierarchy fixture (merges of 2), from an aligned copy and as embedded: its rings
        // against the full forward pass over 40 random symbols (the window slides 36 times).
        let bytes = FIXTURES[3];
        let mut copy = Aligned([0; 1536]);
        copy.0[..bytes.len()].copy_from_slice(bytes);
        for bytes in [&copy.0[..bytes.len()], bytes] {
            let m = match Model::from_bytes(bytes) {
                Ok(m) => m,
                Err(e) => defmt::panic!("{}", e),
            };
            let net = m.int().unwrap();
            let (mut state, mut work) = ([0u32; 48], [0u32; 64]);
            let (state, work) = (&mut state[..net.stream_words()], &mut work[..net.work_words()]);
            net.stream_init(state, work);
            net.stream_begin(state);
            let mut ctx = [0u8; 4];
            let mut rng = Pcg32::from_seed(17);
            for step in 0..40 {
                let (mut want, mut got) = ([0u32; 27], [0u32; 27]);
                net.logits_into(&ctx, work, &mut want);
                net.stream_logits(&ctx, state, work, &mut got);
                defmt::assert_eq!(got, want, "step {}", step);
                ctx.rotate_left(1);
                ctx[3] = (rng.next_u32() % 27) as u8;
                net.stream_push(&ctx, state, work);
            }
        }
    }

    #[test]
    fn nll_matches_the_host_to_the_last_bit() {
        for (file, &(sum_bits, count)) in NLL.iter().enumerate() {
            let m = model(FIXTURES[file]);
            let mut buf = ScratchBuf::<128>::new();
            let mut s = buf.scratch(&m).unwrap();
            let got = nll(&m, &mut s, WORDS.iter().copied()).unwrap();
            defmt::assert_eq!(got.count, count);
            defmt::assert_eq!(got.sum.to_bits(), sum_bits, "fixture {}", file);
        }
    }

    #[test]
    fn integer_tanh_and_softmax_match_the_host() {
        for (i, &want) in TANH_Q15.iter().enumerate() {
            defmt::assert_eq!(quant::tanh_q15(((i as i32 - 300) * 109) as i16), want);
        }
        let sm = quant::Softmax::new(1500);
        for (i, &want) in WEIGHTS_T1500.iter().enumerate() {
            defmt::assert_eq!(sm.weight((i * i * 7) as u32), want);
        }
    }

    #[test]
    fn float_tanh_and_softmax_match_the_host_bit_for_bit() {
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
    fn fast_float_kernel_equals_the_reference_bit_for_bit() {
        // Shapes with a remainder row (n_out = 7) and the MLP's own (30 -> 200 is too big for
        // the M0's stack here, so 30 -> 27).
        const N_IN: usize = 30;
        let mut rng = Pcg32::from_seed(5);
        for n_out in [7usize, 27] {
            let mut r = |s: f32| (rng.next_f32() * 2.0 - 1.0) * s;
            let x: [f32; N_IN] = core::array::from_fn(|_| r(3.0));
            let w: [[u8; 4]; N_IN * 27] = core::array::from_fn(|_| r(1.0).to_le_bytes());
            let b: [[u8; 4]; 27] = core::array::from_fn(|_| r(1.0).to_le_bytes());
            let (w, b) = (&w[..N_IN * n_out], &b[..n_out]);
            let (mut want, mut got) = ([0.0f32; 27], [0.0f32; 27]);
            kernels::linear_f32(&mut want[..n_out], &x, w, b);
            kernels::linear_f32_x4(&mut got[..n_out], &x, w, b);
            defmt::assert_eq!(got.map(f32::to_bits), want.map(f32::to_bits));
        }
    }

    #[test]
    fn fast_integer_kernels_equal_the_reference() {
        // Random layers with every remainder of rows and columns mod 4; weights in a
        // word-aligned buffer so the DSP kernel takes its SMLAD path on the M4F.
        #[repr(C, align(4))]
        struct Words([i8; 31 * 13]);
        let mut rng = Pcg32::from_seed(21);
        for n_out in [1usize, 2, 3, 4, 7, 8, 9, 13] {
            for n_in in [1usize, 2, 3, 5, 8, 30, 31] {
                if n_out * n_in > 31 * 13 {
                    continue;
                }
                let mut w = Words([0; 31 * 13]);
                for v in w.0.iter_mut() {
                    *v = ((rng.next_u32() % 255) as i32 - 127) as i8;
                }
                #[repr(C, align(4))]
                struct X([i16; 32]);
                let mut x = X([0; 32]);
                for v in x.0.iter_mut() {
                    *v = ((rng.next_u32() % 65535) as i32 - 32767) as i16;
                }
                let b: [[u8; 4]; 13] =
                    core::array::from_fn(|_| ((rng.next_u32() % 2_000_001) as i32 - 1_000_000).to_le_bytes());
                let m = [[0u8; 4]; 13];
                let (x, w, b, m) = (&x.0[..n_in], &w.0[..n_out * n_in], &b[..n_out], &m[..n_out]);
                let (mut want, mut dsp, mut quads, mut octets) = ([0i32; 13], [0i32; 13], [0i32; 13], [0i32; 13]);
                linear_ref::<Sum>(x, w, b, m, &mut want[..n_out]);
                linear_dsp::<Sum>(x, w, b, m, &mut dsp[..n_out]);
                linear_quads::<Sum>(x, w, b, m, &mut quads[..n_out]);
                linear_octets::<Sum>(x, w, b, m, &mut octets[..n_out]);
                defmt::assert_eq!(dsp, want, "dsp {}x{}", n_out, n_in);
                defmt::assert_eq!(quads, want, "quads {}x{}", n_out, n_in);
                defmt::assert_eq!(octets, want, "octets {}x{}", n_out, n_in);
            }
        }
    }

    #[test]
    fn thumb1_loop_equals_its_reference() {
        // On the M0 the assembly loop; elsewhere the reference itself. Every pair count up to
        // 9 (odd and even: the loop runs two pairs per pass), random and extreme values, and
        // sums that wrap.
        let mut rng = Pcg32::from_seed(13);
        for round in 0..400u32 {
            let pairs = (round % 10) as usize;
            let mut xw = [0u32; 9];
            let mut ww = [0u32; 18];
            for v in xw.iter_mut().chain(ww.iter_mut()) {
                *v = match round % 4 {
                    0 => 0x8080_8080,
                    1 => 0x7f7f_8000,
                    _ => rng.next_u32(),
                };
            }
            let acc = [rng.next_u32() as i32, i32::MAX, i32::MIN, rng.next_u32() as i32];
            let (x, w) = (&xw[..pairs], &ww[..2 * pairs]);
            defmt::assert_eq!(thumb1::quad_pairs(x, w, acc), thumb1::quad_pairs_ref(x, w, acc), "{} pairs", pairs);
        }
    }

    #[test]
    fn riscv_loop_equals_its_reference() {
        // On RISC-V the assembly loop; elsewhere the reference itself. Every pair count up to
        // 9 (odd and even: the loop runs two pairs per pass), random and extreme values, and
        // sums that wrap.
        let mut rng = Pcg32::from_seed(17);
        for round in 0..400u32 {
            let pairs = (round % 10) as usize;
            let mut x = [0i16; 18];
            let mut w = [0i8; 2 * 72];
            for v in x.iter_mut() {
                *v = match round % 4 {
                    0 => i16::MIN,
                    1 => i16::MAX,
                    _ => rng.next_u32() as i16,
                };
            }
            for v in w.iter_mut() {
                *v = match round % 4 {
                    0 => i8::MIN,
                    1 => i8::MAX,
                    _ => rng.next_u32() as i8,
                };
            }
            let acc: [i32; 8] = core::array::from_fn(|i| match i {
                0 => i32::MAX,
                1 => i32::MIN,
                _ => rng.next_u32() as i32,
            });
            let (p, q) = w.split_at(72);
            let (x, p, q) = (&x[..2 * pairs], &p[..8 * pairs], &q[..8 * pairs]);
            defmt::assert_eq!(
                riscv::octet_pairs(x, p, q, acc),
                riscv::octet_pairs_ref(x, p, q, acc),
                "{} pairs",
                pairs
            );
        }
    }

    #[test]
    fn requantisation_is_the_same_on_this_core() {
        // The M0 splits the product into 16-bit halves, the M4F has SMULL (SMMULR): both
        // equal the 64-bit definition, corners and random pairs.
        let corners = [0u32, 1, 0x7fff, 0x8000, 0xffff, 0x1_0000, 0x7fff_ffff, 0x8000_0000, 0xffff_8000, 0xffff_ffff];
        let mut rng = Pcg32::from_seed(9);
        for i in 0..3000 {
            let (acc, m) = match i {
                0..100 => (corners[i % 10] as i32, (corners[i / 10] & 0x7fff_ffff) as i32),
                _ => (rng.next_u32() as i32, (rng.next_u32() >> 1) as i32),
            };
            defmt::assert_eq!(quant::requant(acc, m), quant::requant_wide(acc, m));
            defmt::assert_eq!(quant::requant_halves(acc, m), quant::requant_wide(acc, m));
        }
    }

    #[test]
    fn dsp_instructions_equal_their_references() {
        // On the M4F these are SMLAD and SXTB16 themselves; on the M0 the references.
        let mut rng = Pcg32::from_seed(8);
        for _ in 0..2000 {
            let (x, y, acc) = (rng.next_u32(), rng.next_u32(), rng.next_u32() as i32);
            defmt::assert_eq!(dsp::smlad(x, y, acc), dsp::smlad_ref(x, y, acc));
            defmt::assert_eq!(dsp::sxtb16(x), dsp::sxtb16_ref(x));
            defmt::assert_eq!(dsp::sxtb16_ror8(x), dsp::sxtb16_ror8_ref(x));
            let a = [acc, acc.rotate_left(7), y as i32, x as i32];
            defmt::assert_eq!(dsp::quad_step(x, y, acc as u32, a), dsp::quad_step_ref(x, y, acc as u32, a));
        }
        // Overflowing sums wrap, as in the reference.
        defmt::assert_eq!(
            dsp::smlad(0x8000_8000, 0x8000_8000, i32::MAX),
            dsp::smlad_ref(0x8000_8000, 0x8000_8000, i32::MAX)
        );
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
        copy[4] = 2;
        defmt::assert!(matches!(
            Model::from_bytes(&copy[..n]),
            Err(DecodeError::UnsupportedVersion { found: 2, oldest: 3, newest: runtime::FORMAT_VERSION })
        ));
        copy[0] = b'X';
        defmt::assert!(matches!(Model::from_bytes(&copy[..n]), Err(DecodeError::BadMagic { .. })));
    }

    #[test]
    fn argmax_generation_and_max_len() {
        // The tiny model's argmax name (the golden one), and the same cut at 3 symbols.
        let m = model(FIXTURES[1]);
        let mut buf = [0u32; 96];
        let mut s = Scratch::new(&m, &mut buf).unwrap();
        let mut rng = Pcg32::from_seed(0);
        let untouched = rng;
        let want = GOLDEN.iter().find(|g| g.0 == 1 && g.2 == 0).unwrap().4[0];
        let cfg = SampleConfig { temperature: Temperature::ARGMAX, top_k: 0, max_len: MAX_LEN };
        let mut out = heapless::String::<{ 2 * MAX_LEN }>::new();
        defmt::assert_eq!(generate(&m, &mut s, &mut rng, &cfg, "", &mut out), Ok(Stop::Boundary));
        defmt::assert_eq!(out.as_str(), want);
        defmt::assert!(want.len() > 3);
        let cfg = SampleConfig { max_len: 3, ..cfg };
        defmt::assert_eq!(generate(&m, &mut s, &mut rng, &cfg, "", &mut out), Ok(Stop::MaxLen));
        defmt::assert_eq!(out.as_str(), &want[..3]);
        // Temperature 0 draws no random numbers.
        defmt::assert!(rng == untouched);
    }
}
