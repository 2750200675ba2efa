/**
 * Deterministic mini-batches over a training {@link SampleSet}: each epoch is a permutation drawn
 * from a generator seeded by (seed, epoch), so a resumed run only needs (epoch, offset) to
 * continue with exactly the batches an uninterrupted run would have seen.
 */
import { SeededRandom } from '../data/prng.js';
import type { SampleSet } from '../data/split.js';

/** Where the batcher stands; saved in checkpoints. */
export interface BatcherPosition {
  epoch: number;
  /** Index of the next sample in this epoch's permutation. */
  offset: number;
}

/** One training batch in the layout the native trainers take. */
export interface TrainBatch {
  /** [B, T] left-padded with 0. */
  histories: Uint32Array;
  /** [B] target item ids. */
  targets: Uint32Array;
  batchSize: number;
  maxHistory: number;
}

export class EpochBatcher {
  private perm: Uint32Array;
  private pos: BatcherPosition;

  constructor(
    private readonly samples: SampleSet,
    private readonly batchSize: number,
    private readonly seed: number,
    start: BatcherPosition = { epoch: 0, offset: 0 },
  ) {
    if (samples.size === 0) throw new Error('training set is empty: no user has more than 3 items');
    this.pos = { ...start };
    this.perm = this.permutation(start.epoch);
  }

  private permutation(epoch: number): Uint32Array {
    const idx = Array.from({ length: this.samples.size }, (_, i) => i);
    new SeededRandom((this.seed * 1_000_003 + epoch * 7919) | 0).shuffle(idx);
    return Uint32Array.from(idx);
  }

  get position(): BatcherPosition {
    return { ...this.pos };
  }

  /** Batches per epoch (the last partial batch is dropped when it is under half a batch). */
  get batchesPerEpoch(): number {
    return Math.max(1, Math.round(this.samples.size / this.batchSize));
  }

  /** The next batch; wraps into the next epoch. */
  next(): TrainBatch {
    const n = this.samples.size;
    if (this.pos.offset >= n || (this.pos.offset > 0 && n - this.pos.offset < this.batchSize / 2)) {
      this.pos = { epoch: this.pos.epoch + 1, offset: 0 };
      this.perm = this.permutation(this.pos.epoch);
    }
    const start = this.pos.offset;
    const end = Math.min(n, start + this.batchSize);
    const T = this.samples.maxHistory;
    const B = end - start;
    const histories = new Uint32Array(B * T);
    const targets = new Uint32Array(B);
    for (let b = 0; b < B; b++) {
      const i = this.perm[start + b]!;
      histories.set(this.samples.histories.subarray(i * T, (i + 1) * T), b * T);
      targets[b] = this.samples.targets[i]!;
    }
    this.pos.offset = end;
    return { histories, targets, batchSize: B, maxHistory: T };
  }
}
