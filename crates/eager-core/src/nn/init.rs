//! Parameter creation and the parameter store.
//!
//! Every trainable tensor of a model is a [`candle_core::Var`] registered in a [`ParamStore`] under a
//! hierarchical, dot-separated name (`encoder.layers.0.attn.q.weight`). Initial values come from the
//! project's [`SeededRng`] (candle's CPU generator cannot be seeded), so the same seed gives the same
//! model. The store is ordered (registration order), which makes optimiser state, checkpoints and
//! gradient norms deterministic.
use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Shape, Tensor, Var};

use crate::error::{EagerError, Result};
use crate::rng::SeededRng;

/// Joins a prefix and a local name with a dot (`join("enc", "q") == "enc.q"`; an empty prefix adds none).
pub fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

/// Ordered name → trainable variable map of one model.
#[derive(Debug, Clone)]
pub struct ParamStore {
    device: Device,
    names: Vec<String>,
    vars: Vec<Var>,
    index: HashMap<String, usize>,
}

impl ParamStore {
    /// An empty store whose variables live on `device`.
    pub fn new(device: Device) -> Self {
        ParamStore { device, names: Vec::new(), vars: Vec::new(), index: HashMap::new() }
    }

    /// The device of every variable.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Registers a variable with the given initial value (converted to f32, moved to the store's device).
    /// Fails if the name is already taken.
    pub fn add(&mut self, name: &str, init: Tensor) -> Result<Var> {
        if self.index.contains_key(name) {
            return Err(EagerError::invalid(format!("parameter `{name}` registered twice")));
        }
        let t = init.to_dtype(DType::F32)?.to_device(&self.device)?.contiguous()?;
        let var = Var::from_tensor(&t)?;
        self.index.insert(name.to_string(), self.vars.len());
        self.names.push(name.to_string());
        self.vars.push(var.clone());
        Ok(var)
    }

    /// A variable drawn from N(0, std²) with the seeded generator.
    pub fn normal(&mut self, name: &str, shape: impl Into<Shape>, std: f32, rng: &mut SeededRng) -> Result<Var> {
        let shape: Shape = shape.into();
        let data: Vec<f32> = (0..shape.elem_count()).map(|_| rng.normal() * std).collect();
        let t = Tensor::from_vec(data, shape, &Device::Cpu)?;
        self.add(name, t)
    }

    /// A variable drawn uniformly from [-bound, bound) with the seeded generator.
    pub fn uniform(&mut self, name: &str, shape: impl Into<Shape>, bound: f32, rng: &mut SeededRng) -> Result<Var> {
        let shape: Shape = shape.into();
        let data: Vec<f32> = (0..shape.elem_count()).map(|_| (rng.next_f32() * 2.0 - 1.0) * bound).collect();
        let t = Tensor::from_vec(data, shape, &Device::Cpu)?;
        self.add(name, t)
    }

    /// A variable filled with zeros.
    pub fn zeros(&mut self, name: &str, shape: impl Into<Shape>) -> Result<Var> {
        let t = Tensor::zeros(shape, DType::F32, &Device::Cpu)?;
        self.add(name, t)
    }

    /// A variable filled with ones.
    pub fn ones(&mut self, name: &str, shape: impl Into<Shape>) -> Result<Var> {
        let t = Tensor::ones(shape, DType::F32, &Device::Cpu)?;
        self.add(name, t)
    }

    /// The variable registered under `name`.
    pub fn get(&self, name: &str) -> Option<&Var> {
        self.index.get(name).map(|&i| &self.vars[i])
    }

    /// Names in registration order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// All trainable variables in registration order.
    pub fn vars(&self) -> &[Var] {
        &self.vars
    }

    /// `(name, var)` pairs in registration order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Var)> {
        self.names.iter().map(|s| s.as_str()).zip(self.vars.iter())
    }

    /// Number of variables.
    pub fn len(&self) -> usize {
        self.vars.len()
    }

    /// True when no variable is registered.
    pub fn is_empty(&self) -> bool {
        self.vars.is_empty()
    }

    /// Total number of scalar parameters.
    pub fn num_parameters(&self) -> usize {
        self.vars.iter().map(|v| v.elem_count()).sum()
    }

    /// Current values as a name → tensor map (cheap: tensors share storage with the variables, so
    /// copy them before the next optimiser step if they must stay fixed).
    pub fn tensors(&self) -> HashMap<String, Tensor> {
        self.iter().map(|(n, v)| (n.to_string(), v.as_tensor().clone())).collect()
    }

    /// Writes all variables to a safetensors file (f32, one tensor per name), atomically.
    pub fn save_safetensors(&self, path: &Path) -> Result<()> {
        save_tensors_atomic(&self.tensors(), path)
    }

    /// Loads every variable from a safetensors file written by [`ParamStore::save_safetensors`].
    /// Every registered name must be present with the same shape; extra tensors in the file are an
    /// error too (they signal a different model configuration).
    pub fn load_safetensors(&self, path: &Path) -> Result<()> {
        let p = path.display().to_string();
        let map = candle_core::safetensors::load(path, &self.device)
            .map_err(|e| EagerError::BadFile { path: p.clone(), msg: e.to_string() })?;
        self.assign(&map).map_err(|e| match e {
            EagerError::InvalidArgument(msg) => EagerError::BadFile { path: p.clone(), msg },
            other => other,
        })
    }

    /// Sets every variable from a name → tensor map (all names required, shapes must match, no extras).
    pub fn assign(&self, map: &HashMap<String, Tensor>) -> Result<()> {
        for name in map.keys() {
            if !self.index.contains_key(name) {
                return Err(EagerError::invalid(format!("unexpected tensor `{name}` (not a parameter of this model)")));
            }
        }
        for (name, var) in self.iter() {
            let t = map.get(name).ok_or_else(|| EagerError::invalid(format!("missing tensor `{name}`")))?;
            if t.dims() != var.dims() {
                return Err(EagerError::invalid(format!(
                    "tensor `{name}` has shape {:?}, the model expects {:?}",
                    t.dims(),
                    var.dims()
                )));
            }
            let t = t.to_dtype(DType::F32)?.to_device(&self.device)?;
            var.set(&t)?;
        }
        Ok(())
    }
}

/// Writes a name → tensor map as safetensors through a temporary file in the same directory + rename.
pub fn save_tensors_atomic(tensors: &HashMap<String, Tensor>, path: &Path) -> Result<()> {
    let p = path.display().to_string();
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let file = path
        .file_name()
        .ok_or_else(|| EagerError::invalid(format!("not a file path: {p}")))?
        .to_string_lossy()
        .to_string();
    let tmp = dir.join(format!(".{file}.tmp-{}", std::process::id()));
    // Contiguous CPU copies: safetensors writes raw bytes.
    let mut cpu: HashMap<String, Tensor> = HashMap::with_capacity(tensors.len());
    for (k, v) in tensors {
        cpu.insert(k.clone(), v.to_device(&Device::Cpu)?.contiguous()?);
    }
    if let Err(e) = candle_core::safetensors::save(&cpu, &tmp) {
        let _ = std::fs::remove_file(&tmp);
        return Err(EagerError::BadFile { path: p, msg: format!("cannot write safetensors: {e}") });
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        EagerError::io(p, e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_init_and_roundtrip() -> Result<()> {
        let mut a = ParamStore::new(Device::Cpu);
        let mut b = ParamStore::new(Device::Cpu);
        a.normal("x.w", (3, 4), 0.02, &mut SeededRng::new(5))?;
        b.normal("x.w", (3, 4), 0.02, &mut SeededRng::new(5))?;
        a.zeros("x.b", 4)?;
        b.ones("x.b", 4)?;
        let wa: Vec<f32> = a.get("x.w").ok_or(EagerError::invalid("w"))?.flatten_all()?.to_vec1()?;
        let wb: Vec<f32> = b.get("x.w").ok_or(EagerError::invalid("w"))?.flatten_all()?.to_vec1()?;
        assert_eq!(wa, wb);
        assert!(a.add("x.b", Tensor::zeros(4, DType::F32, &Device::Cpu)?).is_err());

        let dir = std::env::temp_dir().join(format!("eager-nn-init-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| EagerError::io("tmp", e))?;
        let path = dir.join("p.safetensors");
        b.save_safetensors(&path)?;
        a.load_safetensors(&path)?;
        let ba: Vec<f32> = a.get("x.b").ok_or(EagerError::invalid("b"))?.to_vec1()?;
        assert_eq!(ba, vec![1.0; 4]);
        // A store of a different layout refuses the file.
        let mut c = ParamStore::new(Device::Cpu);
        c.zeros("x.w", (4, 3))?;
        c.zeros("x.b", 4)?;
        assert!(c.load_safetensors(&path).is_err());
        std::fs::remove_dir_all(&dir).map_err(|e| EagerError::io("tmp", e))?;
        Ok(())
    }
}
