//! Cost per generated symbol and peak stack: generates names between two marker functions
//! that a QEMU TCG plugin (`tools/insn-count`) uses to count executed instructions exactly,
//! and reports the deepest stack use of the whole run (decode, scratch, generation).
#![no_std]
#![no_main]

use firmware::{exit, model};
use runtime::{generate, Model, Pcg32, SampleConfig, ScratchBuf, Stop};

const N_NAMES: usize = 50;

/// Marks the start of the measured region (the plugin looks up this symbol). The two markers
/// differ in their number of `nop`s, which the compiler cannot remove, so the linker cannot
/// fold them into one address.
#[no_mangle]
#[inline(never)]
pub extern "C" fn bench_start() {
    cortex_m::asm::nop();
}

/// Marks the end of the measured region.
#[no_mangle]
#[inline(never)]
pub extern "C" fn bench_stop() {
    cortex_m::asm::nop();
    cortex_m::asm::nop();
}

/// Keeps both symbols in the ELF for the plugin to find.
#[used]
static MARKERS: [extern "C" fn(); 2] = [bench_start, bench_stop];

/// Calls a marker through an opaque pointer, so LTO cannot inline it away.
fn mark(f: extern "C" fn()) {
    core::hint::black_box(f)();
}

#[cortex_m_rt::entry]
fn main() -> ! {
    firmware::stack::paint();
    let Ok(model) = Model::from_bytes(model::BYTES) else { exit(1) };
    let mut scratch_buf = ScratchBuf::<{ model::SCRATCH_WORDS }>::new();
    let Ok(mut scratch) = scratch_buf.scratch(&model) else { exit(1) };
    let mut rng = Pcg32::from_seed(1);
    let cfg = SampleConfig { temperature: 1.0, top_k: 0, max_len: 32 };
    let mut name = heapless::String::<32>::new();
    let mut symbols = 0usize;
    mark(bench_start);
    for _ in 0..N_NAMES {
        // One forward pass per symbol, the closing boundary token included.
        match generate(&model, &mut scratch, &mut rng, &cfg, "", &mut name) {
            Ok(Stop::Boundary) => symbols += name.chars().count() + 1,
            Ok(_) => symbols += name.chars().count(),
            Err(_) => exit(1),
        }
    }
    mark(bench_stop);
    defmt::println!("symbols {=usize}", symbols);
    defmt::println!("stack_peak_bytes {=usize}", firmware::stack::peak());
    exit(0)
}
