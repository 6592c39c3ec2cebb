//! Board support for the name generator: logger, panic and fault handlers, and `exit`, so
//! `main.rs` reads like a script. One module per profile (QEMU or a real board); no model
//! math here: that is all in the `runtime` crate.
#![no_std]

// Links cortex-m's single-core critical section, which defmt's global logger needs.
use cortex_m as _;

#[cfg(all(feature = "qemu", feature = "nrf52840"))]
compile_error!("choose one profile: the default `qemu`, or `--no-default-features --features nrf52840`");

#[cfg(feature = "qemu")]
mod qemu;
#[cfg(feature = "qemu")]
pub use qemu::exit;

#[cfg(feature = "nrf52840")]
mod nrf52840;
#[cfg(feature = "nrf52840")]
pub use nrf52840::exit;

pub mod stack;

/// The embedded model (`FIRMWARE_MODEL` at build time; default the int8 MLP) and the exact
/// scratch size it needs, computed by the build script.
pub mod model {
    include!(concat!(env!("OUT_DIR"), "/model.rs"));
    pub static BYTES: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/model.mkmr"));
}

/// A fault or panic on the host is a failed run: log what we know and leave with `code`.
fn fail(code: i32) -> ! {
    exit(code)
}

#[cortex_m_rt::exception]
unsafe fn HardFault(frame: &cortex_m_rt::ExceptionFrame) -> ! {
    defmt::error!("HardFault at pc {=u32:#x}", frame.pc());
    fail(102)
}

#[defmt::panic_handler]
fn defmt_panic() -> ! {
    fail(101)
}
