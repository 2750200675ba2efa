//! Minimal `.npy` reader/writer for 2-D float matrices (embedding files).
//!
//! Reads format versions 1.0, 2.0 and 3.0, dtypes `<f4`, `>f4`, `<f8`, `>f8` (f8 is narrowed
//! to f32), C or Fortran order; a 1-D array reads as `[n, 1]`. Writes version 1.0, `<f4`,
//! C order. Spec: <https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html>.
use std::path::Path;

use crate::error::{EagerError, Result};
use crate::io::atomic::write_atomic;

const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// A row-major f32 matrix read from or written to a `.npy` file.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyMatrix {
    /// Number of rows (items).
    pub rows: usize,
    /// Number of columns (embedding dimension).
    pub cols: usize,
    /// Row-major data, `[rows, cols]`.
    pub data: Vec<f32>,
}

/// Reads a `.npy` file as an f32 matrix.
pub fn read_npy_f32(path: &Path) -> Result<NpyMatrix> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| EagerError::io(shown.clone(), e))?;
    parse_npy_f32(&bytes, &shown)
}

/// Parses `.npy` bytes; `path` only names the source in errors.
pub fn parse_npy_f32(bytes: &[u8], path: &str) -> Result<NpyMatrix> {
    let bad = |msg: String| EagerError::BadFile { path: path.to_string(), msg };
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err(bad("not a .npy file (missing \\x93NUMPY magic)".into()));
    }
    let major = bytes[6];
    let (header_len, header_start) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 => {
            if bytes.len() < 12 {
                return Err(bad("truncated .npy header".into()));
            }
            (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12)
        }
        v => return Err(bad(format!("unsupported .npy format version {v}"))),
    };
    let data_start = header_start + header_len;
    if bytes.len() < data_start {
        return Err(bad("truncated .npy header".into()));
    }
    let header =
        std::str::from_utf8(&bytes[header_start..data_start]).map_err(|_| bad("header is not UTF-8".into()))?;
    let descr = dict_value(header, "descr").ok_or_else(|| bad("header has no 'descr'".into()))?;
    let descr = descr.trim().trim_matches(|c| c == '\'' || c == '"');
    let fortran = dict_value(header, "fortran_order")
        .ok_or_else(|| bad("header has no 'fortran_order'".into()))?
        .trim()
        .starts_with("True");
    let shape_txt = dict_value(header, "shape").ok_or_else(|| bad("header has no 'shape'".into()))?;
    let shape = parse_shape(shape_txt).ok_or_else(|| bad(format!("bad shape {shape_txt}")))?;
    let (rows, cols) = match shape.as_slice() {
        [n] => (*n, 1),
        [n, d] => (*n, *d),
        s => return Err(bad(format!("expected a 1-D or 2-D array, got shape {s:?}"))),
    };
    let (width, big_endian) = match descr {
        "<f4" => (4, false),
        ">f4" => (4, true),
        "<f8" => (8, false),
        ">f8" => (8, true),
        d => return Err(bad(format!("unsupported dtype '{d}' (need float32 or float64)"))),
    };
    let count = rows.checked_mul(cols).ok_or_else(|| bad("shape overflows".into()))?;
    let payload = &bytes[data_start..];
    if payload.len() != count * width {
        return Err(bad(format!(
            "data has {} bytes, shape {rows}x{cols} of {descr} needs {}",
            payload.len(),
            count * width
        )));
    }
    let mut data: Vec<f32> = if width == 4 {
        payload
            .chunks_exact(4)
            .map(|c| {
                let b = [c[0], c[1], c[2], c[3]];
                if big_endian {
                    f32::from_be_bytes(b)
                } else {
                    f32::from_le_bytes(b)
                }
            })
            .collect()
    } else {
        payload
            .chunks_exact(8)
            .map(|c| {
                let b = [c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]];
                (if big_endian { f64::from_be_bytes(b) } else { f64::from_le_bytes(b) }) as f32
            })
            .collect()
    };
    if fortran && rows > 1 && cols > 1 {
        // column-major [cols][rows] -> row-major [rows][cols]
        let mut t = vec![0f32; count];
        for c in 0..cols {
            for r in 0..rows {
                t[r * cols + c] = data[c * rows + r];
            }
        }
        data = t;
    }
    Ok(NpyMatrix { rows, cols, data })
}

/// Writes a row-major `[rows, cols]` f32 matrix as `.npy` (v1.0, `<f4`), atomically.
pub fn write_npy_f32(path: &Path, rows: usize, cols: usize, data: &[f32]) -> Result<()> {
    if rows.checked_mul(cols) != Some(data.len()) {
        return Err(EagerError::invalid(format!("write_npy_f32: data has {} values, shape {rows}x{cols}", data.len())));
    }
    write_atomic(path, &encode_npy_f32(rows, cols, data))
}

/// Encodes a row-major `[rows, cols]` f32 matrix as `.npy` bytes.
pub fn encode_npy_f32(rows: usize, cols: usize, data: &[f32]) -> Vec<u8> {
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    // magic(6) + version(2) + len(2) + header + '\n' must be a multiple of 64
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + data.len() * 4);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in data {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// Text after `'key':` up to the next top-level comma or closing brace.
fn dict_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let pat_single = format!("'{key}'");
    let pat_double = format!("\"{key}\"");
    let pos = header.find(&pat_single).or_else(|| header.find(&pat_double))?;
    let rest = &header[pos + key.len() + 2..];
    let rest = rest.trim_start().strip_prefix(':')?;
    let mut depth = 0i32;
    for (i, ch) in rest.char_indices() {
        match ch {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' | '}' if depth == 0 => return Some(&rest[..i]),
            _ => {}
        }
    }
    Some(rest)
}

fn parse_shape(txt: &str) -> Option<Vec<usize>> {
    let inner = txt.trim().strip_prefix('(')?.strip_suffix(')')?;
    inner.split(',').map(str::trim).filter(|s| !s.is_empty()).map(|s| s.parse::<usize>().ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let data: Vec<f32> = (0..12).map(|i| i as f32 * 0.5 - 1.0).collect();
        let bytes = encode_npy_f32(3, 4, &data);
        assert_eq!(bytes.len() % 16, 0);
        let m = parse_npy_f32(&bytes, "mem").unwrap();
        assert_eq!((m.rows, m.cols), (3, 4));
        assert_eq!(m.data, data);
    }

    #[test]
    fn reads_numpy_written_f8_fortran() {
        // python3 -c "import numpy as np; np.save('/tmp/a.npy', np.asfortranarray(
        //     np.array([[1.,2.,3.],[4.,5.,6.]])))"  -> header below, data column-major f8
        let header = "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }";
        let mut bytes = Vec::new();
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&[1, 0]);
        bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
        bytes.extend_from_slice(header.as_bytes());
        for v in [1.0f64, 4.0, 2.0, 5.0, 3.0, 6.0] {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        let m = parse_npy_f32(&bytes, "mem").unwrap();
        assert_eq!((m.rows, m.cols), (2, 3));
        assert_eq!(m.data, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(parse_npy_f32(b"hello world", "x.npy").unwrap_err().code(), "EAGER_BAD_FILE");
        let mut bytes = encode_npy_f32(2, 2, &[1.0, 2.0, 3.0, 4.0]);
        bytes.pop();
        let e = parse_npy_f32(&bytes, "x.npy").unwrap_err();
        assert!(e.to_string().contains("x.npy"), "{e}");
        assert!(write_npy_f32(Path::new("/tmp/never.npy"), 2, 2, &[1.0]).is_err());
    }
}
