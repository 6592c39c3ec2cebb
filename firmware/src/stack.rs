//! Peak stack measurement by painting: fill the unused stack below the current stack pointer
//! with a pattern, run the work, then find the lowest word that changed. With flip-link the
//! stack grows down from `_stack_start` towards the start of RAM, below `.data` and `.bss`.

const PATTERN: u32 = 0xDEAD_BEEF;
/// Start of RAM on every supported board (mps2-an386, microbit, nRF52840; see `memory/`):
/// with flip-link the stack can grow down to here.
const RAM_START: usize = 0x2000_0000;

extern "C" {
    /// Top of the stack (cortex-m-rt's linker script).
    static _stack_start: u32;
}

fn paint_range() -> (usize, usize) {
    let sp = cortex_m::register::msp::read() as usize;
    // Leave the words just below the stack pointer alone: this function's callees use them.
    (RAM_START, sp - 128)
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
