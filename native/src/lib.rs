//! Thin napi binding over `eager-core`: type conversion and threading only.
#![deny(clippy::all)]

mod codes;
mod eager;
mod error;
mod sasrec;
mod text;

use napi_derive::napi;

/// mimalloc instead of glibc malloc for everything the core allocates. Tensor code frees and
/// re-allocates megabyte buffers on every op, from several rayon threads: glibc returns them
/// to the OS (page faults on every reuse) and fragments per-thread arenas, which made beam
/// search 1.7x slower and let SASRec training grow to several GB of RSS
/// (`benches/serving.md`, `CHANGELOG.md`). Node's own heap is not affected.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Version of the native core, for diagnostics.
#[napi]
pub fn native_version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}
