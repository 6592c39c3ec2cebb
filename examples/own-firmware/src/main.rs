#![no_std]
#![no_main]

use makemore_runtime::{generate, Model, Pcg32, SampleConfig, ScratchBuf};
use semihosting::{println, process};

makemore_runtime::include_model!();

#[cortex_m_rt::entry]
fn main() -> ! {
    let model = Model::from_map(model::BYTES, &model::MAP).expect("the map is this model's");
    let net = model::net(&model).expect("the model is the build script's");
    let mut buf = ScratchBuf::<{ model::SCRATCH_WORDS }>::new();
    let mut scratch = buf.scratch(&net).expect("sized by the build script");
    let mut name = heapless::String::<{ model::NAME_BYTES }>::new();
    for i in 0..10 {
        // Name i of seed 42: what `trainer sample --seed 42` prints.
        let mut rng = Pcg32::for_name(42, i);
        generate(&net, &mut scratch, &mut rng, &SampleConfig::DEFAULT, "", &mut name).expect("settings are valid");
        println!("{}", name);
    }
    process::exit(0)
}
