//! Regenerates tests/fixtures/ (the golden model files and names) deterministically.

fn main() -> anyhow::Result<()> {
    let dir = tools::fixtures::fixture_dir();
    tools::fixtures::write(&dir)?;
    eprintln!("wrote {}", dir.display());
    Ok(())
}
