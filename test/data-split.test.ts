import { describe, expect, it } from 'vitest';
import { leaveOneOutSplit, trainingPart } from '../ts/data/split.js';
import { datasetOf } from './fixtures/run-data.js';

const ds = datasetOf;

describe('leave-one-out split', () => {
  const data = ds([[1, 2, 3, 4, 5], [7, 8, 9]]);
  const split = leaveOneOutSplit(data, { maxHistory: 2 });

  it('training samples: every prefix of the training part with >= 1 history item, truncated', () => {
    const { train } = split;
    expect(train.size).toBe(2); // user 0: (n - 3) = 2, user 1: 0
    expect(Array.from(train.histories)).toEqual([0, 1, 1, 2]); // left-padded, T = 2
    expect(Array.from(train.lengths)).toEqual([1, 2]);
    expect(Array.from(train.targets)).toEqual([2, 3]);
    expect(Array.from(train.users)).toEqual([0, 0]);
    expect(Array.from(train.get(0).history)).toEqual([1]);
    // Never a validation or test target.
    expect(Array.from(train.targets)).not.toContain(4);
    expect(Array.from(train.targets)).not.toContain(5);
  });

  it('validation: training part (truncated) -> second-to-last; test: all but last -> last', () => {
    const { valid, test } = split;
    expect(Array.from(valid.histories)).toEqual([2, 3, 0, 7]);
    expect(Array.from(valid.targets)).toEqual([4, 8]);
    expect(Array.from(test.histories)).toEqual([3, 4, 7, 8]);
    expect(Array.from(test.targets)).toEqual([5, 9]);
    expect(test.get(1)).toEqual({ user: 1, history: Uint32Array.from([7, 8]), target: 9 });
    // The full (untruncated) history is what exclude-history removes.
    expect(Array.from(valid.fullHistory(0))).toEqual([1, 2, 3]);
    expect(Array.from(test.fullHistory(0))).toEqual([1, 2, 3, 4]);
  });

  it('default maxHistory is 20, and slices share buffers', () => {
    const long = ds([Array.from({ length: 30 }, (_, i) => i + 1)]);
    const s = leaveOneOutSplit(long);
    expect(s.maxHistory).toBe(20);
    expect(Array.from(s.test.get(0).history)).toEqual(Array.from({ length: 20 }, (_, i) => i + 10));
    const sl = s.train.slice(5, 7);
    expect(sl.size).toBe(2);
    expect(sl.get(0)).toEqual(s.train.get(5));
    expect(sl.histories.buffer).toBe(s.train.histories.buffer);
    expect(Array.from(trainingPart(Uint32Array.from([1, 2, 3, 4])))).toEqual([1, 2]);
  });

  it("trainOn 'train+valid' (a refit) adds each validation target to training, never a test target", () => {
    const refit = leaveOneOutSplit(data, { maxHistory: 2, trainOn: 'train+valid' });
    expect(Array.from(refit.train.targets)).toEqual([2, 3, 4, 8]);
    expect(Array.from(refit.train.histories)).toEqual([0, 1, 1, 2, 2, 3, 0, 7]);
    expect(Array.from(refit.train.users)).toEqual([0, 0, 0, 1]);
    expect(Array.from(refit.train.targets)).not.toContain(5);
    expect(Array.from(refit.train.targets)).not.toContain(9);
    // validation and test sets are unchanged
    expect(Array.from(refit.test.targets)).toEqual(Array.from(split.test.targets));
    expect(Array.from(refit.valid.histories)).toEqual(Array.from(split.valid.histories));
    expect(Array.from(trainingPart(Uint32Array.from([1, 2, 3, 4]), 'train+valid'))).toEqual([1, 2, 3]);
    expect(() => leaveOneOutSplit(data, { trainOn: 'all' as never })).toThrow(/trainOn/);
  });

  it('rejects a user with fewer than 3 items and a bad maxHistory', () => {
    expect(() => leaveOneOutSplit(ds([[1, 2, 3], [1, 2]]))).toThrow(/user "u1" has 2 item/);
    expect(() => leaveOneOutSplit(data, { maxHistory: 0 })).toThrow(/maxHistory/);
  });
});
