//! Embedding a model in firmware at build time (feature `embed`, for build scripts).
//!
//! A firmware's `build.rs` is one call:
//!
//! ```no_run
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     makemore_runtime::embed::embed_model("models/names.mkmr")?;
//!     Ok(())
//! }
//! ```
//!
//! and its code one macro, [`crate::include_model!`], which defines a module `model` with
//! the file's bytes (4-byte aligned in flash, so the Cortex-M4 kernel reads its weights a word
//! at a time), where every tensor lies ([`crate::ModelMap`]: the device only slices the
//! bytes, so the decoder's 5 KB stay out of flash), the net type the file holds (only its
//! code is linked: an integer model needs no float code) and the exact buffer sizes:
//!
//! ```ignore
//! makemore_runtime::include_model!();
//!
//! let model = makemore_runtime::Model::from_map(model::BYTES, &model::MAP)?;
//! let net = model::net(&model)?;
//! let mut scratch = makemore_runtime::ScratchBuf::<{ model::SCRATCH_WORDS }>::new();
//! let mut name = heapless::String::<{ model::NAME_BYTES }>::new();
//! ```
//!
//! The file is decoded here, on the build machine, with every check of
//! [`crate::Model::from_bytes`]: a bad file fails the build with the decoder's message.

use crate::{name_capacity, DecodeError, Model, ModelKind, ModelMap, Network, Quant, MAX_LEN};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::string::{String, ToString};
use std::vec::Vec;

/// The file [`embed_model`] writes into `OUT_DIR` and [`crate::include_model!`] includes.
pub const GENERATED: &str = "makemore_model.rs";

/// What [`embed_model`] embedded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Embedded {
    /// The model file, as read.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: usize,
    /// Words of scratch it needs ([`Network::scratch_words`]).
    pub scratch_words: usize,
    /// Bytes of RAM besides the stack ([`Network::ram_bytes`]).
    pub ram_bytes: usize,
    /// Parameters (weights and biases).
    pub n_params: usize,
    /// Whether it is an integer model (an int8 file).
    pub integer: bool,
}

/// Why a model could not be embedded.
#[derive(Debug)]
#[non_exhaustive]
pub enum EmbedError {
    /// Not run by cargo as a build script (no `OUT_DIR` or `CARGO_MANIFEST_DIR`).
    NotInBuildScript {
        /// The variable missing.
        variable: &'static str,
    },
    /// The model file cannot be read.
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// The file is not a valid model.
    Decode {
        /// The file.
        path: PathBuf,
        /// The decoder's reason.
        error: DecodeError,
    },
    /// The generated source cannot be written.
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
}

impl core::fmt::Display for EmbedError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            EmbedError::NotInBuildScript { variable } => {
                write!(f, "{variable} is not set: call embed_model from a build script (build.rs)")
            }
            EmbedError::Read { path, error } => write!(
                f,
                "cannot read the model file {} ({error}); the path is relative to the crate's Cargo.toml",
                path.display()
            ),
            EmbedError::Decode { path, error } => write!(f, "{} is not a valid model file: {error}", path.display()),
            EmbedError::Write { path, error } => write!(f, "cannot write {} ({error})", path.display()),
        }
    }
}

impl std::error::Error for EmbedError {}

/// Embeds the model file at `path` (relative to the crate's `Cargo.toml`, or absolute): reads
/// it, decodes it with every check of the runtime, and writes `OUT_DIR/makemore_model.rs` for
/// [`crate::include_model!`]. Tells cargo to rerun the build script when the file changes.
pub fn embed_model(path: impl AsRef<Path>) -> Result<Embedded, EmbedError> {
    let var = |variable: &'static str| std::env::var_os(variable).ok_or(EmbedError::NotInBuildScript { variable });
    let here = PathBuf::from(var("CARGO_MANIFEST_DIR")?);
    let out = PathBuf::from(var("OUT_DIR")?);
    let path = here.join(path);
    std::println!("cargo:rerun-if-changed={}", path.display());
    let bytes = std::fs::read(&path).map_err(|error| EmbedError::Read { path: path.clone(), error })?;
    let (model, map) = decode(&bytes).map_err(|error| EmbedError::Decode { path: path.clone(), error })?;
    let generated = out.join(GENERATED);
    std::fs::write(&generated, module(&model, &map, bytes.len(), &path))
        .map_err(|error| EmbedError::Write { path: generated, error })?;
    Ok(Embedded {
        bytes: bytes.len(),
        scratch_words: model.scratch_words(),
        ram_bytes: model.ram_bytes(),
        n_params: model.n_params(),
        integer: model.header().quant == Quant::Int8,
        path,
    })
}

/// The generated module's source for the model `bytes` read from `path`.
pub fn source(bytes: &[u8], path: &Path) -> Result<String, DecodeError> {
    let (model, map) = decode(bytes)?;
    Ok(module(&model, &map, bytes.len(), path))
}

/// `bytes` decoded once, with every check ([`ModelMap::of`]), and the model its map gives.
fn decode(bytes: &[u8]) -> Result<(Model<'_>, ModelMap<'_>), DecodeError> {
    let map = ModelMap::of(bytes)?;
    Ok((Model::from_map(bytes, &map)?, map))
}

/// The generated module for `model`, whose `len` bytes are read from `path`.
fn module(model: &Model, map: &ModelMap, len: usize, path: &Path) -> String {
    let h = model.header();
    let (net, method) = match h.quant {
        Quant::Int8 => ("IntNet", "int"),
        _ => ("FloatNet", "float"),
    };
    // A model with nothing to stream (a Bengio MLP) gets the net without the streaming code.
    let (net_args, convert) = if model.stream_words() == 0 {
        ("'m, 'a, false", std::format!(".map(makemore_runtime::{net}::without_streaming)"))
    } else {
        ("'m, 'a", String::new())
    };
    let mut src = String::new();
    let _ = write!(
        src,
        "// Generated by makemore_runtime::embed::embed_model from {path}: do not edit.\n\
         /// Bytes aligned to 4: the encoder places every int8 weight tensor at a multiple of 4\n\
         /// in the file, so the Cortex-M4 kernel reads the weights a word at a time.\n\
         #[repr(C, align(4))]\n\
         pub struct Aligned<B: ?Sized> {{\n\
         \x20   /// The bytes.\n\
         \x20   pub bytes: B,\n\
         }}\n\
         static ALIGNED: &Aligned<[u8; {len}]> = &Aligned {{ bytes: *include_bytes!({path:?}) }};\n\
         /// The model file, straight from flash.\n\
         pub static BYTES: &[u8] = &ALIGNED.bytes;\n\
         /// Words of scratch the model needs.\n\
         pub const SCRATCH_WORDS: usize = {words};\n\
         /// Bytes of a name of `MAX_LEN` of the vocabulary's widest symbols.\n\
         pub const NAME_BYTES: usize = {name};\n\
         /// The net this model file holds.\n\
         pub type Net<'m, 'a> = makemore_runtime::{net}<{net_args}>;\n\
         /// Whether it is an integer model.\n\
         pub const INTEGER: bool = {integer};\n\
         /// The typed net of the embedded model.\n\
         pub fn net<'m, 'a>(model: &'m makemore_runtime::Model<'a>) -> Result<Net<'m, 'a>, makemore_runtime::Error> {{\n\
         \x20   model.{method}(){convert}\n\
         }}\n\
         /// Its parameters (weights and biases).\n\
         pub const N_PARAMS: usize = {params};\n\
         /// Bytes of RAM it needs besides the stack: the scratch.\n\
         pub const RAM_BYTES: usize = {ram};\n",
        path = path.display().to_string(),
        words = model.scratch_words(),
        name = name_capacity(MAX_LEN, h.vocab.widest_symbol()),
        integer = h.quant == Quant::Int8,
        params = model.n_params(),
        ram = model.ram_bytes(),
    );
    src.push_str(&map_source(map));
    src
}

/// The model's map as Rust source: `pub const MAP`. The model card stays in the embedded
/// bytes but not in the map: the device never shows it.
fn map_source(m: &ModelMap) -> String {
    let h = &m.header;
    let linear: Vec<String> = m.linear.iter().map(|l| std::format!("{l:?}")).collect();
    let layers: Vec<String> = h
        .layers
        .as_slice()
        .iter()
        .map(|l| std::format!("makemore_runtime::LayerShape {{ n_merge: {}, n_out: {} }}", l.n_merge, l.n_out))
        .collect();
    let kind = match h.kind {
        ModelKind::Bigram => "Bigram",
        _ => "Mlp",
    };
    let quant = match h.quant {
        Quant::Int8 => "Int8",
        _ => "F32",
    };
    std::format!(
        "/// Where everything lies in `BYTES` (computed by the build script's full decode).\n\
         pub const MAP: makemore_runtime::ModelMap<'static> = makemore_runtime::ModelMap {{\n\
         \x20   header: makemore_runtime::Header {{\n\
         \x20       kind: makemore_runtime::ModelKind::{kind},\n\
         \x20       vocab: match makemore_runtime::Vocab::new({vocab:?}) {{ Ok(v) => v, Err(_) => panic!(\"bad vocabulary\") }},\n\
         \x20       block_size: {block},\n\
         \x20       n_embd: {embd},\n\
         \x20       layers: match makemore_runtime::LayerShapes::new(&[{layers}]) {{ Some(l) => l, None => panic!(\"too many layers\") }},\n\
         \x20       quant: makemore_runtime::Quant::{quant},\n\
         \x20       card: \"\",\n\
         \x20   }},\n\
         \x20   first: [{first}],\n\
         \x20   linear: [{linear}],\n\
         }};\n",
        vocab = h.vocab.as_str(),
        block = h.block_size,
        embd = h.n_embd,
        layers = layers.join(", "),
        first = m.first.iter().map(|o| o.to_string()).collect::<Vec<_>>().join(", "),
        linear = linear.join(", "),
    )
}
