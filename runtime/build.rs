//! Tells the crate which Cortex-M cores have the DSP extension (SMLAD, SXTB16): stable Rust
//! does not expose `target_feature = "dsp"` as a cfg, so the target name decides, as the
//! `cortex-m` crate does. thumbv7em is the Cortex-M4 and M7.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(arm_dsp)");
    println!("cargo::rerun-if-changed=build.rs");
    let target = std::env::var("TARGET").unwrap_or_default();
    if target.starts_with("thumbv7em-") {
        println!("cargo::rustc-cfg=arm_dsp");
    }
}
