//! The trainer as a library: every command is a function of [`commands`] returning a typed
//! report; the `trainer` binary (`main.rs`) only parses the command line and dispatches. The
//! benchmarks and tests call these modules directly.

pub mod backend;
pub mod calibrate;
pub mod checkpoint;
pub mod commands;
pub mod config;
pub mod data;
pub mod export;
pub mod model;
pub mod optim;
pub mod plot;
pub mod run_dir;
pub mod training;
