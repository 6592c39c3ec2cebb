//! makemore models on a microcontroller: `no_std`, no heap, no `unsafe`.
//!
//! A model file (written by the trainer) is decoded **in place**: the weights stay in the
//! input bytes, so an `include_bytes!` model is read straight from flash. Decoding checks
//! everything once (magic, version, CRC, every length against the header); after that the
//! forward pass is pure arithmetic on caller-owned scratch memory.
//!
//! ```
//! use runtime::{encode, Header, Model, ModelKind, OwnedMatrix, Pcg32, Quant, SampleConfig, ScratchBuf, Vocab};
//!
//! // A tiny bigram over ".ab": after '.', 'a' is likely; after 'a', 'b'; after 'b', the end.
//! let vocab = Vocab::new(".ab")?;
//! let table = OwnedMatrix::f32(3, 3, &[
//!     -9.0, 0.0, -9.0, // after '.'
//!     -9.0, -9.0, 0.0, // after 'a'
//!     0.0, -9.0, -9.0, // after 'b'
//! ]).unwrap();
//! let header = Header { kind: ModelKind::Bigram, vocab, block_size: 1, n_embd: 0, n_hidden: 0, quant: Quant::F32, card: "" };
//! let bytes: Vec<u8> = encode(&header, &runtime::Weights::Bigram { table: table.view() })?;
//!
//! // On the device this is `include_bytes!("model.bin")`: no copy, no allocation.
//! let model = Model::from_bytes(&bytes)?;
//! let mut buf = ScratchBuf::<64>::new(); // model.scratch_words() f32 words at least
//! let mut scratch = buf.scratch(&model)?;
//! let mut rng = Pcg32::from_seed(42);
//! let mut name = heapless::String::<16>::new();
//! let cfg = SampleConfig { temperature: 0.0, ..SampleConfig::default() };
//! runtime::generate(&model, &mut scratch, &mut rng, &cfg, "", &mut name)?;
//! assert_eq!(name, "ab");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! RAM: [`Model::ram_bytes`] (four bytes per [`scratch_words`]) plus a few hundred bytes of
//! stack; the default MLP needs 1,032 bytes of scratch.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
// No panic is reachable from model bytes: no unwrap, no indexing, no panic in this crate.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic))]

#[cfg(feature = "alloc")]
extern crate alloc;

pub mod batch;
mod error;
pub mod eval;
pub mod format;
pub mod kernels;
pub mod lanes;
pub mod model;
#[cfg(feature = "alloc")]
mod owned;
pub mod quant;
pub mod rng;
pub mod sampler;
pub mod tensor;
pub mod vocab;

#[cfg(feature = "defmt")]
mod defmt_impls;

pub use batch::{batch_scratch_words, generate_batch, BatchScratch, MAX_BATCH};
pub use error::{DecodeError, Error};
pub use eval::{nll, Nll};
#[cfg(feature = "alloc")]
pub use format::encode;
pub use format::{decode, Header, ModelKind, Quant, Tensor, Weights, FORMAT_VERSION, MAGIC};
pub use model::{scratch_words, Model, Scratch, ScratchBuf};
#[cfg(feature = "alloc")]
pub use owned::{to_words, OwnedMatrix};
pub use rng::Pcg32;
pub use sampler::{generate, sample, sample_mult, top_k, SampleConfig, Stop};
pub use tensor::{Encoding, F32Le, Matrix, MatrixData};
pub use vocab::{Vocab, BOUNDARY, MAX_VOCAB};
