//! Board support for the name generator: logger, panic and fault handlers, and `exit`, so
//! `main.rs` reads like a script. One module per profile (QEMU or a real board) and one per
//! core family (Cortex-M or RISC-V); no model math here: that is all in the `runtime` crate.
#![no_std]

#[cfg(target_arch = "arm")]
mod arm;
#[cfg(target_arch = "arm")]
pub use arm::{entry, nop, stack_guard, stack_pointer, undefined_instruction};

#[cfg(target_arch = "riscv32")]
mod riscv;
#[cfg(target_arch = "riscv32")]
pub use riscv::{entry, nop, stack_guard, stack_pointer, undefined_instruction};

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

/// Facts of the board's memory layout, from its `memory/*.x` (written by the build script).
pub mod board {
    include!(concat!(env!("OUT_DIR"), "/board.rs"));
}

// The embedded model (`FIRMWARE_MODEL` at build time; default the integer int8 MLP), its net
// type and the exact buffer sizes it needs: `mod model`, written by the build script.
runtime::include_model!();

/// A fault or panic on the host is a failed run: log what we know and leave with `code`.
pub(crate) fn fail(code: i32) -> ! {
    exit(code)
}

#[defmt::panic_handler]
fn defmt_panic() -> ! {
    fail(101)
}
