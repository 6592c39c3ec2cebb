//! `uf2 FIRMWARE.elf --family rp2040|rp2350-arm-s [-o OUT.uf2]`: writes the ELF as a UF2 file
//! (default: next to the ELF, `.uf2` added) and checks what it wrote.
//! `uf2 --check FILE.uf2 --family F`: checks an existing file's blocks.

use anyhow::{Context, Result};
use clap::Parser;
use std::path::PathBuf;

/// Writes a board's ELF as a UF2 file for drag-and-drop flashing, or checks a UF2 file.
#[derive(Parser)]
#[command(name = "uf2")]
struct Args {
    /// The ELF to convert (or with --check, the UF2 file to check).
    input: PathBuf,
    /// The chip family: rp2040 (Pico) or rp2350-arm-s (Pico 2).
    #[arg(long)]
    family: String,
    /// Where to write the UF2 file (default: the input's path with .uf2 added).
    #[arg(short)]
    o: Option<PathBuf>,
    /// Only check the input, a UF2 file: magic numbers, family, addresses, block numbers.
    #[arg(long)]
    check: bool,
}

fn main() {
    if let Err(e) = run(Args::parse()) {
        eprintln!("uf2: {e:#}");
        std::process::exit(1);
    }
}

fn run(args: Args) -> Result<()> {
    let family = uf2::family(&args.family)?;
    let bytes = std::fs::read(&args.input).with_context(|| format!("cannot read {}", args.input.display()))?;
    let (path, file) = if args.check {
        (args.input, bytes)
    } else {
        let segments = uf2::segments_of_elf(&bytes).with_context(|| format!("{}", args.input.display()))?;
        let file = uf2::encode(&segments, &family)?;
        let path = args.o.unwrap_or_else(|| {
            let mut p = args.input.clone().into_os_string();
            p.push(".uf2");
            PathBuf::from(p)
        });
        std::fs::write(&path, &file).with_context(|| format!("cannot write {}", path.display()))?;
        (path, file)
    };
    let s = uf2::check(&file, &family).with_context(|| format!("{}", path.display()))?;
    println!(
        "{}: {} blocks, flash {:#x}..{:#x} ({} bytes), family {} ({:#010x}): headers OK",
        path.display(),
        s.blocks,
        s.first,
        s.end,
        s.end - s.first,
        family.name,
        family.id
    );
    Ok(())
}
