//! The board's memory layout for cortex-m-rt, and the model, checked by the runtime's decoder
//! and embedded for `include_model!` (`FIRMWARE_MODEL=path` picks another file).
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::copy("memory.x", out.join("memory.x"))?;
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory.x");
    println!("cargo:rerun-if-env-changed=FIRMWARE_MODEL");
    let model = std::env::var("FIRMWARE_MODEL").unwrap_or_else(|_| "../../firmware/models/names-mlp-int8.mkmr".into());
    runtime::embed::embed_model(&model)?;
    Ok(())
}
