//! Hierarchical k-means codes: cluster the items into K groups, recurse into every group with
//! more than K items, and give the items of a group of at most K distinct leaf tokens. An item's
//! code is its path; shorter paths are right-padded with token 0 to the longest (L).
//!
//! Termination: every child of a split is strictly smaller than its parent (balanced splits
//! have sizes ⌊m/K⌋ or ⌈m/K⌉ < m; plain splits leave no cluster empty, so the largest has at
//! most m−K+1 < m). Nodes whose points are all identical, or plain-k-means nodes deeper than
//! a bound, are split with balanced k-means so the depth stays logarithmic.
use std::borrow::Cow;

use super::centroids::cluster_members;
use super::distance::sq_dist;
use super::{check_matrix, run_unchecked, KMeansConfig};
use crate::codes::CodeTable;
use crate::error::Result;
use crate::rng::SeededRng;

/// Progress of [`build_codes_with_progress`], reported after every finished tree node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodesProgress {
    /// Tree nodes finished so far (splits and leaf groups).
    pub nodes_done: usize,
    /// Items whose full code is known.
    pub items_done: usize,
    /// Items in the catalogue.
    pub num_items: usize,
    /// Depth of the node just finished (root = 0).
    pub depth: usize,
    /// Lloyd iterations of the node just finished (0 for a leaf group).
    pub kmeans_iters: usize,
}

/// Builds the codes of all items of `emb` (`[n, dim]`, row r = item id r+1) by hierarchical
/// k-means with `cfg` (K = `cfg.k`). Guarantees (checked before returning): one code per item,
/// no two items share a code, every token `< K`, same `cfg` ⇒ bit-identical codes.
pub fn build_codes(emb: &[f32], dim: usize, cfg: &KMeansConfig) -> Result<CodeTable> {
    build_codes_with_progress(emb, dim, cfg, &mut |_| {})
}

/// [`build_codes`] with a progress callback, called after every finished node.
pub fn build_codes_with_progress(
    emb: &[f32],
    dim: usize,
    cfg: &KMeansConfig,
    progress: &mut dyn FnMut(&CodesProgress),
) -> Result<CodeTable> {
    cfg.validate()?;
    let n = check_matrix(emb, dim)?;
    let k = cfg.k;
    let max_plain_depth = 2 * depth_for(n, k) + 4;
    let mut paths: Vec<Vec<u32>> = vec![Vec::new(); n];
    let mut stack = vec![Node { members: (0..n as u32).collect(), prefix: Vec::new() }];
    let mut report = CodesProgress { nodes_done: 0, items_done: 0, num_items: n, depth: 0, kmeans_iters: 0 };
    while let Some(node) = stack.pop() {
        let m = node.members.len();
        // the node's points, [m, dim] (members ascending, so the root borrows the input)
        let x: Cow<[f32]> = if m == n { Cow::Borrowed(emb) } else { Cow::Owned(gather(emb, dim, &node.members)) };
        report.depth = node.prefix.len();
        if m <= k {
            for (token, pos) in leaf_order(&x, m, dim).into_iter().enumerate() {
                let mut path = node.prefix.clone();
                path.push(token as u32);
                paths[node.members[pos] as usize] = path;
            }
            report.items_done += m;
            report.kmeans_iters = 0;
        } else {
            let mut rng = SeededRng::new(node_seed(cfg.seed, &node.prefix));
            let use_balanced = cfg.balanced || node.prefix.len() >= max_plain_depth || all_identical(&x, m, dim);
            let clustering = run_unchecked(&x, m, dim, cfg, use_balanced, &mut rng);
            let (offsets, positions) = cluster_members(&clustering.assign, k);
            // push children in reverse so they are processed in token order
            for c in (0..k).rev() {
                let pos = &positions[offsets[c]..offsets[c + 1]];
                if pos.is_empty() {
                    continue;
                }
                let mut prefix = node.prefix.clone();
                prefix.push(c as u32);
                let members = pos.iter().map(|&p| node.members[p as usize]).collect();
                stack.push(Node { members, prefix });
            }
            report.kmeans_iters = clustering.iters;
        }
        report.nodes_done += 1;
        progress(&report);
    }
    let length = paths.iter().map(Vec::len).max().unwrap_or(1).max(1);
    let mut codes = vec![0u32; n * length];
    for (r, p) in paths.iter().enumerate() {
        codes[r * length..r * length + p.len()].copy_from_slice(p);
    }
    CodeTable::new(k as u32, length, codes)
}

/// A tree node still to be processed: its item rows (ascending) and its path from the root.
struct Node {
    members: Vec<u32>,
    prefix: Vec<u32>,
}

/// Rows `members` of `emb`, `[members.len(), dim]`.
fn gather(emb: &[f32], dim: usize, members: &[u32]) -> Vec<f32> {
    let mut out = Vec::with_capacity(members.len() * dim);
    for &r in members {
        out.extend_from_slice(&emb[r as usize * dim..(r as usize + 1) * dim]);
    }
    out
}

/// Leaf token order of a small group: by squared distance to the group mean, ties by position
/// (= ascending item id). Returns positions.
fn leaf_order(x: &[f32], m: usize, dim: usize) -> Vec<usize> {
    let mut mean = vec![0f64; dim];
    for row in x.chunks(dim) {
        for (a, v) in mean.iter_mut().zip(row) {
            *a += *v as f64;
        }
    }
    let mean: Vec<f32> = mean.iter().map(|a| (*a / m as f64) as f32).collect();
    let d: Vec<f32> = x.chunks(dim).map(|row| sq_dist(row, &mean)).collect();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| d[a].total_cmp(&d[b]).then(a.cmp(&b)));
    order
}

fn all_identical(x: &[f32], m: usize, dim: usize) -> bool {
    let first = &x[..dim];
    (1..m).all(|r| &x[r * dim..(r + 1) * dim] == first)
}

/// Levels a perfectly balanced tree needs: smallest L with K^L ≥ n.
fn depth_for(n: usize, k: usize) -> usize {
    let mut cap = 1usize;
    let mut l = 0;
    while cap < n {
        cap = cap.saturating_mul(k);
        l += 1;
    }
    l.max(1)
}

/// Seed of a node: a hash of the run seed and the node's path, so a node's clustering does not
/// depend on the order in which nodes are processed.
fn node_seed(seed: u64, prefix: &[u32]) -> u64 {
    let mut h = seed ^ 0x5EED_C0DE_0000_0000;
    for &t in prefix {
        h = mix64(h ^ (t as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    }
    mix64(h)
}

fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_for_counts() {
        assert_eq!(depth_for(1, 4), 1);
        assert_eq!(depth_for(4, 4), 1);
        assert_eq!(depth_for(5, 4), 2);
        assert_eq!(depth_for(16, 4), 2);
        assert_eq!(depth_for(17, 4), 3);
    }

    #[test]
    fn leaf_order_by_distance_then_position() {
        // mean is (1, 0); distances 1, 1, 0 -> position 2 first, then 0, then 1
        let x = [0.0f32, 0.0, 2.0, 0.0, 1.0, 0.0];
        assert_eq!(leaf_order(&x, 3, 2), vec![2, 0, 1]);
    }

    #[test]
    fn node_seeds_differ_by_path() {
        assert_ne!(node_seed(1, &[0]), node_seed(1, &[1]));
        assert_ne!(node_seed(1, &[0, 1]), node_seed(1, &[1, 0]));
        assert_ne!(node_seed(1, &[]), node_seed(2, &[]));
    }
}
