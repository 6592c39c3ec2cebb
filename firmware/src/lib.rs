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

// The embedded model (`FIRMWARE_MODEL` at build time; default the integer int8 MLP), its net
// type and the exact buffer sizes it needs: `mod model`, written by the build script.
runtime::include_model!();

/// Makes the 4 KB below the start of RAM a no-access MPU region, so that a stack overflow
/// faults at once. flip-link puts the stack at the bottom of RAM; on a real board the
/// addresses below are unmapped and fault by themselves, but QEMU's mps2 boards map memory
/// there, so without this guard an overflowing stack would write on into it and hang. Cores
/// with an MPU only (ARMv7-M: the M3 and M4F); on the M0 below RAM already faults.
pub fn stack_guard() {
    #[cfg(has_mpu)]
    {
        /// The start of RAM on every board here (memory/*.x).
        const RAM_START: u32 = 0x2000_0000;
        let mpu = cortex_m::peripheral::MPU::PTR;
        // SAFETY: called once at start-up, before anything else touches the MPU; the region
        // covers no memory the program uses (it lies below RAM), and PRIVDEFENA keeps the
        // default memory map for everything else.
        unsafe {
            (*mpu).rnr.write(0);
            // The region's base, aligned to its size.
            (*mpu).rbar.write(RAM_START - 4096);
            // RASR: XN, AP = 000 (no access), SIZE = 11 (2^(11 + 1) = 4 KB), ENABLE.
            (*mpu).rasr.write((1 << 28) | (11 << 1) | 1);
            // CTRL: PRIVDEFENA | ENABLE.
            (*mpu).ctrl.write((1 << 2) | 1);
        }
        cortex_m::asm::dsb();
        cortex_m::asm::isb();
    }
}

/// A fault or panic on the host is a failed run: log what we know and leave with `code`.
fn fail(code: i32) -> ! {
    exit(code)
}

extern "C" {
    /// cortex-m-rt's handler for unexpected interrupts.
    fn DefaultHandler();
}

/// The interrupt vectors after the exceptions: one, the least cortex-m-rt's link script
/// accepts. This firmware enables no interrupt, so none can be taken; a full table for the
/// board would be up to 960 bytes of flash for nothing.
#[link_section = ".vector_table.interrupts"]
#[no_mangle]
pub static __INTERRUPTS: [unsafe extern "C" fn(); 1] = [DefaultHandler];

#[cortex_m_rt::exception]
unsafe fn HardFault(frame: &cortex_m_rt::ExceptionFrame) -> ! {
    defmt::error!("HardFault at pc {=u32:#x}", frame.pc());
    fail(102)
}

#[defmt::panic_handler]
fn defmt_panic() -> ! {
    fail(101)
}
