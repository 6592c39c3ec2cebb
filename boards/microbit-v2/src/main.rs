//! Names on a BBC micro:bit v2: each name scrolls across the 5 x 5 LED matrix, over and over,
//! until button A is pressed, which brings the next one. The names also go out over defmt
//! (RTT), which `cargo run` shows. They are `trainer sample --seed 42`'s, in order.
#![no_std]
#![no_main]

mod font;

use board_names::Names;
use defmt_rtt as _;
use embedded_hal::digital::InputPin;
use microbit::display::blocking::Display;
use microbit::hal::Timer;
use panic_probe as _;
use runtime::{Model, ScratchBuf};

runtime::include_model!();

/// How long each step of the scroll shows, in milliseconds.
const STEP_MS: u32 = 90;

#[cortex_m_rt::entry]
fn main() -> ! {
    let Some(board) = microbit::Board::take() else { defmt::panic!("the board was taken twice") };
    let mut timer = Timer::new(board.TIMER0);
    let mut display = Display::new(board.display_pins);
    let mut button_a = board.buttons.button_a;

    // The build script decoded and checked the model; this only slices the bytes.
    let Ok(model) = Model::from_map(model::BYTES, &model::MAP) else { defmt::panic!("the map is not this model's") };
    let net = match model::net(&model) {
        Ok(n) => n,
        Err(e) => defmt::panic!("{}", e),
    };
    let mut buf = ScratchBuf::<{ model::SCRATCH_WORDS }>::new();
    let Ok(scratch) = buf.scratch(&net) else { defmt::panic!("the scratch is too small") };
    let mut names = Names::<_, { model::NAME_BYTES }>::new(&net, scratch);
    defmt::info!("makemore-embedded on the micro:bit v2: button A for the next name");

    loop {
        let name = match names.next_name() {
            Ok(name) => name,
            Err(e) => defmt::panic!("{}", e),
        };
        defmt::println!("{=str}", name);
        // Scroll in from the right edge and out at the left, until button A is pressed.
        let width = 6 * name.chars().count() + 5;
        'scroll: loop {
            for x in 0..width {
                let mut frame = [[0u8; 5]; 5];
                for (col, dx) in (x..x + 5).enumerate() {
                    // The text starts 5 columns after the left edge: it enters from the right.
                    let dots = if dx >= 5 { font::column(name, dx - 5) } else { 0 };
                    for (row, line) in frame.iter_mut().enumerate() {
                        line[col] = (dots >> (4 - row)) & 1;
                    }
                }
                display.show(&mut timer, frame, STEP_MS);
                if button_a.is_low().unwrap_or(false) {
                    display.clear();
                    // Wait for the release, so one press is one name.
                    while button_a.is_low().unwrap_or(false) {}
                    break 'scroll;
                }
            }
        }
    }
}
