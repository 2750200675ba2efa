//! Lookup table of learned vectors.
use candle_core::{Tensor, Var};

use crate::error::{EagerError, Result};
use crate::nn::init::{join, ParamStore};
use crate::rng::SeededRng;

/// `<prefix>.weight` `[num, dim]`; row `i` is the vector of id `i`.
#[derive(Debug, Clone)]
pub struct Embedding {
    weight: Var, // [num, dim]
    num: usize,
    dim: usize,
}

impl Embedding {
    /// Rows ~ N(0, std²).
    pub fn new(
        store: &mut ParamStore,
        prefix: &str,
        num: usize,
        dim: usize,
        std: f32,
        rng: &mut SeededRng,
    ) -> Result<Self> {
        if num == 0 || dim == 0 {
            return Err(EagerError::invalid(format!("embedding `{prefix}` needs num > 0 and dim > 0")));
        }
        let weight = store.normal(&join(prefix, "weight"), (num, dim), std, rng)?;
        Ok(Embedding { weight, num, dim })
    }

    /// Number of rows.
    pub fn num(&self) -> usize {
        self.num
    }

    /// Vector width.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The table `[num, dim]` (a trainable tensor: use it directly for tied output layers).
    pub fn weight(&self) -> &Tensor {
        self.weight.as_tensor()
    }

    /// `ids`: u32 tensor of any shape `[...]` → `[..., dim]`. Ids must be `< num` (candle checks).
    pub fn forward(&self, ids: &Tensor) -> Result<Tensor> {
        let mut dims = ids.dims().to_vec();
        let flat = ids.flatten_all()?; // [N]
        let rows = self.weight.as_tensor().index_select(&flat, 0)?; // [N, dim]
        dims.push(self.dim);
        Ok(rows.reshape(dims)?)
    }
}
