//! Top-K selection over score rows.
use rayon::prelude::*;

/// For each row of `scores` (`[B, n]`, row-major; column c = item id c+1), the ids of the `k`
/// highest-scoring items, best first (ties: lower id first). `exclude[r]` lists item ids that row
/// `r` must not return (e.g. the history). Rows with fewer than `k` candidates are padded with 0.
pub fn top_k_rows(scores: &[f32], n: usize, k: usize, exclude: Option<&[&[u32]]>) -> Vec<u32> {
    let rows = scores.len() / n.max(1);
    let mut out = vec![0u32; rows * k];
    if k == 0 {
        return out;
    }
    out.par_chunks_mut(k).enumerate().for_each(|(r, dst)| {
        let row = &scores[r * n..(r + 1) * n];
        let mut banned: Vec<u32> = exclude.map(|e| e[r].to_vec()).unwrap_or_default();
        banned.sort_unstable();
        let allowed = |c: u32| banned.binary_search(&(c + 1)).is_err() && !row[c as usize].is_nan();
        let better = |a: &u32, b: &u32| row[*b as usize].total_cmp(&row[*a as usize]).then(a.cmp(b));
        let best = if k.saturating_mul(16) < n {
            // One pass with a sorted buffer of the k best so far: most items fail the first
            // comparison against the current k-th score.
            let mut top: Vec<u32> = Vec::with_capacity(k + 1);
            for c in 0..n as u32 {
                if top.len() == k && better(&c, &top[k - 1]) != std::cmp::Ordering::Less {
                    continue;
                }
                if !allowed(c) {
                    continue;
                }
                let pos = top.partition_point(|t| better(t, &c) == std::cmp::Ordering::Less);
                top.insert(pos, c);
                top.truncate(k);
            }
            top
        } else {
            let mut cand: Vec<u32> = (0..n as u32).filter(|&c| allowed(c)).collect();
            if cand.len() > k {
                cand.select_nth_unstable_by(k - 1, better);
                cand.truncate(k);
            }
            cand.sort_unstable_by(better);
            cand
        };
        for (d, c) in dst.iter_mut().zip(best) {
            *d = c + 1;
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_best_and_excludes() {
        let s = [0.1, 0.9, 0.5, 0.9, /* row 2 */ 1.0, 2.0, 3.0, 4.0];
        assert_eq!(top_k_rows(&s, 4, 2, None), vec![2, 4, 4, 3]);
        let ex: [&[u32]; 2] = [&[2], &[4, 3, 2]];
        assert_eq!(top_k_rows(&s, 4, 2, Some(&ex)), vec![4, 3, 1, 0]);
    }

    #[test]
    fn one_pass_path_matches_full_sort() {
        let mut rng = crate::rng::SeededRng::new(4);
        let n = 500;
        // Few distinct values, so ties are frequent.
        let s: Vec<f32> = (0..3 * n).map(|_| (rng.below(40) as f32) * 0.5).collect();
        let hist: Vec<Vec<u32>> = (0..3).map(|_| (0..30).map(|_| rng.below(n) as u32 + 1).collect()).collect();
        let ex: Vec<&[u32]> = hist.iter().map(|h| h.as_slice()).collect();
        let k = 10; // one-pass path (k·16 < n)
        let fast = top_k_rows(&s, n, k, Some(&ex));
        for r in 0..3 {
            let row = &s[r * n..(r + 1) * n];
            let mut ids: Vec<u32> = (1..=n as u32).filter(|i| !hist[r].contains(i)).collect();
            ids.sort_by(|a, b| row[*b as usize - 1].total_cmp(&row[*a as usize - 1]).then(a.cmp(b)));
            assert_eq!(&fast[r * k..(r + 1) * k], &ids[..k]);
        }
    }
}
