//! Peak stack measurement by painting: fill the unused stack below the current stack pointer
//! with a pattern, run the work, then find the lowest word that changed. On the Cortex-M
//! flip-link puts the stack below `.data` and `.bss`: it grows down from `_stack_start`
//! towards the start of RAM. On RISC-V (riscv-rt) it grows down from `_stack_start` towards
//! `__estack`, the end of `.bss` (and of the empty heap).

const PATTERN: u32 = 0xDEAD_BEEF;

extern "C" {
    /// Top of the stack (cortex-m-rt's and riscv-rt's linker scripts).
    static _stack_start: u32;
    /// The lowest address the stack may reach (riscv-rt's linker script).
    #[cfg(target_arch = "riscv32")]
    static __estack: u32;
}

/// The lowest address the stack may reach.
fn stack_floor() -> usize {
    #[cfg(target_arch = "riscv32")]
    return core::ptr::addr_of!(__estack) as usize;
    #[cfg(not(target_arch = "riscv32"))]
    return crate::board::RAM_START;
}

fn paint_range() -> (usize, usize) {
    let sp = crate::stack_pointer();
    // Leave the words just below the stack pointer alone: this function's callees use them.
    (stack_floor(), sp - 128)
}

/// Paints the unused stack. Call once, early, from `main`.
pub fn paint() {
    let (lo, hi) = paint_range();
    let mut p = lo;
    while p < hi {
        // SAFETY: [lo, hi) lies below the current stack pointer, inside the stack region that
        // nothing is using yet; word-aligned because the stack pointer is 8-byte aligned.
        unsafe { core::ptr::write_volatile(p as *mut u32, PATTERN) };
        p += 4;
    }
}

/// Bytes of stack used since `_stack_start` at the deepest point since [`paint`].
pub fn peak() -> usize {
    let (lo, hi) = paint_range();
    let mut p = lo;
    // SAFETY: reads inside the painted range, which is RAM.
    while p < hi && unsafe { core::ptr::read_volatile(p as *const u32) } == PATTERN {
        p += 4;
    }
    let top = core::ptr::addr_of!(_stack_start) as usize;
    top - p
}
