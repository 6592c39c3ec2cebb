//! Tells the crate which Cortex-M cores have the DSP extension (SMLAD, SXTB16) and which have
//! no 32 x 32 -> 64-bit multiply: stable Rust exposes neither as a cfg, so the target name
//! decides, as the `cortex-m` crate does. thumbv7em is the Cortex-M4 and M7; thumbv6m (the
//! M0 and M0+) has only the 32-bit `MULS` and the Thumb-1 instruction set (`arm_thumb1`: its
//! kernel loop is assembly, `arch::thumb1`). On thumbv8m.main (Cortex-M33, M35P, M55) the DSP
//! extension is optional: the kernels use it when the build says the core has it, with
//! `-C target-cpu=cortex-m33` (or m55) or `-C target-feature=+dsp` in the rustflags.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(arm_dsp)");
    println!("cargo::rustc-check-cfg=cfg(no_long_mul)");
    println!("cargo::rustc-check-cfg=cfg(arm_thumb1)");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=CARGO_ENCODED_RUSTFLAGS");
    let target = std::env::var("TARGET").unwrap_or_default();
    // The flags rustc gets for this target (cargo passes them to build scripts, one per 0x1f).
    let flags = std::env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    let v8m_dsp = flags
        .split('\x1f')
        .any(|f| f.ends_with("target-cpu=cortex-m33") || f.ends_with("target-cpu=cortex-m55") || f.contains("+dsp"));
    if target.starts_with("thumbv7em-") || (target.starts_with("thumbv8m.main-") && v8m_dsp) {
        println!("cargo::rustc-cfg=arm_dsp");
    }
    if target.starts_with("thumbv6m-") {
        println!("cargo::rustc-cfg=no_long_mul");
        println!("cargo::rustc-cfg=arm_thumb1");
    }
}
