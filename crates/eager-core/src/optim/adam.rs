//! Adam / AdamW.
use std::collections::HashMap;
use std::path::Path;

use candle_core::backprop::GradStore;
use candle_core::{DType, Tensor};

use crate::error::{EagerError, Result};
use crate::nn::init::{save_tensors_atomic, ParamStore};

/// Hyper-parameters of [`Adam`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamConfig {
    /// Learning rate (schedules change it with [`Adam::set_lr`]).
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    /// Weight decay; 0 disables it.
    pub weight_decay: f64,
    /// `true`: AdamW, decoupled decay `p -= lr·wd·p`. `false`: PyTorch `Adam(weight_decay=..)`,
    /// L2 term `wd·p` added to the gradient before the moments.
    pub decoupled: bool,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0, decoupled: true }
    }
}

/// Adam with bias correction (PyTorch semantics: `p -= lr · m̂ / (sqrt(v̂) + eps)`).
///
/// State (first/second moments per variable, step count) can be saved and loaded for resuming.
/// Variables without a gradient in a step are left untouched (their moments do not decay).
#[derive(Debug)]
pub struct Adam {
    cfg: AdamConfig,
    step: u64,
    m: Vec<Option<Tensor>>,
    v: Vec<Option<Tensor>>,
}

impl Adam {
    /// An optimiser for every variable of `store` (the store must not grow afterwards).
    pub fn new(store: &ParamStore, cfg: AdamConfig) -> Result<Self> {
        if !(0.0..1.0).contains(&cfg.beta1) || !(0.0..1.0).contains(&cfg.beta2) || cfg.eps <= 0.0 || cfg.lr < 0.0 {
            return Err(EagerError::invalid(format!("adam: invalid hyper-parameters {cfg:?}")));
        }
        Ok(Adam { cfg, step: 0, m: vec![None; store.len()], v: vec![None; store.len()] })
    }

    /// Steps taken so far.
    pub fn step_count(&self) -> u64 {
        self.step
    }

    /// Current learning rate.
    pub fn lr(&self) -> f64 {
        self.cfg.lr
    }

    /// Changes the learning rate (for schedules).
    pub fn set_lr(&mut self, lr: f64) {
        self.cfg.lr = lr;
    }

    /// The configuration.
    pub fn config(&self) -> &AdamConfig {
        &self.cfg
    }

    /// One update of every variable that has a gradient in `grads`.
    pub fn step(&mut self, store: &ParamStore, grads: &GradStore) -> Result<()> {
        if store.len() != self.m.len() {
            return Err(EagerError::invalid(format!(
                "adam: built for {} variables, store has {}",
                self.m.len(),
                store.len()
            )));
        }
        self.step += 1;
        let c = self.cfg;
        let t = self.step as i32;
        let bc1 = 1.0 - c.beta1.powi(t);
        let bc2 = 1.0 - c.beta2.powi(t);
        for (i, var) in store.vars().iter().enumerate() {
            let Some(g) = grads.get(var.as_tensor()) else { continue };
            let p = var.as_tensor();
            let g = if c.weight_decay > 0.0 && !c.decoupled { (g + (p * c.weight_decay)?)? } else { g.clone() };
            let m = match &self.m[i] {
                Some(m) => ((m * c.beta1)? + (&g * (1.0 - c.beta1))?)?,
                None => (&g * (1.0 - c.beta1))?,
            };
            let v = match &self.v[i] {
                Some(v) => ((v * c.beta2)? + (g.sqr()? * (1.0 - c.beta2))?)?,
                None => (g.sqr()? * (1.0 - c.beta2))?,
            };
            // update = lr/bc1 · m / (sqrt(v/bc2) + eps)
            let denom = ((&v * (1.0 / bc2))?.sqrt()? + c.eps)?;
            let update = ((&m / &denom)? * (c.lr / bc1))?;
            let mut next = (p - update)?;
            if c.weight_decay > 0.0 && c.decoupled {
                next = (next - (p * (c.lr * c.weight_decay))?)?;
            }
            var.set(&next.detach())?;
            self.m[i] = Some(m.detach());
            self.v[i] = Some(v.detach());
        }
        Ok(())
    }

    /// State as tensors: `adam.m.<name>`, `adam.v.<name>` and `adam.step` (i64 `[1]`).
    pub fn state_tensors(&self, store: &ParamStore) -> Result<HashMap<String, Tensor>> {
        let mut out = HashMap::new();
        for (i, name) in store.names().iter().enumerate() {
            if let (Some(m), Some(v)) = (&self.m[i], &self.v[i]) {
                out.insert(format!("adam.m.{name}"), m.clone());
                out.insert(format!("adam.v.{name}"), v.clone());
            }
        }
        out.insert("adam.step".into(), Tensor::new(&[self.step as i64], store.device())?);
        Ok(out)
    }

    /// Restores state produced by [`Adam::state_tensors`] for the same store layout.
    pub fn load_state_tensors(&mut self, store: &ParamStore, map: &HashMap<String, Tensor>) -> Result<()> {
        let step = map.get("adam.step").ok_or_else(|| EagerError::invalid("adam state: missing `adam.step`"))?;
        let step: Vec<i64> = step.to_dtype(DType::I64)?.flatten_all()?.to_vec1()?;
        let step = *step.first().ok_or_else(|| EagerError::invalid("adam state: empty `adam.step`"))?;
        let mut m = vec![None; store.len()];
        let mut v = vec![None; store.len()];
        for (i, (name, var)) in store.iter().enumerate() {
            for (slot, key) in [(&mut m[i], format!("adam.m.{name}")), (&mut v[i], format!("adam.v.{name}"))] {
                if let Some(t) = map.get(&key) {
                    if t.dims() != var.dims() {
                        return Err(EagerError::invalid(format!(
                            "adam state: `{key}` has shape {:?}, expected {:?}",
                            t.dims(),
                            var.dims()
                        )));
                    }
                    *slot = Some(t.to_dtype(DType::F32)?.to_device(store.device())?);
                }
            }
        }
        self.step = step.max(0) as u64;
        self.m = m;
        self.v = v;
        Ok(())
    }

    /// Writes the state to a safetensors file (atomic).
    pub fn save(&self, store: &ParamStore, path: &Path) -> Result<()> {
        save_tensors_atomic(&self.state_tensors(store)?, path)
    }

    /// Reads the state from a file written by [`Adam::save`].
    pub fn load(&mut self, store: &ParamStore, path: &Path) -> Result<()> {
        let p = path.display().to_string();
        let map = candle_core::safetensors::load(path, store.device())
            .map_err(|e| EagerError::BadFile { path: p.clone(), msg: e.to_string() })?;
        self.load_state_tensors(store, &map).map_err(|e| match e {
            EagerError::InvalidArgument(msg) => EagerError::BadFile { path: p, msg },
            other => other,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    // Reference (PyTorch 1.13, float64):
    // ```python
    // import torch
    // for name, opt_cls in [('adamw', torch.optim.AdamW), ('adam_l2', torch.optim.Adam)]:
    //     p = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64, requires_grad=True)
    //     opt = opt_cls([p], lr=0.1, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
    //     for g in ([0.5, -3.0, 0.1], [0.2, 1.0, -0.4]):
    //         p.grad = torch.tensor(g, dtype=torch.float64); opt.step()
    //     print(name, p.detach().tolist())
    // ```
    const REF_ADAMW: [f64; 3] = [0.8082434839009282, -1.8560801433165766, 0.4550508574751284];
    const REF_ADAM_L2: [f64; 3] = [0.8097733282941708, -1.859275160357722, 0.45476529206769234];

    fn two_steps(decoupled: bool) -> Result<(Vec<f32>, ParamStore, Adam)> {
        let mut store = ParamStore::new(Device::Cpu);
        let p = store.add("p", Tensor::new(&[1.0f32, -2.0, 0.5], &Device::Cpu)?)?;
        let cfg = AdamConfig { lr: 0.1, weight_decay: 0.01, decoupled, ..AdamConfig::default() };
        let mut adam = Adam::new(&store, cfg)?;
        for g in [[0.5f32, -3.0, 0.1], [0.2, 1.0, -0.4]] {
            // loss = sum(p * g) has gradient g.
            let loss = p.as_tensor().mul(&Tensor::new(&g, &Device::Cpu)?)?.sum_all()?;
            adam.step(&store, &loss.backward()?)?;
        }
        Ok((p.as_tensor().to_vec1()?, store, adam))
    }

    #[test]
    fn matches_pytorch_adamw_and_adam() -> Result<()> {
        for (decoupled, want) in [(true, REF_ADAMW), (false, REF_ADAM_L2)] {
            let (got, _, _) = two_steps(decoupled)?;
            for (a, b) in got.iter().zip(want) {
                assert!((*a as f64 - b).abs() < 1e-6, "decoupled={decoupled}: got {got:?}, want {want:?}");
            }
        }
        Ok(())
    }

    #[test]
    fn state_roundtrip() -> Result<()> {
        let (_, store, adam) = two_steps(true)?;
        let mut other = Adam::new(&store, AdamConfig::default())?;
        other.load_state_tensors(&store, &adam.state_tensors(&store)?)?;
        assert_eq!(other.step_count(), 2);
        let m1: Vec<f32> = adam.m[0].as_ref().ok_or(EagerError::invalid("m"))?.to_vec1()?;
        let m2: Vec<f32> = other.m[0].as_ref().ok_or(EagerError::invalid("m"))?.to_vec1()?;
        assert_eq!(m1, m2);
        Ok(())
    }
}
