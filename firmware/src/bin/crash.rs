//! Fails on purpose, to prove a fault ends the run quickly with a non-zero exit instead of
//! hanging CI: `CRASH=overflow` (at build time) recurses until the stack overflows (flip-link
//! puts the stack at the bottom of RAM, so this faults), `CRASH=panic` panics (exit 101),
//! anything else executes an undefined instruction (HardFault handler, exit 102). Each must
//! end the run at once with a non-zero exit (a stack overflow ends in a QEMU lockup).
#![no_std]
#![no_main]

use firmware as _;

// Unbounded on purpose: the point is to run out of stack.
#[allow(unconditional_recursion)]
#[inline(never)]
fn recurse(depth: u32, sink: &mut [u32; 64]) -> u32 {
    let mut local = [depth; 64];
    local[(depth % 64) as usize] ^= sink[0];
    core::hint::black_box(&mut local);
    recurse(depth + 1, &mut local).wrapping_add(local[0])
}

#[firmware::entry]
fn main() -> ! {
    firmware::stack_guard();
    if option_env!("CRASH") == Some("overflow") {
        defmt::println!("overflowing the stack");
        let n = recurse(0, &mut [0; 64]);
        defmt::println!("unreachable {=u32}", n);
    } else if option_env!("CRASH") == Some("panic") {
        defmt::panic!("panicking on purpose");
    } else {
        defmt::println!("executing an undefined instruction");
        firmware::undefined_instruction();
    }
    firmware::exit(0)
}
