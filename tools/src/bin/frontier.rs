//! The size/quality frontier: reads trainer run reports (`report.json`, or `--json` output
//! saved to a file), prints a markdown table (int8 and f32 file bytes, dev loss, the integer
//! file's test NLL) and writes a PNG of dev loss against bytes, with reference points.
//!
//! Usage: `cargo run --release -p tools --bin frontier -- OUT.png LABEL=REPORT.json ...
//! [REF:LABEL=BYTES,DEV ...]` (a `REF:` argument is a reference point drawn hollow).

use anyhow::{bail, Context};
use std::path::PathBuf;
use trainer::plot::{frontier, FrontierPoint};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let Some(out) = args.next().map(PathBuf::from) else {
        bail!("usage: frontier OUT.png LABEL=REPORT.json ... [REF:LABEL=BYTES,DEV ...]");
    };
    let mut points = vec![];
    println!("| model | params | int8 file | f32 file | dev loss | int8 test NLL |\n|---|---|---|---|---|---|");
    for arg in args {
        let (label, value) = arg.split_once('=').with_context(|| format!("{arg}: expected LABEL=..."))?;
        if let Some(label) = label.strip_prefix("REF:") {
            let (bytes, dev) = value.split_once(',').with_context(|| format!("{arg}: expected BYTES,DEV"))?;
            points.push(FrontierPoint {
                label: label.into(),
                bytes: bytes.parse()?,
                dev_loss: dev.parse()?,
                reference: true,
            });
            continue;
        }
        let text = std::fs::read_to_string(value).with_context(|| format!("cannot read {value}"))?;
        let r: serde_json::Value = serde_json::from_str(&text).with_context(|| format!("{value} is not JSON"))?;
        let export = r["export"].as_array().with_context(|| format!("{value} has no export"))?;
        let file = |q: &str| export.iter().find(|e| e["quant"] == q).cloned().unwrap_or_default();
        let (i8f, f32f) = (file("int8"), file("f32"));
        let dev = r["dev_loss"].as_f64().with_context(|| format!("{value} has no dev_loss"))?;
        println!(
            "| {label} | {} | {} | {} | {dev:.4} | {:.4} |",
            r["n_params"],
            i8f["bytes"],
            f32f["bytes"],
            i8f["test_nll"].as_f64().unwrap_or(f64::NAN)
        );
        for (suffix, f) in [("", &i8f), (" (f32)", &f32f)] {
            if let Some(bytes) = f["bytes"].as_f64() {
                points.push(FrontierPoint {
                    label: format!("{label}{suffix}"),
                    bytes,
                    dev_loss: dev,
                    reference: false,
                });
            }
        }
    }
    frontier(&out, &points)?;
    eprintln!("wrote {}", out.display());
    Ok(())
}
