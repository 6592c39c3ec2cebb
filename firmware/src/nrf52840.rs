//! nRF52840-DK profile: defmt over RTT, panics reported by panic-probe, run with
//! `cargo run-nrf52840` (probe-rs).
//!
//! `exit(code)` is a semihosting exit, which probe-rs decodes: `probe-rs run` ends when the
//! firmware exits and reports a non-zero code as a failure, so a script or CI job that
//! flashes the board sees the firmware's error paths. (A breakpoint loop, the usual ending
//! for probe-run, would report success whatever the code.) Without a debugger attached a
//! semihosting call faults and the core stops, which is all `exit` promises on a bare board.

use defmt_rtt as _;
use panic_probe as _;

/// Ends the program with `code` (0 = success), passed to probe-rs by semihosting.
pub fn exit(code: i32) -> ! {
    defmt::info!("exit {=i32}", code);
    semihosting::process::exit(code)
}
