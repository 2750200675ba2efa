import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSynthetic } from '../ts/data/synthetic.js';
import { leaveOneOutSplit } from '../ts/data/split.js';
import { EpochBatcher } from '../ts/train/batcher.js';
import { learningRate, LrScheduleSchema } from '../ts/train/schedule.js';
import { runTrainingLoop, NonFiniteLossError, type TrainableModel, type LoopState } from '../ts/train/loop.js';
import { ProgressReporter } from '../ts/train/progress.js';

const split = leaveOneOutSplit(generateSynthetic({ numItems: 60, numUsers: 80, seed: 3 }));

describe('learning-rate schedule', () => {
  it('matches the released code: linear warm-up from 1e-7, then peak*sqrt(warmup/step)', () => {
    const s = LrScheduleSchema.parse({ peakLr: 1e-3, warmupSteps: 2000 });
    expect(learningRate(0, s, 10_000)).toBeCloseTo(1e-7, 12);
    expect(learningRate(1000, s, 10_000)).toBeCloseTo(1e-7 + (1e-3 - 1e-7) / 2, 12);
    expect(learningRate(2000, s, 10_000)).toBeCloseTo(1e-3, 12);
    expect(learningRate(8000, s, 10_000)).toBeCloseTo(5e-4, 12);
  });
  it('linear and cosine decay reach minLr at the last step', () => {
    const lin = LrScheduleSchema.parse({ peakLr: 1e-2, warmupSteps: 0, decay: 'linear', minLr: 1e-4 });
    expect(learningRate(100, lin, 100)).toBeCloseTo(1e-4, 12);
    const cos = LrScheduleSchema.parse({ peakLr: 1e-2, warmupSteps: 10, decay: 'cosine' });
    expect(learningRate(10, cos, 110)).toBeCloseTo(1e-2, 12);
    expect(learningRate(60, cos, 110)).toBeCloseTo(5e-3, 12);
  });
  it('rejects a bad schedule naming the field', () => {
    const r = LrScheduleSchema.safeParse({ peakLr: -1 });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.path).toEqual(['peakLr']);
  });
});

describe('EpochBatcher', () => {
  it('is deterministic, covers every sample once per epoch, and resumes exactly', () => {
    const a = new EpochBatcher(split.train, 16, 7);
    const seen = new Map<number, number>();
    const first: number[][] = [];
    for (let i = 0; i < a.batchesPerEpoch; i++) {
      const b = a.next();
      first.push(Array.from(b.targets));
    }
    const b = new EpochBatcher(split.train, 16, 7);
    for (let i = 0; i < first.length; i++) expect(Array.from(b.next().targets)).toEqual(first[i]);
    // every sample appears at most once per epoch (targets are counted per sample index via histories)
    expect(first.flat().length).toBeGreaterThanOrEqual(split.train.size - 8);
    for (const t of first.flat()) seen.set(t, (seen.get(t) ?? 0) + 1);
    // resume mid-epoch
    const c = new EpochBatcher(split.train, 16, 7);
    c.next();
    c.next();
    const pos = c.position;
    const expected = Array.from(c.next().targets);
    const d = new EpochBatcher(split.train, 16, 7, pos);
    expect(Array.from(d.next().targets)).toEqual(expected);
    // another seed gives another order
    expect(Array.from(new EpochBatcher(split.train, 16, 8).next().targets)).not.toEqual(first[0]);
  });
});

/** A deterministic fake model whose loss falls with the number of samples seen. */
function fakeModel(nanAt = -1): TrainableModel & { seen: number } {
  return {
    seen: 0,
    setLearningRate() {},
    async trainStep(batch) {
      this.seen += batch.batchSize;
      const total = this.seen === nanAt * batch.batchSize ? NaN : 10 / (1 + this.seen / 100);
      return { total };
    },
  };
}

describe('runTrainingLoop', () => {
  const quiet = new ProgressReporter(process.stderr, 10_000, false);
  const base = (runDir: string, validateSeq: number[]) => {
    let v = 0;
    const saved: number[] = [];
    return {
      saved,
      opts: {
        runDir, train: split.train, batchSize: 8, seed: 1, maxSteps: 40,
        schedule: LrScheduleSchema.parse({ warmupSteps: 5 }), evalEvery: 5, patience: 2,
        metricKey: 'ndcg@10',
        validate: async () => ({ 'ndcg@10': validateSeq[v++] ?? 0 }),
        saveBest: async (s: LoopState) => { saved.push(s.step); },
        saveLast: async () => {},
        progress: quiet,
      },
    };
  };

  it('keeps the best validation step and stops early after `patience` non-improvements', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eager-loop-'));
    const { opts, saved } = base(dir, [0.1, 0.3, 0.2, 0.25, 0.5]);
    const res = await runTrainingLoop(fakeModel(), opts);
    expect(saved).toEqual([5, 10]);
    expect(res.state.bestStep).toBe(10);
    expect(res.state.step).toBe(20);
    const lines = readFileSync(join(dir, 'train-log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.filter((l) => l.kind === 'step')).toHaveLength(20);
    expect(lines.filter((l) => l.kind === 'valid').map((l) => l['ndcg@10'])).toEqual([0.1, 0.3, 0.2, 0.25]);
  });

  it('without validation (a refit) runs to stopAt, saves the end as best, and keeps the schedule of maxSteps', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eager-loop-'));
    const { opts, saved } = base(dir, []);
    const { validate: _v, ...noValidation } = opts;
    const lrs: number[] = [];
    const model = { ...fakeModel(), setLearningRate(lr: number) { lrs.push(lr); } };
    const lasts: number[] = [];
    const schedule = LrScheduleSchema.parse({ warmupSteps: 5, decay: 'cosine' });
    const res = await runTrainingLoop(model, { ...noValidation, schedule, stopAt: 23, saveLast: async (st: LoopState) => { lasts.push(st.step); } });
    expect(res.state.step).toBe(23);
    expect(res.state.bestStep).toBe(23);
    expect(saved).toEqual([23]);
    expect(lasts).toEqual([5, 10, 15, 20, 23]);
    // the rate of update 22 is the 40-step schedule's, not a 23-step one's
    expect(lrs[22]).toBeCloseTo(learningRate(22, schedule, 40), 12);
    expect(lrs[22]).not.toBeCloseTo(learningRate(22, schedule, 23), 6);
    const lines = readFileSync(join(dir, 'train-log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.filter((l) => l.kind === 'valid')).toEqual([]);
  });

  it('stops with a clear error on a non-finite loss', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eager-loop-'));
    const { opts } = base(dir, [0.1, 0.2, 0.3]);
    await expect(runTrainingLoop(fakeModel(7), opts)).rejects.toBeInstanceOf(NonFiniteLossError);
  });
});
