//! `CodeTrie`: prefix trie over the (padded, fixed-length) codes of a [`CodeTable`], for
//! constrained decoding: "which tokens may follow this prefix" and "which item has this code".
//!
//! Stored as CSR arrays in breadth-first node order (root = node 0). Node v's outgoing edges
//! are `offsets[v]..offsets[v+1]`, with tokens ascending, so a child lookup is a binary search
//! and "allowed next tokens" is a slice.
//!
//! Binary file format v1 (all integers little-endian u32 unless noted):
//! ```text
//! magic "EAGERTRI" (8 bytes) | version = 1 | k | length L | num_nodes | num_edges | num_items
//! offsets   [num_nodes + 1]   CSR edge ranges per node
//! tokens    [num_edges]       edge token, ascending within a node
//! children  [num_edges]       child node index
//! node_item [num_nodes]       item id at a depth-L node, 0 elsewhere
//! checksum  u64               FNV-1a 64 of every preceding byte
//! ```
use std::path::Path;

use super::code_table::CodeTable;
use crate::error::{EagerError, Result};
use crate::io::atomic::write_atomic;

const MAGIC: &[u8; 8] = b"EAGERTRI";
const VERSION: u32 = 1;

/// Prefix trie of all valid codes. Every root-to-depth-L path is exactly one item's code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeTrie {
    k: u32,
    length: usize,
    num_items: usize,
    offsets: Vec<u32>,   // [num_nodes + 1]
    tokens: Vec<u32>,    // [num_edges]
    children: Vec<u32>,  // [num_edges]
    node_item: Vec<u32>, // [num_nodes]
}

impl CodeTrie {
    /// Index of the root node (the empty prefix).
    pub const ROOT: u32 = 0;

    /// Builds the trie of a (validated) code table.
    pub fn from_table(table: &CodeTable) -> Result<Self> {
        table.validate()?;
        let l = table.length;
        let n = table.num_items();
        // items sorted by code: every node is a contiguous range of this order
        let mut order: Vec<u32> = (0..n as u32).collect();
        order.sort_by(|&a, &b| {
            let (a, b) = (a as usize, b as usize);
            table.codes[a * l..(a + 1) * l].cmp(&table.codes[b * l..(b + 1) * l])
        });
        let tok = |pos: usize, depth: usize| table.codes[order[pos] as usize * l + depth];
        let mut offsets = vec![0u32];
        let mut tokens = Vec::new();
        let mut children = Vec::new();
        let mut node_item = Vec::new();
        // breadth-first queue of (lo, hi, depth); a node's index is its position in the queue
        let mut queue: Vec<(usize, usize, usize)> = vec![(0, n, 0)];
        let mut head = 0;
        while head < queue.len() {
            let (lo, hi, depth) = queue[head];
            head += 1;
            if depth == l {
                // unique codes: a full-length node holds exactly one item
                node_item.push(order[lo] + 1);
            } else {
                node_item.push(0);
                let mut s = lo;
                while s < hi {
                    let t = tok(s, depth);
                    let mut e = s + 1;
                    while e < hi && tok(e, depth) == t {
                        e += 1;
                    }
                    tokens.push(t);
                    children.push(queue.len() as u32);
                    queue.push((s, e, depth + 1));
                    s = e;
                }
            }
            offsets.push(tokens.len() as u32);
        }
        Ok(CodeTrie { k: table.k, length: l, num_items: n, offsets, tokens, children, node_item })
    }

    /// Token vocabulary size K.
    pub fn k(&self) -> u32 {
        self.k
    }

    /// Code length L.
    pub fn length(&self) -> usize {
        self.length
    }

    /// Number of items (full-length codes).
    pub fn num_items(&self) -> usize {
        self.num_items
    }

    /// Number of nodes, root included.
    pub fn num_nodes(&self) -> usize {
        self.node_item.len()
    }

    /// Tokens allowed after `node`, ascending (empty at a full-length node or a bad index).
    pub fn allowed_tokens(&self, node: u32) -> &[u32] {
        match self.edge_range(node) {
            Some((a, b)) => &self.tokens[a..b],
            None => &[],
        }
    }

    /// Child of `node` along `token`, if that continuation is valid.
    pub fn child(&self, node: u32, token: u32) -> Option<u32> {
        let (a, b) = self.edge_range(node)?;
        let j = self.tokens[a..b].binary_search(&token).ok()?;
        Some(self.children[a + j])
    }

    /// Node reached by `prefix` from the root, if it is a valid prefix.
    pub fn node_for_prefix(&self, prefix: &[u32]) -> Option<u32> {
        prefix.iter().try_fold(Self::ROOT, |node, &t| self.child(node, t))
    }

    /// Tokens allowed after `prefix` (empty when the prefix is invalid or already complete).
    pub fn allowed_next(&self, prefix: &[u32]) -> &[u32] {
        match self.node_for_prefix(prefix) {
            Some(node) => self.allowed_tokens(node),
            None => &[],
        }
    }

    /// Item id at a full-length node (`None` for inner nodes).
    pub fn item_of_node(&self, node: u32) -> Option<u32> {
        match self.node_item.get(node as usize) {
            Some(&id) if id > 0 => Some(id),
            _ => None,
        }
    }

    /// Item id whose code is exactly `code`.
    pub fn item_at(&self, code: &[u32]) -> Option<u32> {
        if code.len() != self.length {
            return None;
        }
        self.item_of_node(self.node_for_prefix(code)?)
    }

    /// Writes `true` into `mask` (`[K]`) for the tokens allowed after `node`, `false` elsewhere.
    pub fn fill_mask(&self, node: u32, mask: &mut [bool]) {
        mask.fill(false);
        for &t in self.allowed_tokens(node) {
            if let Some(m) = mask.get_mut(t as usize) {
                *m = true;
            }
        }
    }

    fn edge_range(&self, node: u32) -> Option<(usize, usize)> {
        let v = node as usize;
        if v + 1 >= self.offsets.len() {
            return None;
        }
        Some((self.offsets[v] as usize, self.offsets[v + 1] as usize))
    }

    /// Encodes the binary format described in the module docs.
    pub fn to_bytes(&self) -> Vec<u8> {
        let header = [
            VERSION,
            self.k,
            self.length as u32,
            self.num_nodes() as u32,
            self.tokens.len() as u32,
            self.num_items as u32,
        ];
        let words = header.len() + self.offsets.len() + 2 * self.tokens.len() + self.node_item.len();
        let mut out = Vec::with_capacity(8 + 4 * words + 8);
        out.extend_from_slice(MAGIC);
        for part in [&header[..], &self.offsets, &self.tokens, &self.children, &self.node_item] {
            for v in part {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        let sum = fnv1a64(&out);
        out.extend_from_slice(&sum.to_le_bytes());
        out
    }

    /// Decodes and fully checks the binary format; `path` names the source in errors.
    pub fn from_bytes(bytes: &[u8], path: &str) -> Result<Self> {
        let bad = |msg: String| EagerError::BadFile { path: path.to_string(), msg };
        if bytes.len() < 8 + 24 + 8 || &bytes[..8] != MAGIC {
            return Err(bad("not a code trie file (missing EAGERTRI magic)".into()));
        }
        let (body, tail) = bytes.split_at(bytes.len() - 8);
        let stored = u64::from_le_bytes([tail[0], tail[1], tail[2], tail[3], tail[4], tail[5], tail[6], tail[7]]);
        if fnv1a64(body) != stored {
            return Err(bad("checksum mismatch (truncated or corrupted)".into()));
        }
        let words: Vec<u32> = body[8..].chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        if (body.len() - 8) % 4 != 0 {
            return Err(bad("length is not a whole number of u32 words".into()));
        }
        let [version, k, length, num_nodes, num_edges, num_items] =
            [words[0], words[1], words[2], words[3], words[4], words[5]];
        if version != VERSION {
            return Err(bad(format!("unsupported trie version {version}")));
        }
        let (nn, ne) = (num_nodes as usize, num_edges as usize);
        let expected = 6 + (nn + 1) + 2 * ne + nn;
        if words.len() != expected || nn == 0 || ne + 1 != nn || num_items as usize > nn {
            return Err(bad(format!("sizes disagree: {num_nodes} nodes, {num_edges} edges, {} words", words.len())));
        }
        let mut at = 6;
        let mut take = |m: usize| {
            let s = words[at..at + m].to_vec();
            at += m;
            s
        };
        let trie = CodeTrie {
            k,
            length: length as usize,
            num_items: num_items as usize,
            offsets: take(nn + 1),
            tokens: take(ne),
            children: take(ne),
            node_item: take(nn),
        };
        trie.check().map_err(bad)?;
        Ok(trie)
    }

    /// Structural check after decoding: a breadth-first tree whose depth-L nodes hold each
    /// item id 1..=num_items exactly once.
    fn check(&self) -> std::result::Result<(), String> {
        let nn = self.num_nodes();
        if self.k < 2 || self.length == 0 {
            return Err(format!("k = {} and length = {} are out of range", self.k, self.length));
        }
        if self.offsets[0] != 0 || self.offsets[nn] as usize != self.tokens.len() {
            return Err("edge offsets do not cover the edge list".into());
        }
        let mut depth = vec![usize::MAX; nn];
        depth[0] = 0;
        let mut seen_item = vec![false; self.num_items + 1];
        for v in 0..nn {
            let (a, b) = (self.offsets[v] as usize, self.offsets[v + 1] as usize);
            if a > b || b > self.tokens.len() {
                return Err(format!("node {v} has a bad edge range"));
            }
            if depth[v] == usize::MAX {
                return Err(format!("node {v} is unreachable"));
            }
            let full = depth[v] == self.length;
            if full != (a == b) {
                return Err(format!("node {v} at depth {} has {} children", depth[v], b - a));
            }
            let item = self.node_item[v] as usize;
            if full {
                if item == 0 || item > self.num_items || seen_item[item] {
                    return Err(format!("node {v} has a missing, out-of-range or repeated item id {item}"));
                }
                seen_item[item] = true;
            } else if item != 0 {
                return Err(format!("inner node {v} carries item {item}"));
            }
            for e in a..b {
                let (t, c) = (self.tokens[e], self.children[e] as usize);
                if t >= self.k || (e > a && self.tokens[e - 1] >= t) {
                    return Err(format!("node {v}: token {t} out of range or out of order"));
                }
                if c <= v || c >= nn || depth[c] != usize::MAX {
                    return Err(format!("node {v}: bad child index {c}"));
                }
                depth[c] = depth[v] + 1;
            }
        }
        if seen_item.iter().skip(1).any(|s| !s) {
            return Err("some item ids have no code".into());
        }
        Ok(())
    }

    /// Writes the binary file atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        write_atomic(path, &self.to_bytes())
    }

    /// Reads and checks a binary trie file.
    pub fn load(path: &Path) -> Result<Self> {
        let shown = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| EagerError::io(shown.clone(), e))?;
        Self::from_bytes(&bytes, &shown)
    }

    /// The code table this trie encodes (item id → code).
    pub fn to_table(&self) -> Result<CodeTable> {
        let l = self.length;
        let mut codes = vec![0u32; self.num_items * l];
        let mut stack: Vec<(u32, Vec<u32>)> = vec![(Self::ROOT, Vec::new())];
        while let Some((node, prefix)) = stack.pop() {
            if let Some(item) = self.item_of_node(node) {
                let r = item as usize - 1;
                codes[r * l..(r + 1) * l].copy_from_slice(&prefix);
                continue;
            }
            if let Some((a, b)) = self.edge_range(node) {
                for e in a..b {
                    let mut p = prefix.clone();
                    p.push(self.tokens[e]);
                    stack.push((self.children[e], p));
                }
            }
        }
        CodeTable::new(self.k, l, codes)
    }
}

/// FNV-1a 64-bit hash (integrity check, not security).
fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> CodeTable {
        // items 1..=5; item 5 sits alone under token 3 (padded with 0)
        CodeTable::new(4, 2, vec![0, 1, 0, 3, 2, 0, 0, 0, 3, 0]).unwrap()
    }

    #[test]
    fn lookups() {
        let t = CodeTrie::from_table(&sample()).unwrap();
        assert_eq!(t.allowed_next(&[]), &[0, 2, 3]);
        assert_eq!(t.allowed_next(&[0]), &[0, 1, 3]);
        assert_eq!(t.allowed_next(&[3]), &[0]);
        assert_eq!(t.allowed_next(&[1]), &[] as &[u32]);
        assert_eq!(t.allowed_next(&[0, 1]), &[] as &[u32]);
        assert_eq!(t.item_at(&[0, 3]), Some(2));
        assert_eq!(t.item_at(&[3, 0]), Some(5));
        assert_eq!(t.item_at(&[0]), None);
        assert_eq!(t.item_at(&[1, 0]), None);
        assert_eq!(t.num_nodes(), 1 + 3 + 5);
        let mut mask = vec![true; 4];
        t.fill_mask(CodeTrie::ROOT, &mut mask);
        assert_eq!(mask, vec![true, false, true, true]);
        assert_eq!(t.to_table().unwrap(), sample());
    }

    #[test]
    fn bytes_round_trip_and_corruption() {
        let t = CodeTrie::from_table(&sample()).unwrap();
        let bytes = t.to_bytes();
        assert_eq!(CodeTrie::from_bytes(&bytes, "m").unwrap(), t);
        let mut flipped = bytes.clone();
        flipped[40] ^= 1;
        assert_eq!(CodeTrie::from_bytes(&flipped, "t.bin").unwrap_err().code(), "EAGER_BAD_FILE");
        assert!(CodeTrie::from_bytes(&bytes[..bytes.len() - 3], "t.bin").is_err());
        assert!(CodeTrie::from_bytes(b"garbage", "t.bin").is_err());
    }

    #[test]
    fn save_load() {
        let dir = std::env::temp_dir().join(format!("eager-trie-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("trie.bin");
        let t = CodeTrie::from_table(&sample()).unwrap();
        t.save(&p).unwrap();
        assert_eq!(CodeTrie::load(&p).unwrap(), t);
        assert_eq!(CodeTrie::load(&dir.join("none.bin")).unwrap_err().code(), "EAGER_IO");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
