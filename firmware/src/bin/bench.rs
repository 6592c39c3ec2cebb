//! Cost per generated symbol and peak stack: generates names between two marker functions
//! that a QEMU TCG plugin (`tools/insn-count`) uses to count executed instructions exactly,
//! and reports the deepest stack use of the whole run (decode, scratch, generation).
#![no_std]
#![no_main]

use firmware::{exit, model};
use runtime::{generate, Model, Pcg32, SampleConfig, ScratchBuf, Stop};

const N_NAMES: usize = 50;

/// Built with `BENCH_PART=tanh` or `softmax`, the binary measures only that part of one
/// symbol of an MLP with 200 hidden units (200 tanh, a 27-way softmax and draw) instead of
/// generation, in the embedded model's numbers (integer or f32); `BENCH_PART=linear` (integer
/// models), one 128 x 48 linear layer's sums (the default model's hidden layer: 6,144
/// multiply-accumulates).
const PART: Option<&str> = option_env!("BENCH_PART");

/// Marks the start of the measured region (the plugin looks up this symbol). The two markers
/// differ in their number of `nop`s, which the compiler cannot remove, so the linker cannot
/// fold them into one address.
#[no_mangle]
#[inline(never)]
pub extern "C" fn bench_start() {
    firmware::nop();
}

/// Marks the end of the measured region.
#[no_mangle]
#[inline(never)]
pub extern "C" fn bench_stop() {
    firmware::nop();
    firmware::nop();
}

/// Keeps both symbols in the ELF for the plugin to find.
#[used]
static MARKERS: [extern "C" fn(); 2] = [bench_start, bench_stop];

/// Calls a marker through an opaque pointer, so LTO cannot inline it away.
fn mark(f: extern "C" fn()) {
    core::hint::black_box(f)();
}

#[firmware::entry]
fn main() -> ! {
    firmware::stack_guard();
    firmware::stack::paint();
    let Ok(model) = Model::from_map(model::BYTES, &model::MAP) else { exit(1) };
    let Ok(net) = model::net(&model) else { exit(1) };
    if let Some(part) = PART {
        parts(part);
    }
    run(&net)
}

/// Generation between the markers, in a frame of its own as in the firmware's `main.rs`.
#[inline(never)]
fn run(net: &model::Net) -> ! {
    let mut scratch_buf = ScratchBuf::<{ model::SCRATCH_WORDS }>::new();
    let Ok(mut scratch) = scratch_buf.scratch(net) else { exit(1) };
    let mut rng = Pcg32::from_seed(1);
    let cfg = SampleConfig::DEFAULT;
    let mut name = heapless::String::<{ model::NAME_BYTES }>::new();
    let mut symbols = 0usize;
    mark(bench_start);
    for _ in 0..N_NAMES {
        // One forward pass per symbol, the closing boundary token included.
        match generate(net, &mut scratch, &mut rng, &cfg, "", &mut name) {
            Ok(Stop::Boundary) => symbols += name.chars().count() + 1,
            Ok(_) => symbols += name.chars().count(),
            Err(_) => exit(1),
        }
    }
    mark(bench_stop);
    report(symbols, N_NAMES)
}

/// Word-aligned inputs and weights of the `linear` part (as the activations and the model's
/// tensors are): one layer of 128 x 48, values that are not all zero.
#[repr(C, align(4))]
struct AlignedX([i16; 48]);
#[repr(C, align(4))]
struct AlignedW([i8; 128 * 48]);
static LINEAR_X: AlignedX = AlignedX([1234; 48]);
static LINEAR_W: AlignedW = AlignedW([-77; 128 * 48]);
#[repr(C, align(4))]
struct AlignedB([[u8; 4]; 128]);
static LINEAR_B: AlignedB = AlignedB([[1, 2, 3, 4]; 128]);

/// Measures `part` of one symbol, 100 times, and reports it as 100 symbols.
fn parts(part: &str) -> ! {
    if model::INTEGER {
        int_parts(part)
    } else {
        float_parts(part)
    }
}

/// The integer model's 200 hidden units (requantise, clamp, table tanh) and its 27-way
/// softmax and draw.
fn int_parts(part: &str) -> ! {
    let acc: [i32; 200] = core::array::from_fn(|i| (i as i32 - 100) * 40_000);
    let mut h = [0i16; 200];
    let mut logits = [0i32; 27];
    let mut wide = [0i32; 128];
    let sampler = runtime::quant::Softmax::new(1000);
    let mut rng = Pcg32::from_seed(1);
    let mut picked = 0usize;
    mark(bench_start);
    for _ in 0..100 {
        let acc = core::hint::black_box(acc);
        match part {
            "tanh" => {
                for (h, &a) in h.iter_mut().zip(&acc) {
                    *h = runtime::quant::hidden(a, 1 << 26);
                }
            }
            "linear" => {
                // The default model's hidden layer: 128 rows of 48 inputs.
                // The kernel this core runs (SMLAD on the M4F and M33, assembly on the M0).
                runtime::arch::linear::<runtime::int_kernels::Sum>(
                    &LINEAR_X.0,
                    &LINEAR_W.0,
                    &LINEAR_B.0,
                    &LINEAR_B.0,
                    &mut wide,
                );
            }
            "softmax" => {
                for (z, &a) in logits.iter_mut().zip(&acc) {
                    *z = a / 8;
                }
                let z_max = logits.iter().copied().max().unwrap_or(0);
                let mut w = [0u32; 27];
                for (w, &z) in w.iter_mut().zip(&logits) {
                    *w = sampler.weight(z_max.wrapping_sub(z) as u32);
                }
                picked += runtime::quant::sample_weights(&w, rng.next_u32());
            }
            _ => exit(1),
        }
        core::hint::black_box((&h, &logits, &wide, picked));
    }
    mark(bench_stop);
    report(100, 1)
}

/// The float reference's 200 tanh (`libm::tanhf`) and its 27-way softmax.
fn float_parts(part: &str) -> ! {
    let mut h = [0.0f32; 200];
    for (i, v) in h.iter_mut().enumerate() {
        *v = (i as f32 - 100.0) * 0.03; // pre-activations across tanh's ranges
    }
    let mut logits = [0.0f32; 27];
    mark(bench_start);
    for _ in 0..100 {
        let mut v = core::hint::black_box(h);
        match part {
            "tanh" => runtime::kernels::tanh(&mut v),
            "softmax" => {
                for (l, x) in logits.iter_mut().zip(&v) {
                    *l = *x * 3.0;
                }
                runtime::kernels::softmax(&mut logits);
            }
            _ => exit(1),
        }
        core::hint::black_box((&v, &logits));
    }
    mark(bench_stop);
    report(100, 1)
}

fn report(symbols: usize, names: usize) -> ! {
    defmt::println!("symbols {=usize}", symbols);
    defmt::println!("names {=usize}", names);
    defmt::println!("stack_peak_bytes {=usize}", firmware::stack::peak());
    exit(0)
}
