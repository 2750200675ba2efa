//! Fused CPU kernels (candle custom ops with backward passes) for the EAGER model's hot spots:
//! attention, layer norm, the feed-forward block, bias + GELU and dropout. Each has a composed-ops fallback that runs on
//! any device (and serves as the reference in the kernel tests).
pub mod attention;
pub mod bias;
mod cpu;
pub mod dropout;
pub mod ffn;
pub mod gelu;
pub mod layer_norm;

pub use attention::{cross_attention, self_attention, AttentionSpec};
pub use bias::add_bias;
pub use dropout::dropout;
pub use ffn::{feed_forward, feed_forward_eval};
pub use gelu::bias_gelu;
pub use layer_norm::layer_norm;
