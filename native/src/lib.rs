//! Thin napi binding over `eager-core`: type conversion and threading only.
#![deny(clippy::all)]

mod codes;
mod eager;
mod error;
mod sasrec;
mod text;

use napi_derive::napi;

/// Version of the native core, for diagnostics.
#[napi]
pub fn native_version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}
