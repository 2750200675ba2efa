/** The run directory: checkpoint pointers, atomic saves, garbage collection, log truncation, config schema. */
import { afterAll, describe, expect, it } from 'vitest';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTrainConfig, TrainConfigSchema } from '../ts/run/config.js';
import { loadRun, readCheckpoint, RunPaths, saveCheckpoint, truncateLog } from '../ts/run/layout.js';
import type { RunModel } from '../ts/run/types.js';

const tmp = mkdtempSync(join(tmpdir(), 'eager-run-layout-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function stubModel(saves: string[], fail = false): RunModel {
  return {
    setLearningRate() {},
    async trainStep() { return { total: 1 }; },
    async recommend() { throw new Error('unused'); },
    async save(dir: string) {
      saves.push(dir);
      writeFileSync(join(dir, 'weights.bin'), 'w');
      if (fail) throw new Error('disk full');
    },
  };
}

const loop = (step: number) => ({ step, batcher: { epoch: 0, offset: step }, bestMetric: 0.5, bestStep: step, evalsWithoutImprovement: 0, stopped: false });

describe('checkpoints', () => {
  it('points best/last at step directories, writes a shared step once, and removes unreferenced ones', async () => {
    const paths = new RunPaths(join(tmp, 'a'));
    const saves: string[] = [];
    const m = stubModel(saves);
    await saveCheckpoint(paths, m, 'best', { step: 10, metrics: { 'ndcg@10': 0.1 } });
    await saveCheckpoint(paths, m, 'last', { step: 10, loopState: loop(10) });
    expect(saves).toHaveLength(1); // same step: written once
    const best = readCheckpoint(paths, 'best')!;
    expect(best.step).toBe(10);
    expect(best.metrics).toEqual({ 'ndcg@10': 0.1 });
    expect(best.loopState!.step).toBe(10);
    expect(best.withTrainingState).toBe(true);
    await saveCheckpoint(paths, m, 'last', { step: 20, loopState: loop(20) });
    await saveCheckpoint(paths, m, 'last', { step: 30, loopState: loop(30) });
    expect(readlinkSync(paths.pointer('best'))).toBe('step-0000010');
    expect(readlinkSync(paths.pointer('last'))).toBe('step-0000030');
    expect(readdirSync(paths.checkpoints).sort()).toEqual(['best', 'last', 'step-0000010', 'step-0000030']);
    expect(existsSync(join(readCheckpoint(paths, 'last')!.dir, 'weights.bin'))).toBe(true);
  });

  it('a failed save leaves the previous checkpoint in place', async () => {
    const paths = new RunPaths(join(tmp, 'b'));
    await saveCheckpoint(paths, stubModel([]), 'last', { step: 5, loopState: loop(5) });
    await expect(saveCheckpoint(paths, stubModel([], true), 'last', { step: 6, loopState: loop(6) })).rejects.toThrow(/disk full/);
    expect(readCheckpoint(paths, 'last')!.step).toBe(5);
    expect(existsSync(join(paths.checkpoints, 'step-0000006'))).toBe(false);
    // the leftover temp dir is cleaned by the next successful save
    await saveCheckpoint(paths, stubModel([]), 'last', { step: 7, loopState: loop(7) });
    expect(readdirSync(paths.checkpoints).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('reads a run copied without symlinks (plain directories)', async () => {
    const paths = new RunPaths(join(tmp, 'c'));
    await saveCheckpoint(paths, stubModel([]), 'best', { step: 3, metrics: {} });
    const copy = new RunPaths(join(tmp, 'c-copy'));
    cpSync(paths.dir, copy.dir, { recursive: true, dereference: true });
    expect(readCheckpoint(copy, 'best')!.step).toBe(3);
    expect(readCheckpoint(copy, 'last')).toBeNull();
  });
});

describe('run directory', () => {
  it('truncateLog keeps lines up to a step and drops a torn last line', () => {
    const paths = new RunPaths(join(tmp, 'd'));
    mkdirSync(paths.dir, { recursive: true });
    writeFileSync(paths.log, [1, 2, 3, 4].map((s) => JSON.stringify({ kind: 'step', step: s })).join('\n') + '\n{"kind":"st');
    truncateLog(paths, 2);
    expect(readFileSync(paths.log, 'utf8')).toBe('{"kind":"step","step":1}\n{"kind":"step","step":2}\n');
  });

  it('loadRun names what is wrong', () => {
    expect(() => loadRun(join(tmp, 'missing'))).toThrow(/no such run directory/);
    const dir = join(tmp, 'e');
    mkdirSync(dir, { recursive: true });
    expect(() => loadRun(dir)).toThrow(/not a run directory/);
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ format: 'eager-run', version: 1 }));
    expect(() => loadRun(dir)).toThrow(/config\.json: backend/);
  });
});

describe('train config', () => {
  it('fills defaults (validation ndcg@10, patience, beam settings)', () => {
    const c = parseTrainConfig({});
    expect(c.eval.metric).toBe('ndcg@10');
    expect(c.eval.decode).toEqual({ beamWidth: 20, merge: 'rescore', semanticWeight: 1 });
    expect(c.schedule.peakLr).toBe(1e-3);
    expect(c.split.maxHistory).toBe(20);
    expect(TrainConfigSchema.parse(c)).toEqual(c); // resolved configs re-validate (config.json)
  });
  it('names every bad field', () => {
    let msg = '';
    try {
      parseTrainConfig({ evalEvery: 0, eval: { decode: { beamWidth: 0, merge: 'x' } }, data: { kcor: 5 } }, 'f.json');
    } catch (e) {
      msg = (e as Error).message;
    }
    for (const part of ['f.json: evalEvery:', 'f.json: eval.decode.beamWidth:', 'f.json: eval.decode.merge:', 'f.json: data: Unrecognized key: "kcor"']) {
      expect(msg).toContain(part);
    }
  });
});
