//! Helpers shared by the benchmark examples (`#[path]`-included; not an example itself).
#![allow(dead_code)]

use eager_core::codes::CodeTable;
use eager_core::rng::SeededRng;

/// The allocator of the Node addon (`native/src/lib.rs`), so the benchmarks measure what
/// services run.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Beauty's catalogue size and the released code's K: the reference's workload.
pub const N_ITEMS: usize = 12_101;
pub const K: usize = 128;

/// A random injection of items into the K×K grid: every item a distinct 2-token code.
pub fn random_codes(rng: &mut SeededRng) -> eager_core::Result<CodeTable> {
    let mut cells: Vec<u32> = (0..(K * K) as u32).collect();
    rng.shuffle(&mut cells);
    let flat = cells[..N_ITEMS].iter().flat_map(|&c| [c / K as u32, c % K as u32]).collect();
    CodeTable::new(K as u32, 2, flat)
}

/// Peak resident memory of this process in MB (VmHWM from /proc; -1 where unavailable).
pub fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse::<f64>().ok()))
        })
        .map_or(-1.0, |kb| kb / 1024.0)
}

/// Positional argument `i` of the command line parsed as a number, or `default`.
pub fn pos_arg(i: usize, default: usize) -> usize {
    std::env::args().nth(i).and_then(|s| s.parse().ok()).unwrap_or(default)
}

/// Compute threads: positional argument `i`, else `RAYON_NUM_THREADS`, else 2. Exports the
/// choice as `RAYON_NUM_THREADS` (candle reads it too) and sizes rayon's global pool.
pub fn setup_threads(i: usize) -> usize {
    let threads = std::env::args()
        .nth(i)
        .and_then(|s| s.parse().ok())
        .or_else(|| std::env::var("RAYON_NUM_THREADS").ok().and_then(|s| s.parse().ok()))
        .unwrap_or(2);
    std::env::set_var("RAYON_NUM_THREADS", threads.to_string());
    let _ = rayon::ThreadPoolBuilder::new().num_threads(threads).build_global();
    threads
}
