/**
 * Chronological leave-one-out split. For a user with sequence s (length n >= 3):
 * - test: history s[0..n-1) (truncated to the T most recent), target s[n-1];
 * - validation: history s[0..n-2) (truncated), target s[n-2];
 * - training: the training part s[0..n-2); one sample per prefix with at least one history item:
 *   history s[0..p) truncated, target s[p] for p = 1..n-3. Never a validation or test target.
 *   With `trainOn: 'train+valid'` (a refit after model selection) p runs to n-2: the validation
 *   target trains too, so the validation split can no longer select anything; the test target
 *   never trains.
 *
 * Every sample is "prefix p of a user's sequence, target s[p]", stored compactly for native code:
 * `histories` is a flat `Uint32Array` [size, T], each row left-padded with 0 (most recent item
 * last), plus `targets`, `lengths`, `users` and `prefixLengths`.
 */
import { parseConfig, SplitConfigSchema, type SplitConfig, type TrainOn } from '../config/data.js';
import { MIN_SEQUENCE_LENGTH } from './project.js';
import type { Dataset } from './types.js';

/** One sample, for simple per-sample access. */
export interface Sample {
  /** User index into `Dataset.users` / `Dataset.sequences`. */
  user: number;
  /** The truncated history without padding (a view; most recent last). */
  history: Uint32Array;
  target: number;
}

/** Which part of the split a sample set is. */
export type SplitPart = 'train' | 'valid' | 'test';

/** A set of samples in compact typed-array form. */
export class SampleSet {
  constructor(
    readonly part: SplitPart,
    /** History length T (row width of {@link histories}). */
    readonly maxHistory: number,
    /** [size, T] row-major, left-padded with 0. */
    readonly histories: Uint32Array,
    /** Number of real (non-padding) items in each row. */
    readonly lengths: Uint32Array,
    /** Target item of each sample. */
    readonly targets: Uint32Array,
    /** User index of each sample. */
    readonly users: Uint32Array,
    /** Untruncated history length: the full history is `sequences[user].subarray(0, prefixLength)`. */
    readonly prefixLengths: Uint32Array,
    private readonly sequences: readonly Uint32Array[],
  ) {}

  /** Number of samples. */
  get size(): number {
    return this.targets.length;
  }

  /** Sample `i` (history is a view into {@link histories}). */
  get(i: number): Sample {
    const T = this.maxHistory;
    const len = this.lengths[i]!;
    return {
      user: this.users[i]!,
      history: this.histories.subarray(i * T + T - len, (i + 1) * T),
      target: this.targets[i]!,
    };
  }

  /** Every item the user saw before the target (not truncated): for history exclusion. */
  fullHistory(i: number): Uint32Array {
    return this.sequences[this.users[i]!]!.subarray(0, this.prefixLengths[i]!);
  }

  /** Samples [start, end) as a new set sharing the buffers (for batching). */
  slice(start: number, end: number): SampleSet {
    const T = this.maxHistory;
    return new SampleSet(
      this.part, T,
      this.histories.subarray(start * T, end * T),
      this.lengths.subarray(start, end),
      this.targets.subarray(start, end),
      this.users.subarray(start, end),
      this.prefixLengths.subarray(start, end),
      this.sequences,
    );
  }
}

/** The three parts of a leave-one-out split. */
export interface LeaveOneOutSplit {
  numItems: number;
  maxHistory: number;
  train: SampleSet;
  valid: SampleSet;
  test: SampleSet;
}

/**
 * The training part of a sequence (a view): everything but the last two items, or with
 * `trainOn: 'train+valid'` everything but the test target.
 */
export function trainingPart(seq: Uint32Array, trainOn: TrainOn = 'train'): Uint32Array {
  return seq.subarray(0, trainingLength(seq.length, trainOn));
}

/** Length of the training part of a sequence of `len` items (the one rule both the split and the baselines use). */
function trainingLength(len: number, trainOn: TrainOn): number {
  return Math.max(0, len - (trainOn === 'train+valid' ? 1 : 2));
}

function buildSet(part: SplitPart, T: number, sequences: readonly Uint32Array[], count: number,
  prefixes: (n: number) => [number, number]): SampleSet {
  const histories = new Uint32Array(count * T);
  const lengths = new Uint32Array(count);
  const targets = new Uint32Array(count);
  const users = new Uint32Array(count);
  const prefixLengths = new Uint32Array(count);
  let k = 0;
  for (let u = 0; u < sequences.length; u++) {
    const s = sequences[u]!;
    const [from, to] = prefixes(s.length);
    for (let p = from; p <= to; p++) {
      const len = Math.min(p, T);
      histories.set(s.subarray(p - len, p), k * T + T - len);
      lengths[k] = len;
      targets[k] = s[p]!;
      users[k] = u;
      prefixLengths[k] = p;
      k++;
    }
  }
  return new SampleSet(part, T, histories, lengths, targets, users, prefixLengths, sequences);
}

/**
 * Splits a dataset. Every user must have at least 3 items (readers guarantee it); otherwise
 * this throws, naming the user.
 */
export function leaveOneOutSplit(ds: Dataset, config: Partial<SplitConfig> = {}): LeaveOneOutSplit {
  const { maxHistory: T, trainOn } = parseConfig(SplitConfigSchema, config, 'split config');
  let trainCount = 0;
  ds.sequences.forEach((s, u) => {
    if (s.length < MIN_SEQUENCE_LENGTH) {
      throw new Error(`user "${ds.users[u]}" has ${s.length} item(s); leave-one-out needs at least ${MIN_SEQUENCE_LENGTH}`);
    }
    trainCount += trainingLength(s.length, trainOn) - 1;
  });
  const n = ds.sequences.length;
  return {
    numItems: ds.numItems,
    maxHistory: T,
    train: buildSet('train', T, ds.sequences, trainCount, (len) => [1, trainingLength(len, trainOn) - 1]),
    valid: buildSet('valid', T, ds.sequences, n, (len) => [len - 2, len - 2]),
    test: buildSet('test', T, ds.sequences, n, (len) => [len - 1, len - 1]),
  };
}
