//! QEMU profile: defmt frames over semihosting stdout (decoded on the host by defmt-print),
//! and exit codes passed through QEMU to the shell.

use defmt_semihosting as _;

/// Ends the program; QEMU exits with `code`.
pub fn exit(code: i32) -> ! {
    semihosting::process::exit(code)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    // Location only: formatting the message would pull in core::fmt (about 18 KB of flash).
    match info.location() {
        Some(l) => defmt::error!("panicked at {=str}:{=u32}", l.file(), l.line()),
        None => defmt::error!("panicked"),
    }
    exit(101)
}
