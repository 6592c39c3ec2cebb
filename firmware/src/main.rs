//! Generates names on a Cortex-M: decode the embedded model in place, generate, log.
#![no_std]
#![no_main]

use firmware::{exit, model};
use runtime::{generate, Model, Network, Pcg32, SampleConfig, ScratchBuf};

/// Same seed, model and settings give the same names as `trainer sample --seed 42 -n 20`.
const SEED: u64 = 42;
const N_NAMES: u64 = 20;
const CFG: SampleConfig = SampleConfig::DEFAULT;

#[firmware::entry]
fn main() -> ! {
    firmware::stack_guard();
    // The build script decoded and checked the model and wrote down where everything lies;
    // this only slices the bytes (a mismatch means the map is not this model's).
    let Ok(model) = Model::from_map(model::BYTES, &model::MAP) else {
        defmt::error!("the model map does not fit the embedded model: rebuild the firmware");
        exit(1)
    };
    let net = match model::net(&model) {
        Ok(n) => n,
        Err(e) => {
            defmt::error!("{}", e);
            exit(1)
        }
    };
    let h = net.header();
    defmt::info!(
        "{} {}: {=usize} params, {=usize} bytes of scratch",
        h.kind,
        h.quant,
        model::N_PARAMS,
        model::RAM_BYTES
    );
    names(&net)
}

/// The names, in a frame of its own: the scratch is not on the stack while the model is
/// decoded (which has its own temporaries), so the two never add up.
#[inline(never)]
fn names(net: &model::Net) -> ! {
    let mut scratch_buf = ScratchBuf::<{ model::SCRATCH_WORDS }>::new();
    let Ok(mut scratch) = scratch_buf.scratch(net) else { exit(1) };
    let mut name = heapless::String::<{ model::NAME_BYTES }>::new();
    for i in 0..N_NAMES {
        // Name i from its own stream, as `trainer sample` numbers them.
        let mut rng = Pcg32::for_name(SEED, i);
        match generate(net, &mut scratch, &mut rng, &CFG, "", &mut name) {
            Ok(_) => defmt::println!("{=str}", name.as_str()),
            Err(e) => {
                defmt::error!("{}", e);
                exit(1)
            }
        }
    }
    exit(0)
}
