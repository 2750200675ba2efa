//! Precomputed embedding matrices from `.npy` or `.safetensors` files (one row per item id).
use std::path::Path;

use safetensors::{Dtype, SafeTensors};

use crate::error::{EagerError, Result};
use crate::io::npy::{read_npy_f32, NpyMatrix};

/// Reads a 2-D float matrix, row-major f32 `[rows, cols]`.
///
/// - `.npy`: float32 or float64, 1-D (read as `[n, 1]`) or 2-D.
/// - `.safetensors`: the tensor called `name`, or, when `name` is `None`, the only tensor of the
///   file (or the one named `embeddings` when there are several); F32, F64, F16 or BF16, 2-D.
pub fn load_embedding_matrix(path: &Path, name: Option<&str>) -> Result<NpyMatrix> {
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("npy") => {
            if let Some(n) = name {
                return Err(EagerError::invalid(format!(
                    "tensor name {n:?} given, but {} is a .npy file (it holds one array)",
                    path.display()
                )));
            }
            read_npy_f32(path)
        }
        Some("safetensors") => read_safetensors_matrix(path, name),
        _ => Err(EagerError::BadFile {
            path: path.display().to_string(),
            msg: "embedding file must end in .npy or .safetensors".into(),
        }),
    }
}

fn read_safetensors_matrix(path: &Path, name: Option<&str>) -> Result<NpyMatrix> {
    let shown = path.display().to_string();
    let bad = |msg: String| EagerError::BadFile { path: shown.clone(), msg };
    let bytes = std::fs::read(path).map_err(|e| EagerError::io(&shown, e))?;
    let st = SafeTensors::deserialize(&bytes).map_err(|e| bad(format!("not a safetensors file: {e}")))?;
    let mut names = st.names();
    names.sort_unstable();
    let chosen = match name {
        Some(n) => n,
        None if names.len() == 1 => names[0],
        None if names.contains(&"embeddings") => "embeddings",
        None => {
            return Err(bad(format!("file holds {} tensors ({}); name the one to use", names.len(), names.join(", "))))
        }
    };
    let view = st.tensor(chosen).map_err(|_| bad(format!("no tensor named {chosen:?} (has: {})", names.join(", "))))?;
    let (rows, cols) = match view.shape() {
        [r, c] => (*r, *c),
        s => return Err(bad(format!("tensor {chosen:?} has shape {s:?}, expected 2-D [items, dim]"))),
    };
    let raw = view.data();
    let data: Vec<f32> = match view.dtype() {
        Dtype::F32 => raw.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
        Dtype::F64 => raw
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f32)
            .collect(),
        Dtype::F16 => raw.chunks_exact(2).map(|c| f16_to_f32(u16::from_le_bytes([c[0], c[1]]))).collect(),
        Dtype::BF16 => {
            raw.chunks_exact(2).map(|c| f32::from_bits((u16::from_le_bytes([c[0], c[1]]) as u32) << 16)).collect()
        }
        d => return Err(bad(format!("tensor {chosen:?} has dtype {d:?}, expected a float type"))),
    };
    if data.len() != rows * cols {
        return Err(bad(format!("tensor {chosen:?} data does not match its shape [{rows}, {cols}]")));
    }
    Ok(NpyMatrix { rows, cols, data })
}

fn f16_to_f32(h: u16) -> f32 {
    let sign = if h & 0x8000 != 0 { -1.0f32 } else { 1.0 };
    let exp = ((h >> 10) & 0x1f) as i32;
    let frac = (h & 0x3ff) as f32;
    match exp {
        0 => sign * frac * 2f32.powi(-24),
        31 if frac == 0.0 => sign * f32::INFINITY,
        31 => f32::NAN,
        e => sign * (1.0 + frac / 1024.0) * 2f32.powi(e - 15),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn tmp(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("eager-embfile-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d.join(name)
    }

    #[test]
    fn reads_safetensors_by_name_and_alone() {
        let a: Vec<u8> = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0].iter().flat_map(|v| v.to_le_bytes()).collect();
        let b: Vec<u8> = [0.5f64, -1.0].iter().flat_map(|v| v.to_le_bytes()).collect();
        let va = safetensors::tensor::TensorView::new(Dtype::F32, vec![3, 2], &a).unwrap();
        let vb = safetensors::tensor::TensorView::new(Dtype::F64, vec![2, 1], &b).unwrap();
        let one = tmp("one.safetensors");
        safetensors::serialize_to_file([("x", va.clone())], None, &one).unwrap();
        let m = load_embedding_matrix(&one, None).unwrap();
        assert_eq!((m.rows, m.cols, m.data[5]), (3, 2, 6.0));
        let two = tmp("two.safetensors");
        let map: HashMap<&str, _> = [("x", va), ("y", vb)].into_iter().collect();
        safetensors::serialize_to_file(map, None, &two).unwrap();
        let err = load_embedding_matrix(&two, None).unwrap_err().to_string();
        assert!(err.contains("x, y"), "{err}");
        let y = load_embedding_matrix(&two, Some("y")).unwrap();
        assert_eq!((y.rows, y.cols, y.data.clone()), (2, 1, vec![0.5, -1.0]));
        assert!(load_embedding_matrix(&tmp("m.txt"), None).is_err());
    }

    #[test]
    fn half_precision_decodes() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x3555), 0.333_251_95);
    }
}
