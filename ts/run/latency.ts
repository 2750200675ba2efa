/**
 * Single-request latency of a loaded model (or an ensemble): `recommend` for one user at a time,
 * sequentially (what one service request costs), over the histories of a sample set.
 */
import type { SampleSet } from '../data/split.js';
import type { Decoder } from './evaluate.js';
import type { DecodeSettings } from './types.js';

/** Latency percentiles in milliseconds. */
export interface LatencyStats {
  requests: number;
  k: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** Times `n` sequential single-user calls (after `warmup` untimed ones) over the first users of `samples`. */
export async function measureLatency(
  model: Decoder, samples: SampleSet, decode: DecodeSettings, opts: { n: number; k?: number; warmup?: number },
): Promise<LatencyStats> {
  const k = opts.k ?? 10;
  const T = samples.maxHistory;
  const n = Math.min(opts.n, samples.size);
  const warmup = Math.min(opts.warmup ?? 5, n);
  const times: number[] = [];
  for (let i = -warmup; i < n; i++) {
    const u = ((i % samples.size) + samples.size) % samples.size;
    const h = samples.histories.slice(u * T, (u + 1) * T);
    const t0 = performance.now();
    await model.recommend(h, T, k, decode);
    if (i >= 0) times.push(performance.now() - t0);
  }
  const sorted = [...times].sort((a, b) => a - b);
  return {
    requests: times.length, k,
    p50: percentile(sorted, 0.5), p90: percentile(sorted, 0.9), p99: percentile(sorted, 0.99),
    max: sorted.at(-1) ?? 0, mean: times.reduce((a, b) => a + b, 0) / Math.max(1, times.length),
  };
}
