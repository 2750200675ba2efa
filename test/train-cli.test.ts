/**
 * `eager train` end to end with a pure-TS stand-in model (test/fixtures/run-fake-model.ts): run
 * layout, validation-only model selection, test once at the end, resume after a crash equal to
 * an uninterrupted run, NaN handling and config errors.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, readlinkSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTrain } from '../ts/commands/train.js';
import { runEval } from '../ts/commands/eval.js';
import { loadRun } from '../ts/run/layout.js';
import type { RunResults } from '../ts/run/layout.js';
import { fakeBackend, fakeControl, fakeIndexLoader } from './fixtures/run-fake-model.js';
import { tinyDatasetDir } from './fixtures/run-data.js';

const { dir: dataDir, dataset } = tinyDatasetDir(40, 60, 5);
const tmp = mkdtempSync(join(tmpdir(), 'eager-train-cli-'));
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
});

const baseConfig = {
  model: { smoothing: 0.5 },
  schedule: { peakLr: 1e-3, warmupSteps: 2, decay: 'constant' },
  batchSize: 16,
  maxSteps: 24,
  evalEvery: 6,
  patience: 0,
  seed: 3,
  eval: { decode: { beamWidth: 10 }, batchSize: 32 },
};

function writeConfig(name: string, cfg: unknown): string {
  const p = join(tmp, name);
  writeFileSync(p, JSON.stringify(cfg));
  return p;
}

let logs: string[] = [];
beforeEach(() => {
  logs = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void logs.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation(() => {});
  fakeControl.failAtStep = -1;
  fakeControl.sigintAtStep = -1;
});
afterEach(() => vi.restoreAllMocks());

const deps = () => ({ backend: fakeBackend(), loadIndex: fakeIndexLoader(dataset.numItems) });
const logLines = (run: string) => readFileSync(join(run, 'train-log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));

describe('eager train', () => {
  it('writes the run layout and tests the best checkpoint once', async () => {
    const out = join(tmp, 'run-a');
    const d = deps();
    const code = await runTrain([dataDir, '--index', join(tmp, 'idx'), '--out', out, '--config', writeConfig('a.json', baseConfig), '--quiet', '--json'], d);
    expect(code).toBe(0);
    const results = JSON.parse(logs.at(-1)!) as RunResults;
    for (const f of ['config.json', 'items.json', 'train-log.jsonl', 'results.json']) expect(existsSync(join(out, f))).toBe(true);
    // best and last are symlinks to step directories; nothing else is left behind
    const names = readdirSync(join(out, 'checkpoints')).sort();
    expect(names.filter((n) => n.startsWith('.'))).toEqual([]);
    expect(readlinkSync(join(out, 'checkpoints', 'last'))).toBe('step-0000024');
    expect(names.filter((n) => n.startsWith('step-')).length).toBeLessThanOrEqual(2);
    const run = loadRun(out);
    expect(run.last!.step).toBe(24);
    expect(run.best!.step).toBe(results.bestStep);
    expect(run.last!.loopState!.step).toBe(24);
    // results: both ranking modes, keys recall@5 .. ndcg@20, the config and timings
    expect(Object.keys(results.test.full).sort()).toEqual(['ndcg@10', 'ndcg@20', 'ndcg@5', 'recall@10', 'recall@20', 'recall@5']);
    expect(Object.keys(results.test['exclude-history']).length).toBe(6);
    expect(results.test.users).toBe(dataset.sequences.length);
    expect(results.seed).toBe(3);
    expect(results.config.train.maxSteps).toBe(24);
    expect(results.wallSeconds.train).toBeGreaterThan(0);
    expect(results.wallSeconds.test).toBeGreaterThanOrEqual(0);
    // the transition model learns the planted chains: far above random (1/40 for R@1)
    expect(results.test.full['recall@10']!).toBeGreaterThan(0.4);
    // test metrics come from the best checkpoint, loaded once for inference after training
    expect(d.backend.stats.created).toBe(1);
    expect(d.backend.stats.loaded).toEqual([{ dir: run.best!.dir, withTrainingState: false }]);
    // log: every step and 4 validations with the validation metric
    const lines = logLines(out);
    expect(lines.filter((l) => l.kind === 'step').length).toBe(24);
    const valids = lines.filter((l) => l.kind === 'valid');
    expect(valids.map((l) => l.step)).toEqual([6, 12, 18, 24]);
    expect(valids.every((l) => typeof l['ndcg@10'] === 'number')).toBe(true);
    expect(results.valid.full['ndcg@10']).toBe(Math.max(...valids.map((l) => l['ndcg@10'])));
    // config.json records the resolved model config
    expect(run.config.train.model).toEqual({ smoothing: 0.5, nanAtStep: -1 });
    expect(run.items!.titles[1]).toBe(dataset.items[1]!.title);
  });

  it('a refit (split.trainOn train+valid, stopAt) validates nothing, stops at stopAt, tests its end once; eval refuses its validation split', async () => {
    const out = join(tmp, 'run-refit');
    const d = deps();
    const cfg = { ...baseConfig, split: { trainOn: 'train+valid' }, stopAt: 18, eval: { ...baseConfig.eval, validUsers: 10, finalCandidates: 3 } };
    const code = await runTrain([dataDir, '--index', join(tmp, 'idx'), '--out', out, '--config', writeConfig('refit.json', cfg), '--quiet', '--json'], d);
    expect(code).toBe(0);
    const results = JSON.parse(logs.at(-1)!) as RunResults;
    expect(results.bestStep).toBe(18);
    expect(results.stepsRun).toBe(18);
    expect(results.valid).toEqual({ users: 0, full: {} });
    expect(results.finalSelection).toBeUndefined();
    expect(results.test.users).toBe(dataset.sequences.length);
    const lines = logLines(out);
    expect(lines.filter((l) => l.kind === 'valid')).toEqual([]);
    expect(lines.filter((l) => l.kind === 'step')).toHaveLength(18);
    expect(d.backend.stats.loaded).toEqual([{ dir: loadRun(out).best!.dir, withTrainingState: false }]);
    await expect(runEval([out, '--split', 'valid'], d)).rejects.toThrow(/refit.*trained on the validation targets/);
    await expect(runTrain([dataDir, '--index', join(tmp, 'idx'), '--out', join(tmp, 'run-refit-bad'), '--config',
      writeConfig('refit-bad.json', { ...cfg, stopAt: 30 }), '--quiet'], deps())).rejects.toThrow(/stopAt: 30 is beyond maxSteps \(24\)/);
    expect(existsSync(join(tmp, 'run-refit-bad'))).toBe(false);
    // an index whose behaviour embeddings trained on the validation targets serves a refit only
    const refitIndex = async (dir: string) => {
      const idx = await fakeIndexLoader(dataset.numItems)(dir);
      return { ...idx, manifest: { ...idx.manifest, behaviour: { source: 'sasrec', trainOn: 'train+valid' } } };
    };
    await expect(runTrain([dataDir, '--index', 'idx', '--out', join(tmp, 'run-select-bad'), '--config', writeConfig('sel.json', baseConfig), '--quiet'],
      { backend: fakeBackend(), loadIndex: refitIndex })).rejects.toThrow(/idx: its behaviour embeddings trained on the validation targets.*only a refit/);
    expect(existsSync(join(tmp, 'run-select-bad'))).toBe(false);
    expect(await runTrain([dataDir, '--index', 'idx', '--out', join(tmp, 'run-refit-idx'), '--config', writeConfig('refit.json', cfg), '--quiet'],
      { backend: fakeBackend(), loadIndex: refitIndex })).toBe(0);
    // evaluating or serving: the refit with its index is fine, a run that selected on validation is refused such an index
    expect(await runEval([join(tmp, 'run-refit-idx'), '--json'], { backend: fakeBackend(), loadIndex: refitIndex })).toBe(0);
    await expect(runEval([join(tmp, 'run-a'), '--index', 'idx-refit', '--json'], { backend: fakeBackend(), loadIndex: refitIndex }))
      .rejects.toThrow(/idx-refit: its behaviour embeddings trained on the validation targets.*only a refit/);
    const garbled = async (dir: string) => ({ ...(await refitIndex(dir)), manifest: { numItems: dataset.numItems, behaviour: { trainOn: 'valid' } } });
    for (const [out, c] of [['run-garbled', baseConfig], ['run-garbled-refit', cfg]] as const) {
      await expect(runTrain([dataDir, '--index', 'idx', '--out', join(tmp, out), '--config', writeConfig('g.json', c), '--quiet'],
        { backend: fakeBackend(), loadIndex: garbled })).rejects.toThrow(/idx\/manifest\.json: behaviour\.trainOn: expected "train" or "train\+valid", found "valid"/);
    }
  });

  it('--resume after a crash reaches exactly the uninterrupted result', async () => {
    const cfg = writeConfig('r.json', baseConfig);
    const full = join(tmp, 'run-full');
    expect(await runTrain([dataDir, '--index', 'idx', '--out', full, '--config', cfg, '--quiet'], deps())).toBe(0);

    const part = join(tmp, 'run-part');
    fakeControl.failAtStep = 15; // crashes after the checkpoint at step 12
    await expect(runTrain([dataDir, '--index', 'idx', '--out', part, '--config', cfg, '--quiet'], deps())).rejects.toThrow(/simulated crash/);
    expect(loadRun(part).last!.step).toBe(12);
    expect(existsSync(join(part, 'results.json'))).toBe(false);
    fakeControl.failAtStep = -1;
    const d = deps();
    expect(await runTrain(['--resume', '--out', part, '--quiet'], d)).toBe(0);
    expect(d.backend.stats.loaded[0]).toEqual({ dir: loadRun(part).paths.dir + '/checkpoints/step-0000012', withTrainingState: true });

    const a = JSON.parse(readFileSync(join(full, 'results.json'), 'utf8')) as RunResults;
    const b = JSON.parse(readFileSync(join(part, 'results.json'), 'utf8')) as RunResults;
    expect(b.test).toEqual(a.test);
    expect(b.bestStep).toBe(a.bestStep);
    // the resumed log reads as one run: same steps, same losses
    const strip = (ls: Record<string, unknown>[]) => ls.map(({ t: _t, samplesPerSec: _s, ...rest }) => rest);
    expect(strip(logLines(part))).toEqual(strip(logLines(full)));
    // a finished run cannot be resumed
    await expect(runTrain(['--resume', '--out', part, '--quiet'], deps())).rejects.toMatchObject({ code: 'EAGER_BAD_RUN' });
  });

  it('chooses among the checkpoints best on the sample by every validation user, and resumes to the same choice', async () => {
    const selCfg = { ...baseConfig, seed: 1, maxSteps: 30, evalEvery: 3, eval: { ...baseConfig.eval, validUsers: 6, finalCandidates: 3 } };
    const cfg = writeConfig('sel.json', selCfg);
    const out = join(tmp, 'run-sel');
    expect(await runTrain([dataDir, '--index', 'idx', '--out', out, '--config', cfg, '--quiet', '--json'], deps())).toBe(0);
    const results = JSON.parse(logs.at(-1)!) as RunResults;
    const sel = results.finalSelection!;
    const valids = logLines(out).filter((l) => l.kind === 'valid') as { step: number; 'ndcg@10': number }[];
    expect(valids).toHaveLength(10);
    // kept: the three best on the sample (of equal values the earlier step), listed in step order
    const kept = [...valids].sort((a, b) => b['ndcg@10'] - a['ndcg@10'] || a.step - b.step).slice(0, 3).map((v) => v.step).sort((a, b) => a - b);
    expect(sel.candidates.map((c) => c.step)).toEqual(kept);
    expect(sel.candidates.map((c) => c.sample)).toEqual(kept.map((k) => valids.find((v) => v.step === k)!['ndcg@10']));
    expect(sel.sampleBestStep).toBe([...valids].sort((a, b) => b['ndcg@10'] - a['ndcg@10'] || a.step - b.step)[0]!.step);
    expect(sel.users).toBe(dataset.sequences.length);
    // the choice is the candidate best on all users, and `best` points at it
    expect(sel.candidates.find((c) => c.step === results.bestStep)!.all).toBe(Math.max(...sel.candidates.map((c) => c.all)));
    expect(loadRun(out).best!.step).toBe(results.bestStep);
    // with this seed the 6-user sample and all users disagree (sample: step 15, all users: 21), so the choice moved
    expect([sel.sampleBestStep, results.bestStep]).toEqual([15, 21]);
    expect(results.valid.full['ndcg@10']).toBe(valids.find((v) => v.step === results.bestStep)!['ndcg@10']);
    // only the candidates and last are left on disk
    const dirs = readdirSync(join(out, 'checkpoints')).filter((n) => n.startsWith('step-')).sort();
    expect(dirs).toEqual([...new Set([...kept, 30])].sort((a, b) => a - b).map((k) => `step-${String(k).padStart(7, '0')}`));
    // each all-users value is what `eager eval --split valid` computes for that checkpoint (checked on the chosen one),
    // and valid-all.json holds it in that command's shape
    const validAll = JSON.parse(readFileSync(join(out, 'valid-all.json'), 'utf8')) as { step: number; users: number; byRanking: unknown };
    logs = [];
    expect(await runEval([out, '--split', 'valid', '--json'], deps())).toBe(0);
    const ev = JSON.parse(logs.at(-1)!) as { step: number; users: number; byRanking: { full: Record<string, number> } };
    expect(ev.step).toBe(results.bestStep);
    expect(validAll.step).toBe(results.bestStep);
    expect(validAll.users).toBe(ev.users);
    expect(validAll.byRanking).toEqual(ev.byRanking);
    expect(ev.byRanking.full['ndcg@10']).toBe(sel.candidates.find((c) => c.step === results.bestStep)!.all);

    // a crash after the checkpoint at 15, then --resume: the same candidates, choice and test metrics
    const part = join(tmp, 'run-sel-part');
    fakeControl.failAtStep = 16;
    await expect(runTrain([dataDir, '--index', 'idx', '--out', part, '--config', cfg, '--quiet'], deps())).rejects.toThrow(/simulated crash/);
    fakeControl.failAtStep = -1;
    expect(await runTrain(['--resume', '--out', part, '--quiet'], deps())).toBe(0);
    const resumed = JSON.parse(readFileSync(join(part, 'results.json'), 'utf8')) as RunResults;
    expect(resumed.finalSelection!.candidates).toEqual(sel.candidates);
    expect(resumed.bestStep).toBe(results.bestStep);
    expect(resumed.test).toEqual(results.test);

    // validating on every user already: no final selection, no candidates
    const allCfg = writeConfig('sel-all.json', { ...selCfg, eval: { ...selCfg.eval, validUsers: 0 } });
    const plain = join(tmp, 'run-sel-all');
    expect(await runTrain([dataDir, '--index', 'idx', '--out', plain, '--config', allCfg, '--quiet'], deps())).toBe(0);
    expect((JSON.parse(readFileSync(join(plain, 'results.json'), 'utf8')) as RunResults).finalSelection).toBeUndefined();
    expect(existsSync(join(plain, 'checkpoints', 'candidates.json'))).toBe(false);
    expect(existsSync(join(plain, 'valid-all.json'))).toBe(false);
  });

  it('Ctrl-C saves a checkpoint at the current step, exits 130, and --resume finishes the run', async () => {
    const out = join(tmp, 'run-int');
    const cfg = writeConfig('i.json', baseConfig);
    fakeControl.sigintAtStep = 8;
    expect(await runTrain([dataDir, '--index', 'idx', '--out', out, '--config', cfg, '--quiet'], deps())).toBe(130);
    expect(loadRun(out).last!.step).toBe(9);
    fakeControl.sigintAtStep = -1;
    expect(await runTrain(['--resume', '--out', out, '--quiet'], deps())).toBe(0);
    const a = JSON.parse(readFileSync(join(tmp, 'run-full', 'results.json'), 'utf8')) as RunResults;
    const b = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as RunResults;
    expect(b.test).toEqual(a.test);
  });

  it('resumes a run interrupted before its first validation', async () => {
    const out = join(tmp, 'run-early-int');
    fakeControl.sigintAtStep = 2;
    expect(await runTrain([dataDir, '--index', 'idx', '--out', out, '--config', writeConfig('e.json', baseConfig), '--quiet'], deps())).toBe(130);
    expect(loadRun(out).best).toBeNull();
    fakeControl.sigintAtStep = -1;
    expect(await runTrain(['--resume', '--out', out, '--quiet'], deps())).toBe(0);
    const a = JSON.parse(readFileSync(join(tmp, 'run-full', 'results.json'), 'utf8')) as RunResults;
    expect((JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as RunResults).test).toEqual(a.test);
  });

  it('stops on a NaN loss with a clear error and keeps the last good checkpoint', async () => {
    const out = join(tmp, 'run-nan');
    const cfg = writeConfig('nan.json', { ...baseConfig, model: { nanAtStep: 9 } });
    await expect(runTrain([dataDir, '--index', 'idx', '--out', out, '--config', cfg, '--quiet'], deps()))
      .rejects.toMatchObject({ code: 'EAGER_NUMERIC' });
    expect(loadRun(out).last!.step).toBe(6);
    expect(existsSync(join(out, 'results.json'))).toBe(false);
  });

  it('rejects bad configs naming the file and field, and refuses to overwrite a run', async () => {
    const bad = writeConfig('bad.json', { ...baseConfig, schedule: { peakLr: -1 }, batchSise: 3 });
    const err = await runTrain([dataDir, '--index', 'idx', '--out', join(tmp, 'x'), '--config', bad], deps()).catch((e) => e);
    expect(err.code).toBe('EAGER_CONFIG');
    expect(err.message).toContain('bad.json');
    expect(err.message).toContain('schedule.peakLr');
    expect(err.message).toContain('batchSise');
    const eval_ = writeConfig('bad2.json', { eval: { metric: 'ndcg@7' } });
    await expect(runTrain([dataDir, '--index', 'idx', '--out', join(tmp, 'y'), '--config', eval_], deps())).rejects.toThrow(/eval\.metric/);
    const notJson = join(tmp, 'nj.json');
    writeFileSync(notJson, '{ nope');
    await expect(runTrain([dataDir, '--index', 'idx', '--out', join(tmp, 'z'), '--config', notJson], deps())).rejects.toThrow(/nj\.json: not valid JSON/);
    // the model config is validated by the backend
    const badModel = writeConfig('bm.json', { ...baseConfig, model: { smoothing: 'x' } });
    await expect(runTrain([dataDir, '--index', 'idx', '--out', join(tmp, 'w'), '--config', badModel], deps())).rejects.toThrow(/smoothing/);
    // usage errors
    await expect(runTrain([dataDir, '--out', join(tmp, 'u')], deps())).rejects.toThrow(/--index: required/);
    await expect(runTrain(['--resume', '--out', join(tmp, 'u'), '--seed', '3'], deps())).rejects.toThrow(/--resume/);
    // an existing run is not overwritten
    await expect(runTrain([dataDir, '--index', 'idx', '--out', join(tmp, 'run-a'), '--quiet'], deps())).rejects.toThrow(/already holds a run/);
    // an index of another catalogue is rejected
    await expect(runTrain([dataDir, '--index', 'idx', '--out', join(tmp, 'v'), '--quiet'], { backend: fakeBackend(), loadIndex: fakeIndexLoader(7) }))
      .rejects.toThrow(/index .*idx has 7 items but dataset/);
    // an index built from other data (same size) is rejected by its dataset fingerprint
    const otherIndex = async (dir: string) => ({ ...(await fakeIndexLoader(dataset.numItems)(dir)), manifest: { numItems: dataset.numItems, datasetFingerprint: 'sha256:0' } });
    await expect(runTrain([dataDir, '--index', 'idx', '--out', join(tmp, 'v2'), '--quiet'], { backend: fakeBackend(), loadIndex: otherIndex }))
      .rejects.toThrow(/was built from another dataset/);
  });
});
