//! The trainer as a library: the `trainer` binary (`main.rs`) is its command line, and the
//! benchmarks and tests call these modules directly.

pub mod backend;
pub mod checkpoint;
pub mod config;
pub mod data;
pub mod export;
pub mod model;
pub mod plot;
pub mod training;
