/**
 * A small seeded PRNG (mulberry32) so that everything generated in TypeScript is reproducible
 * bit for bit across runs and machines (Math.random cannot be seeded).
 */
export class SeededRandom {
  private state: number;

  constructor(seed: number) {
    // Mix the seed so that nearby seeds give unrelated streams.
    this.state = (Math.imul(seed | 0, 0x9e3779b1) ^ 0x85ebca6b) >>> 0;
  }

  /** Uniform float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Uniform integer in [lo, hi] (inclusive). */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** A uniformly chosen element. */
  pick<T>(arr: readonly T[]): T {
    return arr[this.int(arr.length)]!;
  }

  /** Fisher-Yates shuffle in place; returns `arr`. */
  shuffle<T>(arr: T[]): T[] {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = arr[i]!;
      arr[i] = arr[j]!;
      arr[j] = tmp;
    }
    return arr;
  }
}

/** Samples indices in proportion to non-negative weights (cumulative table + binary search). */
export class WeightedSampler<T> {
  private readonly cumulative: Float64Array;
  constructor(private readonly values: readonly T[], weights: readonly number[]) {
    if (values.length === 0 || values.length !== weights.length) throw new Error('WeightedSampler: need one weight per value');
    this.cumulative = new Float64Array(values.length);
    let acc = 0;
    weights.forEach((w, i) => {
      acc += Math.max(0, w);
      this.cumulative[i] = acc;
    });
    if (!(acc > 0)) throw new Error('WeightedSampler: weights sum to 0');
  }

  sample(rng: SeededRandom): T {
    const c = this.cumulative;
    const x = rng.next() * c[c.length - 1]!;
    let lo = 0;
    let hi = c.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (c[mid]! > x) hi = mid;
      else lo = mid + 1;
    }
    return this.values[lo]!;
  }
}
