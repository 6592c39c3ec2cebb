//! Tells the crate which Cortex-M cores have the DSP extension (SMLAD, SXTB16) and which have
//! no 32 x 32 -> 64-bit multiply: stable Rust exposes neither as a cfg, so the target name
//! decides, as the `cortex-m` crate does. thumbv7em is the Cortex-M4 and M7; thumbv6m (the
//! M0 and M0+) has only the 32-bit `MULS`.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(arm_dsp)");
    println!("cargo::rustc-check-cfg=cfg(no_long_mul)");
    println!("cargo::rerun-if-changed=build.rs");
    let target = std::env::var("TARGET").unwrap_or_default();
    if target.starts_with("thumbv7em-") {
        println!("cargo::rustc-cfg=arm_dsp");
    }
    if target.starts_with("thumbv6m-") {
        println!("cargo::rustc-cfg=no_long_mul");
    }
}
