fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The board's memory layout, where cortex-m-rt's link.x finds it.
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::copy("memory.x", out.join("memory.x"))?;
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory.x");

    // The model: checked here by the runtime's decoder, embedded for `include_model!`.
    makemore_runtime::embed::embed_model("../../firmware/models/names-mlp-int8.mkmr")?;
    Ok(())
}
