//! Cortex-M: cortex-m-rt's start-up, the HardFault handler, the interrupt table and the MPU
//! stack guard.

// Links cortex-m's single-core critical section, which defmt's global logger needs.
use cortex_m as _;

/// The program's entry point (`#[firmware::entry] fn main() -> !`).
pub use cortex_m_rt::entry;

use crate::fail;

/// Makes the 4 KB below the start of RAM a no-access MPU region, so that a stack overflow
/// faults at once. flip-link puts the stack at the bottom of RAM; on a real board the
/// addresses below are unmapped and fault by themselves, but QEMU's mps2 boards map memory
/// there, so without this guard an overflowing stack would write on into it and hang. Cores
/// with an MPU only (ARMv7-M: the M3 and M4F); on the M0 below RAM already faults.
pub fn stack_guard() {
    #[cfg(has_mpu)]
    {
        const RAM_START: u32 = crate::board::RAM_START as u32;
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

/// A `nop` the compiler keeps (the bench's markers).
#[inline(always)]
pub fn nop() {
    cortex_m::asm::nop();
}

/// The stack pointer now.
#[inline(always)]
pub fn stack_pointer() -> usize {
    cortex_m::register::msp::read() as usize
}

/// Executes an undefined instruction (`UDF`): the HardFault handler runs.
pub fn undefined_instruction() -> ! {
    cortex_m::asm::udf()
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
