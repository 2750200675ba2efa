//! `eager-core`: the pure-Rust core of EAGER (no napi here).
//!
//! Modules hold one concept each; the napi binding in `native/` only converts types and threads.
pub mod codes;
pub mod error;
pub mod io;
pub mod kmeans;
pub mod rng;
pub mod text;

pub use error::{EagerError, Result};
