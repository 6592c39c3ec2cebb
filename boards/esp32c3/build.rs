//! The model, checked by the runtime's decoder and embedded for `include_model!`
//! (`FIRMWARE_MODEL=path` picks another file). esp-hal brings the memory layout (linkall.x).
fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-env-changed=FIRMWARE_MODEL");
    let model = std::env::var("FIRMWARE_MODEL").unwrap_or_else(|_| "../../firmware/models/names-mlp-int8.mkmr".into());
    runtime::embed::embed_model(&model)?;
    Ok(())
}
