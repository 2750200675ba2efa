//! File formats and safe writing shared by the whole crate.
pub mod atomic;
pub mod npy;

pub use atomic::write_atomic;
pub use npy::{read_npy_f32, write_npy_f32, NpyMatrix};
