//! README's "Put names in your own firmware" shows exactly the files of
//! `examples/own-firmware/` (which `tools/test` builds and runs), so the snippet cannot rot:
//! each block after a `<!-- examples/own-firmware/FILE -->` line must be that file.

use std::path::Path;

#[test]
fn readme_shows_the_example_firmware_as_it_is() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let mut lines = readme.lines();
    let mut shown = vec![];
    while let Some(line) = lines.next() {
        let Some(file) = line.strip_prefix("<!-- examples/own-firmware/").and_then(|l| l.strip_suffix(" -->")) else {
            continue;
        };
        assert!(lines.next().is_some_and(|fence| fence.starts_with("```")), "{file}: no code block after the marker");
        let block: String = lines.by_ref().take_while(|l| *l != "```").map(|l| format!("{l}\n")).collect();
        let on_disk = std::fs::read_to_string(root.join("examples/own-firmware").join(file)).unwrap();
        assert_eq!(block, on_disk, "README's {file} differs from examples/own-firmware/{file}");
        shown.push(file.to_string());
    }
    assert_eq!(shown, ["Cargo.toml", "build.rs", "src/main.rs", "memory.x", ".cargo/config.toml"]);
}
