//! `eager-core`: the pure-Rust core of EAGER (no napi here).
//!
//! Modules hold one concept each; the napi binding in `native/` only converts types and threads.
pub mod error;
pub mod nn;
pub mod optim;
pub mod io;
pub mod kmeans;
mod linalg;
pub mod codes;
pub mod eager;
pub mod rng;
pub mod text;
pub mod sasrec;

pub use error::{EagerError, Result};
