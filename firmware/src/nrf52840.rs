//! nRF52840-DK profile: defmt over RTT, panics reported by panic-probe, run with
//! `cargo run-nrf52840` (probe-rs).

use defmt_rtt as _;
use panic_probe as _;

/// Ends the program: a breakpoint, which probe-rs reports as the end of the run.
pub fn exit(code: i32) -> ! {
    defmt::info!("exit {=i32}", code);
    loop {
        cortex_m::asm::bkpt();
    }
}
