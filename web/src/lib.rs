//! The playground: the runtime compiled to WebAssembly behind a static page (`site/`), so a
//! model runs in the browser with the very code that runs on the board, and gives the same
//! names, bit for bit.
//!
//! The page talks to the `.wasm` through a handful of plain exports (`exports.rs`): it writes
//! a model file or a text into a buffer the module owns, calls with numbers, and reads the
//! answer back (text, and numbers as an f64 array). Everything behind them is [`Playground`], ordinary Rust that the host's tests call
//! directly. [`serve`] (host only) serves the built site on the loopback interface.

#[cfg(target_arch = "wasm32")]
mod exports;
mod playground;
#[cfg(not(target_arch = "wasm32"))]
pub mod serve;

pub use playground::{config, json_string, temperature, Playground, MAX_BENCH, MAX_NAMES};
