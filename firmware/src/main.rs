//! Generates names on a Cortex-M: decode the embedded model in place, generate, log.
#![no_std]
#![no_main]

use firmware::{exit, model};
use runtime::{generate, Model, Pcg32, SampleConfig, ScratchBuf};

/// Same seed, model and settings give the same names as `trainer sample --seed 42 -n 20`.
const SEED: u64 = 42;
const N_NAMES: usize = 20;
const CFG: SampleConfig = SampleConfig { temperature: 1.0, top_k: 0, max_len: 32 };

#[cortex_m_rt::entry]
fn main() -> ! {
    let model = match Model::from_bytes(model::BYTES) {
        Ok(m) => m,
        Err(e) => {
            defmt::error!("bad model: {}", e);
            exit(1)
        }
    };
    let h = model.header();
    defmt::info!(
        "{} {}: {=usize} params, {=usize} bytes of scratch",
        h.kind,
        h.quant,
        model.n_params(),
        model.ram_bytes()
    );

    let mut scratch_buf = ScratchBuf::<{ model::SCRATCH_WORDS }>::new();
    let Ok(mut scratch) = scratch_buf.scratch(&model) else { exit(1) };
    let mut rng = Pcg32::from_seed(SEED);
    let mut name = heapless::String::<32>::new();
    for _ in 0..N_NAMES {
        match generate(&model, &mut scratch, &mut rng, &CFG, "", &mut name) {
            Ok(_) => defmt::println!("{=str}", name.as_str()),
            Err(e) => {
                defmt::error!("{}", e);
                exit(1)
            }
        }
    }
    exit(0)
}
