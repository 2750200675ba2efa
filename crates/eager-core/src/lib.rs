//! `eager-core`: the pure-Rust core of EAGER (no napi here).
//!
//! Modules hold one concept each; the napi binding in `native/` only converts types and threads.
pub mod codes;
pub mod eager;
pub mod error;
pub mod io;
pub mod kmeans;
mod linalg;
pub mod nn;
pub mod optim;
pub mod rng;
pub mod sasrec;
pub mod text;

pub use error::{EagerError, Result};
