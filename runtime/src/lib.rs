//! makemore models on a microcontroller: `no_std`, no heap, no `unsafe` outside the inner
//! loops in assembly of [`arch::dsp`] (DSP instructions), [`arch::thumb1`] (Cortex-M0) and
//! [`arch::riscv`] (rv32imc).
//!
//! A model file (written by the trainer) is decoded **in place**: the weights stay in the
//! input bytes, so an `include_bytes!` model is read straight from flash. Decoding checks
//! everything once (magic, version, CRC, every length against the header); after that the
//! forward pass is pure arithmetic on caller-owned scratch memory.
//!
//! An f32 file is the float reference ([`FloatNet`]: libm's tanh and exp); an int8 file is an
//! integer model ([`IntNet`]: int8 weights, fixed-point activations, table tanh, integer
//! softmax and sampling, no floating point at all). [`Model`] runs either.
//!
//! ```
//! use makemore_runtime::{FloatBody, FloatModel, Model, Network, Pcg32, Quant, SampleConfig, ScratchBuf, Temperature};
//!
//! // A tiny bigram over ".ab": after '.', 'a' is likely; after 'a', 'b'; after 'b', the end.
//! let model = FloatModel {
//!     vocab: ".ab".into(),
//!     block_size: 1,
//!     body: FloatBody::Bigram { table: vec![
//!         -9.0, 0.0, -9.0, // after '.'
//!         -9.0, -9.0, 0.0, // after 'a'
//!         0.0, -9.0, -9.0, // after 'b'
//!     ] },
//! };
//! let bytes: Vec<u8> = model.encode(Quant::Int8, "")?.bytes;
//!
//! // On the device this is `include_bytes!("model.bin")`: no copy, no allocation.
//! let model = Model::from_bytes(&bytes)?;
//! let net = model.int()?; // the integer model; `Model` itself runs either kind
//! let mut buf = ScratchBuf::<64>::new(); // net.scratch_words() words at least
//! let mut scratch = buf.scratch(&net)?;
//! let mut rng = Pcg32::from_seed(42);
//! let mut name = heapless::String::<32>::new();
//! let cfg = SampleConfig { temperature: Temperature::ARGMAX, ..SampleConfig::DEFAULT };
//! makemore_runtime::generate(&net, &mut scratch, &mut rng, &cfg, "", &mut name)?;
//! assert_eq!(name, "ab");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! RAM: [`Network::ram_bytes`] (four bytes per scratch word) plus a few hundred bytes of
//! stack; the default integer model (the WaveNet-style hierarchy) needs 2,004 bytes of
//! scratch, 1,204 of them its streaming rings ([`stream`]); the flat MLP 576.
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_code)]
#![deny(missing_docs)]
// No panic is reachable from model bytes: no unwrap, no indexing, no panic in this crate.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic))]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "embed")]
extern crate std;

pub mod arch;
pub mod batch;
#[cfg(feature = "embed")]
pub mod embed;
mod error;
pub mod eval;
pub mod float;
pub mod format;
pub mod generation;
pub mod int;
pub mod int_kernels;
pub mod kernels;
pub mod lanes;
pub mod layout;
pub mod model;
pub mod network;
#[cfg(feature = "alloc")]
mod owned;
pub mod quant;
pub mod rng;
pub mod sampler;
pub mod stream;
pub mod tables;
pub mod tensor;
pub mod vocab;

#[cfg(feature = "defmt")]
mod defmt_impls;

#[cfg(feature = "alloc")]
pub use batch::names;
pub use batch::{batch_scratch_words, generate_batch, BatchScratch, MAX_BATCH};
pub use error::{DecodeError, Error};
pub use eval::{nll, Nll};
pub use float::{FloatNet, FloatSampler};
#[cfg(feature = "alloc")]
pub use format::encode;
pub use format::{
    decode, file_version, from_map, Header, LayerShape, LayerShapes, Linear, ModelKind, ModelMap, Quant, Weights,
    FORMAT_VERSION, MAGIC, MAX_LAYERS, OLDEST_VERSION,
};
pub use generation::{generate, next_distribution, Stop};
pub use int::{IntNet, IntSampler};
pub use model::{Model, ModelSampler, Network, Scratch, ScratchBuf};
#[cfg(feature = "alloc")]
pub use owned::{to_words, EncodeError, Encoded, FloatBody, FloatLinear, FloatModel};
pub use rng::Pcg32;
pub use sampler::{name_capacity, top_k, SampleConfig, Temperature, MAX_LEN};
pub use tensor::{Encoding, F32Le, I32Le, Layout, TensorView};
pub use vocab::{Vocab, BOUNDARY, MAX_VOCAB};

/// Defines `pub mod model`: the model a build script embedded with `embed::embed_model`
/// (feature `embed`, a build-dependency): `model::BYTES` (the file, 4-byte aligned in flash),
/// `model::MAP` (where every tensor lies, for [`Model::from_map`]), `model::Net` and
/// `model::net` (the net type the file holds), `model::SCRATCH_WORDS`, `model::NAME_BYTES`,
/// `model::N_PARAMS`, `model::RAM_BYTES` and `model::INTEGER`.
///
/// ```ignore
/// makemore_runtime::include_model!();
///
/// let model = makemore_runtime::Model::from_map(model::BYTES, &model::MAP)?;
/// let net = model::net(&model)?;
/// let mut buf = makemore_runtime::ScratchBuf::<{ model::SCRATCH_WORDS }>::new();
/// ```
#[macro_export]
macro_rules! include_model {
    () => {
        /// The model the build script embedded (`makemore_runtime::embed::embed_model`): its
        /// bytes, where its tensors lie, its net type and the buffer sizes it needs.
        pub mod model {
            #[allow(unused_imports)]
            use $crate as makemore_runtime;
            include!(concat!(env!("OUT_DIR"), "/makemore_model.rs"));
        }
    };
}
