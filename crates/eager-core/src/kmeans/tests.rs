//! k-means and hierarchical-code tests: reference numbers, guarantees, degenerate inputs.
use super::balanced::capacity_assign;
use super::centroids::update_centroids;
use super::distance::{argmin, row_sq_norms, sq_dists};
use super::plain::fill_empty_clusters;
use super::*;
use crate::codes::CodeTrie;

fn gaussian(n: usize, d: usize, seed: u64) -> Vec<f32> {
    let mut rng = SeededRng::new(seed);
    (0..n * d).map(|_| rng.normal()).collect()
}

fn cfg(k: usize, balanced: bool) -> KMeansConfig {
    KMeansConfig { k, balanced, max_iters: 20, seed: 7, ..KMeansConfig::default() }
}

fn sizes(assign: &[u32], k: usize) -> Vec<usize> {
    let mut s = vec![0; k];
    for &a in assign {
        s[a as usize] += 1;
    }
    s
}

// Reference for the two step tests (numpy 1.24):
//   X = np.array([[0,0],[1,0],[0,1],[5,5],[6,5],[5,7]], np.float32)
//   C = np.array([[0,0],[1,1],[6,6]], np.float32)
//   D = ((X[:,None,:]-C[None])**2).sum(-1)
//   -> [[0,2,72],[1,1,61],[1,1,61],[50,32,2],[61,41,1],[74,52,2]]
//   D.argmin(1) -> [0,0,0,2,2,2] (ties to the lower index); inertia D.min(1).sum() = 7
const X6: [f32; 12] = [0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 5.0, 5.0, 6.0, 5.0, 5.0, 7.0];
const C3: [f32; 6] = [0.0, 0.0, 1.0, 1.0, 6.0, 6.0];
const D63: [f32; 18] = [0., 2., 72., 1., 1., 61., 1., 1., 61., 50., 32., 2., 61., 41., 1., 74., 52., 2.];

#[test]
fn kmeans_distances_match_numpy() {
    let mut d = vec![0f32; 18];
    sq_dists(&X6, &row_sq_norms(&X6, 2), &C3, &row_sq_norms(&C3, 2), 2, &mut d);
    for (a, b) in d.iter().zip(D63) {
        assert!((a - b).abs() < 1e-5, "{d:?}");
    }
}

#[test]
fn kmeans_plain_one_step_matches_reference() {
    // argmin -> [0,0,0,2,2,2]; cluster 1 is empty and takes the point farthest from its centre
    // (points 3 and 5 are at distance 2, tie -> point 3). New centres by hand:
    // c0 = mean(p0,p1,p2) = (1/3, 1/3), c1 = p3 = (5, 5), c2 = mean(p4, p5) = (5.5, 6).
    let mut assign: Vec<u32> = D63.chunks(3).map(|r| argmin(r).unwrap() as u32).collect();
    assert_eq!(assign, vec![0, 0, 0, 2, 2, 2]);
    fill_empty_clusters(&D63, 3, &mut assign);
    assert_eq!(assign, vec![0, 0, 0, 1, 2, 2]);
    let mut c = C3.to_vec();
    update_centroids(&X6, 2, &assign, &mut c);
    let want = [1.0 / 3.0, 1.0 / 3.0, 5.0, 5.0, 5.5, 6.0];
    for (a, b) in c.iter().zip(want) {
        assert!((a - b).abs() < 1e-6, "{c:?}");
    }
}

#[test]
fn kmeans_balanced_one_step_matches_hand_greedy() {
    // 2 points per cluster. Pairs by (distance, point): p0→c0 (0), p1→c0 (1) fills c0; p2's
    // c0 is full, its next free is c1 (1) which beats p4→c2 (1) on the point index; p4→c2,
    // p3→c2 (2) fills c2; p5 is left with c1 (52). New centres by hand:
    // c0 = (0.5, 0), c1 = mean(p2, p5) = (2.5, 4), c2 = mean(p3, p4) = (5.5, 5).
    let assign = capacity_assign(&D63, 6, 3);
    assert_eq!(assign, vec![0, 0, 1, 2, 2, 1]);
    let mut c = C3.to_vec();
    update_centroids(&X6, 2, &assign, &mut c);
    assert_eq!(c, vec![0.5, 0.0, 2.5, 4.0, 5.5, 5.0]);
}

/// Three tight, far-apart blobs of 20 points each around (0,0), (100,0), (0,100).
fn blobs() -> Vec<f32> {
    let mut rng = SeededRng::new(11);
    let centres = [(0.0f32, 0.0f32), (100.0, 0.0), (0.0, 100.0)];
    let mut x = Vec::new();
    for i in 0..60 {
        let (cx, cy) = centres[i % 3];
        x.push(cx + rng.normal());
        x.push(cy + rng.normal());
    }
    x
}

#[test]
fn kmeans_three_blobs_are_three_clusters() {
    let x = blobs();
    for balanced in [false, true] {
        for seed in 0..5 {
            let c = kmeans(&x, 2, &KMeansConfig { k: 3, balanced, seed, ..cfg(3, balanced) }).unwrap();
            for i in 0..60 {
                assert_eq!(c.assign[i], c.assign[i % 3], "balanced={balanced} seed={seed} point {i}");
            }
            assert_eq!(sizes(&c.assign, 3), vec![20, 20, 20]);
        }
    }
}

#[test]
fn kmeans_balanced_sizes_differ_by_at_most_one() {
    let x = gaussian(1003, 5, 1);
    for k in [2, 7, 10, 64] {
        let c = kmeans(&x, 5, &cfg(k, true)).unwrap();
        let s = sizes(&c.assign, k);
        assert!(s.iter().all(|&v| v == 1003 / k || v == 1003 / k + 1), "k={k} {s:?}");
    }
}

#[test]
fn kmeans_plain_has_no_empty_clusters_and_lowers_inertia() {
    let x = gaussian(500, 4, 2);
    let one = kmeans(&x, 4, &KMeansConfig { max_iters: 1, ..cfg(16, false) }).unwrap();
    let many = kmeans(&x, 4, &KMeansConfig { max_iters: 50, ..cfg(16, false) }).unwrap();
    assert!(sizes(&many.assign, 16).iter().all(|&s| s > 0));
    assert!(many.inertia <= one.inertia, "{} > {}", many.inertia, one.inertia);
}

fn check_guarantees(t: &crate::codes::CodeTable, n: usize, k: usize) {
    assert_eq!(t.num_items(), n);
    assert_eq!(t.k as usize, k);
    assert!(t.codes.iter().all(|&c| (c as usize) < k));
    t.validate().unwrap();
    let trie = CodeTrie::from_table(t).unwrap();
    for item in 1..=n as u32 {
        assert_eq!(trie.item_at(t.code(item).unwrap()), Some(item));
    }
}

#[test]
fn codes_guarantees_balanced_and_plain() {
    let (n, d, k) = (1000, 8, 8);
    let x = gaussian(n, d, 3);
    for balanced in [true, false] {
        let t = build_codes(&x, d, &cfg(k, balanced)).unwrap();
        check_guarantees(&t, n, k);
        if balanced {
            // 1000 -> 8 × 125 -> 8 × 15/16 -> 8 × 1/2 -> leaf tokens: 4 levels (8³ < 1000)
            assert_eq!(t.length, 4);
        }
    }
}

#[test]
fn codes_same_seed_same_codes_any_thread_count() {
    let x = gaussian(700, 16, 4);
    let c = cfg(8, true);
    let a = build_codes(&x, 16, &c).unwrap();
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let b = one.install(|| build_codes(&x, 16, &c).unwrap());
    let three = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
    let e = three.install(|| build_codes(&x, 16, &c).unwrap());
    assert_eq!(a, b);
    assert_eq!(a, e);
    let p1 = build_codes(&x, 16, &cfg(8, false)).unwrap();
    let p2 = one.install(|| build_codes(&x, 16, &cfg(8, false)).unwrap());
    assert_eq!(p1, p2);
    let other = build_codes(&x, 16, &KMeansConfig { seed: 8, ..c }).unwrap();
    assert_ne!(a, other);
}

#[test]
fn codes_progress_reports_every_item() {
    let x = gaussian(300, 4, 5);
    let mut last = None;
    let mut calls = 0;
    build_codes_with_progress(&x, 4, &cfg(4, true), &mut |p| {
        calls += 1;
        last = Some(p.clone());
    })
    .unwrap();
    let last = last.unwrap();
    assert_eq!(last.items_done, 300);
    assert_eq!(last.nodes_done, calls);
}

#[test]
fn codes_degenerate_inputs() {
    // all identical points: still distinct codes, logarithmic depth
    let same = vec![0.5f32; 200 * 3];
    for balanced in [true, false] {
        let t = build_codes(&same, 3, &cfg(4, balanced)).unwrap();
        check_guarantees(&t, 200, 4);
        assert!(t.length <= 5, "length {}", t.length);
    }
    // n < K: one level of leaf tokens
    let t = build_codes(&gaussian(3, 2, 6), 2, &cfg(8, true)).unwrap();
    assert_eq!(t.length, 1);
    check_guarantees(&t, 3, 8);
    // n = 1
    let t = build_codes(&[1.0, 2.0], 2, &cfg(256, false)).unwrap();
    assert_eq!((t.length, t.codes.clone()), (1, vec![0]));
    // n = K exactly, n = K + 1
    check_guarantees(&build_codes(&gaussian(16, 2, 7), 2, &cfg(16, true)).unwrap(), 16, 16);
    let t = build_codes(&gaussian(17, 2, 7), 2, &cfg(16, false)).unwrap();
    assert_eq!(t.length, 2);
    check_guarantees(&t, 17, 16);
    // a few duplicate groups among distinct points (duplicate item texts)
    let mut x = gaussian(400, 4, 8);
    for r in 100..160 {
        let (src, dst) = (0..4, r * 4);
        x.copy_within(src, dst);
    }
    check_guarantees(&build_codes(&x, 4, &cfg(4, false)).unwrap(), 400, 4);
}

#[test]
fn kmeans_invalid_arguments_are_errors() {
    let x = gaussian(10, 2, 9);
    let code = |r: Result<crate::codes::CodeTable>| r.unwrap_err().code();
    assert_eq!(code(build_codes(&x, 2, &cfg(1, true))), "EAGER_INVALID_ARGUMENT");
    assert_eq!(code(build_codes(&x, 3, &cfg(4, true))), "EAGER_INVALID_ARGUMENT");
    assert_eq!(code(build_codes(&x, 0, &cfg(4, true))), "EAGER_INVALID_ARGUMENT");
    assert_eq!(code(build_codes(&[], 2, &cfg(4, true))), "EAGER_INVALID_ARGUMENT");
    assert_eq!(code(build_codes(&x, 2, &KMeansConfig { max_iters: 0, ..cfg(4, true) })), "EAGER_INVALID_ARGUMENT");
    assert_eq!(code(build_codes(&x, 2, &KMeansConfig { n_init: 0, ..cfg(4, true) })), "EAGER_INVALID_ARGUMENT");
    assert_eq!(code(build_codes(&x, 2, &KMeansConfig { tol: f64::NAN, ..cfg(4, true) })), "EAGER_INVALID_ARGUMENT");
    let mut bad = x.clone();
    bad[5] = f32::NAN;
    let e = build_codes(&bad, 2, &cfg(4, true)).unwrap_err();
    assert!(e.to_string().contains("item id 3"), "{e}");
    assert_eq!(kmeans(&x, 2, &cfg(11, true)).unwrap_err().code(), "EAGER_INVALID_ARGUMENT");
}

#[test]
fn kmeans_n_init_keeps_the_best_run() {
    let x = gaussian(400, 3, 10);
    let one = kmeans(&x, 3, &cfg(10, false)).unwrap();
    let five = kmeans(&x, 3, &KMeansConfig { n_init: 5, ..cfg(10, false) }).unwrap();
    // run 0 of five draws the same stream as the single run, so the best of five is no worse
    assert!(five.inertia <= one.inertia, "{} vs {}", five.inertia, one.inertia);
}
