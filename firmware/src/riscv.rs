//! RISC-V (riscv32imc): riscv-rt's start-up and the exception handler. No stack guard: the
//! stack lies above `.bss` (riscv-rt's layout, no flip-link for RISC-V), and a guard would
//! take the PMP, which QEMU's virt machine and the ESP32-C3 set up differently.

use crate::fail;

/// The program's entry point (`#[firmware::entry] fn main() -> !`).
pub use riscv_rt::entry;

/// Nothing to set up on RISC-V (see the module's note).
pub fn stack_guard() {}

/// A `nop` the compiler keeps (the bench's markers).
#[inline(always)]
pub fn nop() {
    riscv::asm::nop();
}

/// The stack pointer now, near enough: the address of a local of the caller's frame.
#[inline(always)]
pub fn stack_pointer() -> usize {
    let here = 0u32;
    core::hint::black_box(&here) as *const u32 as usize
}

/// Executes an illegal instruction: the exception handler runs.
pub fn undefined_instruction() -> ! {
    // SAFETY: `unimp` only raises an illegal-instruction exception, which `exception` below
    // handles by ending the run; it touches no memory or register the compiler relies on.
    unsafe { core::arch::asm!("unimp", options(noreturn, nomem, nostack)) }
}

/// Any exception (illegal instruction, access fault, misaligned access...) ends the run with
/// exit code 102, as a HardFault does on the Cortex-M.
#[export_name = "ExceptionHandler"]
fn exception(_frame: &riscv_rt::TrapFrame) -> ! {
    let cause = riscv::register::mcause::read().bits();
    let pc = riscv::register::mepc::read();
    defmt::error!("exception {=usize} at pc {=usize:#x}", cause, pc);
    fail(102)
}
