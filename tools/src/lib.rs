//! Helpers nobody depends on at run time. [`fixtures`] regenerates `tests/fixtures/`: a tiny
//! MLP trained deterministically from `data/names.txt`, exported in f32 and int8, and the
//! first 20 names the runtime generates from each for a few (seed, temperature, top-k).

pub mod fixtures;
