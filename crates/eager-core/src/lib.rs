//! `eager-core`: the pure-Rust core of EAGER (no napi here).
pub mod error;
pub mod rng;

pub use error::{EagerError, Result};
