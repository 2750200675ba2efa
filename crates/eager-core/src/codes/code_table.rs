//! `CodeTable`: one fixed-length code per item (item id → code, code → item), its guarantees,
//! and its JSON file.
//!
//! File format (JSON, written atomically):
//! ```json
//! { "format": "eager-code-table", "version": 1, "k": 128, "length": 2, "numItems": 3,
//!   "itemToCode": [[5, 0], [5, 1], [9, 0]],        // row r = item id r+1
//!   "codeToItem": [[5, 0, 1], [5, 1, 2], [9, 0, 3]] } // code tokens then item id, sorted by code
//! ```
//! Loading checks that both maps agree and that the guarantees hold.
use std::collections::HashSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{EagerError, Result};
use crate::io::atomic::write_atomic;

const FORMAT: &str = "eager-code-table";
const VERSION: u32 = 1;

/// Codes of all items: K (token vocabulary), L (code length, the same for every item) and the
/// flat `[num_items, L]` code matrix, row r = item id r+1. Shorter tree paths are right-padded
/// with token 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeTable {
    /// Token vocabulary size: every token is `< k`.
    pub k: u32,
    /// Code length L.
    pub length: usize,
    /// `[num_items, length]`, row-major.
    pub codes: Vec<u32>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CodeTableFile {
    format: String,
    version: u32,
    k: u32,
    length: usize,
    num_items: usize,
    item_to_code: Vec<Vec<u32>>,
    code_to_item: Vec<Vec<u32>>,
}

impl CodeTable {
    /// Wraps a flat code matrix after checking its shape and every guarantee
    /// (see [`CodeTable::validate`]).
    pub fn new(k: u32, length: usize, codes: Vec<u32>) -> Result<Self> {
        let t = CodeTable { k, length, codes };
        t.validate()?;
        Ok(t)
    }

    /// Number of items (rows).
    pub fn num_items(&self) -> usize {
        if self.length == 0 {
            0
        } else {
            self.codes.len() / self.length
        }
    }

    /// Code of item `item_id` (1-based); `None` when out of range.
    pub fn code(&self, item_id: u32) -> Option<&[u32]> {
        let r = (item_id as usize).checked_sub(1)?;
        self.codes.get(r * self.length..(r + 1) * self.length)
    }

    /// Checks the guarantees: K ≥ 2, L ≥ 1, at least one item, shape `[n, L]`, every token
    /// `< K`, and no two items share a code (so every item has exactly one, distinct code).
    pub fn validate(&self) -> Result<()> {
        if self.k < 2 {
            return Err(EagerError::invalid(format!("code table: k must be >= 2, got {}", self.k)));
        }
        if self.length == 0 {
            return Err(EagerError::invalid("code table: length must be >= 1"));
        }
        if self.codes.is_empty() || self.codes.len() % self.length != 0 {
            return Err(EagerError::invalid(format!(
                "code table: {} tokens is not a non-empty multiple of length {}",
                self.codes.len(),
                self.length
            )));
        }
        if let Some(pos) = self.codes.iter().position(|&t| t >= self.k) {
            return Err(EagerError::invalid(format!(
                "code table: item {} has token {} >= k = {}",
                pos / self.length + 1,
                self.codes[pos],
                self.k
            )));
        }
        let mut seen: HashSet<&[u32]> = HashSet::with_capacity(self.num_items());
        for (r, code) in self.codes.chunks(self.length).enumerate() {
            if !seen.insert(code) {
                let other = self.codes.chunks(self.length).position(|c| c == code).map_or(0, |p| p + 1);
                return Err(EagerError::invalid(format!(
                    "code table: items {other} and {} share the code {code:?}",
                    r + 1
                )));
            }
        }
        Ok(())
    }

    /// (code, item id) pairs sorted by code: the code → item map.
    pub fn code_to_item(&self) -> Vec<(&[u32], u32)> {
        let mut pairs: Vec<(&[u32], u32)> =
            self.codes.chunks(self.length).enumerate().map(|(r, c)| (c, r as u32 + 1)).collect();
        pairs.sort();
        pairs
    }

    /// Serialises to the JSON format described in the module docs.
    pub fn to_json(&self) -> Result<String> {
        let file = CodeTableFile {
            format: FORMAT.into(),
            version: VERSION,
            k: self.k,
            length: self.length,
            num_items: self.num_items(),
            item_to_code: self.codes.chunks(self.length).map(<[u32]>::to_vec).collect(),
            code_to_item: self
                .code_to_item()
                .into_iter()
                .map(|(c, item)| c.iter().copied().chain([item]).collect())
                .collect(),
        };
        Ok(serde_json::to_string(&file)?)
    }

    /// Parses the JSON format; `path` names the source in errors.
    pub fn from_json(text: &str, path: &str) -> Result<Self> {
        let bad = |msg: String| EagerError::BadFile { path: path.to_string(), msg };
        let file: CodeTableFile = serde_json::from_str(text).map_err(|e| bad(format!("not a code table JSON: {e}")))?;
        if file.format != FORMAT || file.version != VERSION {
            return Err(bad(format!(
                "format {:?} version {} (expected {FORMAT:?} version {VERSION})",
                file.format, file.version
            )));
        }
        if file.item_to_code.len() != file.num_items {
            return Err(bad(format!(
                "numItems is {} but itemToCode has {} rows",
                file.num_items,
                file.item_to_code.len()
            )));
        }
        let mut codes = Vec::with_capacity(file.num_items * file.length);
        for (r, row) in file.item_to_code.iter().enumerate() {
            if row.len() != file.length {
                return Err(bad(format!(
                    "itemToCode row for item {} has {} tokens, length is {}",
                    r + 1,
                    row.len(),
                    file.length
                )));
            }
            codes.extend_from_slice(row);
        }
        let table = CodeTable { k: file.k, length: file.length, codes };
        table.validate().map_err(|e| bad(e.to_string()))?;
        if file.code_to_item.len() != file.num_items {
            return Err(bad(format!(
                "codeToItem has {} entries, expected {}",
                file.code_to_item.len(),
                file.num_items
            )));
        }
        for entry in &file.code_to_item {
            let ok = entry.len() == file.length + 1
                && entry[file.length] >= 1
                && table.code(entry[file.length]) == Some(&entry[..file.length]);
            if !ok {
                return Err(bad(format!("codeToItem entry {entry:?} disagrees with itemToCode")));
            }
        }
        Ok(table)
    }

    /// Writes the JSON file atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        write_atomic(path, self.to_json()?.as_bytes())
    }

    /// Reads and checks a JSON code table file.
    pub fn load(path: &Path) -> Result<Self> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| EagerError::io(shown.clone(), e))?;
        Self::from_json(&text, &shown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guarantees_are_checked() {
        assert!(CodeTable::new(4, 2, vec![0, 1, 0, 2, 3, 0]).is_ok());
        let dup = CodeTable::new(4, 2, vec![0, 1, 3, 3, 0, 1]).unwrap_err();
        assert!(dup.to_string().contains("items 1 and 3"), "{dup}");
        let big = CodeTable::new(4, 2, vec![0, 1, 0, 4]).unwrap_err();
        assert!(big.to_string().contains("item 2"), "{big}");
        assert!(CodeTable::new(1, 1, vec![0]).is_err());
        assert!(CodeTable::new(4, 2, vec![0, 1, 2]).is_err());
        assert!(CodeTable::new(4, 0, vec![]).is_err());
    }

    #[test]
    fn json_round_trip_and_lookup() {
        let t = CodeTable::new(10, 2, vec![9, 0, 5, 1, 5, 0]).unwrap();
        assert_eq!(t.code(2), Some(&[5u32, 1][..]));
        assert_eq!(t.code(0), None);
        assert_eq!(t.code(4), None);
        let json = t.to_json().unwrap();
        assert!(json.contains("\"codeToItem\":[[5,0,3],[5,1,2],[9,0,1]]"), "{json}");
        assert_eq!(CodeTable::from_json(&json, "mem").unwrap(), t);
        let tampered = json.replace("[5,0,3]", "[5,0,2]");
        assert_eq!(CodeTable::from_json(&tampered, "t.json").unwrap_err().code(), "EAGER_BAD_FILE");
    }

    #[test]
    fn save_load_file() {
        let dir = std::env::temp_dir().join(format!("eager-codetable-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("codes.json");
        let t = CodeTable::new(3, 1, vec![2, 0, 1]).unwrap();
        t.save(&p).unwrap();
        assert_eq!(CodeTable::load(&p).unwrap(), t);
        std::fs::write(&p, "{}").unwrap();
        let e = CodeTable::load(&p).unwrap_err();
        assert!(e.to_string().contains("codes.json"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
