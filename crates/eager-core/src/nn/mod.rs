//! Shared trainable building blocks (forward on candle, backward through candle's autograd).
//!
//! Every block registers its parameters in a [`ParamStore`] under a hierarchical name and draws
//! initial values from [`crate::rng::SeededRng`]; every op used has a backward pass (see
//! `tests.rs`: each variable of a transformer layer gets a finite, non-zero gradient).
//!
//! | block | constructor | forward |
//! |---|---|---|
//! | [`ParamStore`] | `ParamStore::new(device)`; `normal/uniform/zeros/ones/add(name, ..)` | `save_safetensors`, `load_safetensors`, `vars()` |
//! | [`Linear`] | `Linear::new(store, prefix, in, out, bias, std, rng)` | `forward(x [.., in]) -> [.., out]` |
//! | [`Embedding`] | `Embedding::new(store, prefix, num, dim, std, rng)` | `forward(ids u32 [..]) -> [.., dim]`; `weight()` |
//! | [`LayerNorm`] | `LayerNorm::new(store, prefix, dim, eps)` | `forward(x [.., dim])` |
//! | [`Dropout`] | `Dropout::new(p)` | `forward(x, train, rng)` |
//! | [`MultiHeadAttention`] | `MultiHeadAttention::new(store, prefix, dim, heads, attn_dropout, std, rng)` | `forward(x [B,T,d], memory: Option<[B,S,d]>, mask, train, rng) -> [B,T,d]` |
//! | [`FeedForward`] | `FeedForward::new(store, prefix, dim, ffn, Activation, dropout, std, rng)` | `forward(x, train, rng)` |
//! | [`TransformerLayer`] | `TransformerLayer::new(store, prefix, &TransformerLayerConfig, rng)` | `forward(x [B,T,d], self_mask, cross: Option<(&mem [B,S,d], Option<&mask>)>, train, rng)` |
//! | [`masks`] | `causal_mask(t, dev) [1,1,T,T]`, `key_padding_mask(valid, b, s, dev) [B,1,1,S]`, `key_padding_mask_from_ids`, `combine` | additive, `MASKED = -1e9` |
//! | [`loss`] | `cross_entropy(logits [N,C], targets u32 [N])` | mean over rows |
//! | [`linear_cross_entropy`] | `linear_cross_entropy(h [N,d], weight [C,d], targets &[u32])` | mean CE of `h Wᵀ`, logits never materialised |
//!
//! Masks are additive f32 tensors broadcastable to the scores `[B, heads, T, S]`.
//! Optimisers and schedules live in [`crate::optim`].
pub mod attention;
pub mod dropout;
pub mod embedding;
pub mod feed_forward;
pub mod init;
pub mod layer_norm;
pub mod linear;
pub mod linear_cross_entropy;
pub mod loss;
pub mod masks;
pub mod transformer_layer;

#[cfg(test)]
mod tests;

pub use attention::MultiHeadAttention;
pub use dropout::Dropout;
pub use embedding::Embedding;
pub use feed_forward::{Activation, FeedForward};
pub use init::{join, save_tensors_atomic, ParamStore};
pub use layer_norm::{layer_norm, LayerNorm};
pub use linear::{linear_forward, Linear};
pub use linear_cross_entropy::linear_cross_entropy;
pub use transformer_layer::{TransformerLayer, TransformerLayerConfig};
