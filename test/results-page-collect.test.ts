/**
 * From a finished run to the results page: a run trained with the pure-TS stand-in model is
 * collected into a bench result (as `npm run bench:repro` does after `eager train`), which must
 * carry exactly the run's once-computed test metrics and its curves, and render on the page.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { collectEagerRun, VALID_ALL_FILE } from '../benches/collect.js';
import { runEval } from '../ts/commands/eval.js';
import { buildResultsPage } from '../benches/results-page.js';
import { readConfigCatalogue } from '../benches/bench-config.js';
import { parseBenchResult, type EagerResult } from '../benches/results-schema.js';
import { trainRun } from '../ts/run/train.js';
import { parseTrainConfig } from '../ts/run/config.js';
import { ProgressReporter } from '../ts/train/progress.js';
import { fakeBackend, fakeIndexLoader } from './fixtures/run-fake-model.js';
import { tinyDatasetDir } from './fixtures/run-data.js';

const { dir: dataDir, dataset } = tinyDatasetDir(40, 60, 9);
const tmp = mkdtempSync(join(tmpdir(), 'eager-collect-'));
const runDir = join(tmp, 'run');
let result: EagerResult;

beforeAll(async () => {
  const config = parseTrainConfig({
    schedule: { warmupSteps: 0, decay: 'constant' }, batchSize: 16, maxSteps: 12, evalEvery: 4, seed: 1,
    eval: { decode: { beamWidth: 50 } },
  });
  await trainRun(
    { out: runDir, dataset: dataDir, index: join(tmp, 'idx'), config },
    { backend: fakeBackend(), loadIndex: fakeIndexLoader(dataset.numItems), progress: new ProgressReporter(process.stderr, 10_000, false) },
  );
  result = collectEagerRun({
    root: process.cwd(), runDir, indexDir: join(tmp, 'idx'), datasetName: 'beauty', configName: 'eager', description: 'fake',
    indexConfig: {}, indexReused: false, indexCommandSeconds: 12.5, trainCommandSeconds: 3, loadAtStart: [0.1, 0.2, 0.3],
  });
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
});

describe('collecting a finished run', () => {
  it('copies the test metrics computed once at the end of training, and the curves', () => {
    const onDisk = JSON.parse(readFileSync(join(runDir, 'results.json'), 'utf8')) as {
      test: { full: Record<string, number>; 'exclude-history': Record<string, number> }; bestStep: number;
    };
    const r = parseBenchResult(result, 'collected') as EagerResult;
    expect(r.test.full).toEqual(onDisk.test.full);
    expect(r.test['exclude-history']).toEqual(onDisk.test['exclude-history']);
    expect(Object.keys(r.test.full).sort()).toEqual(['ndcg@10', 'ndcg@20', 'ndcg@5', 'recall@10', 'recall@20', 'recall@5']);
    expect(r.selection.bestStep).toBe(onDisk.bestStep);
    expect(r.selection.stepsRun).toBe(12);
    expect(r.wallSeconds.index).toBe(12.5);
    expect(r.wallSeconds.total).toBeCloseTo(15.5, 6);
    expect(r.curves!.loss.length).toBe(12);
    expect(r.curves!.loss[0]).toHaveProperty('total');
    expect(r.curves!.valid.map((v) => v.step)).toEqual([4, 8, 12]);
    expect(r.provenance.commit).toMatch(/^([0-9a-f]{40}|unknown)$/);
    // when the run itself trained, from its own files (a run may be collected again later)
    expect(Date.parse(r.trained!.startedAt!)).toBeLessThanOrEqual(Date.parse(r.trained!.finishedAt!));
    expect(r.trained!.finishedAt).toBe((JSON.parse(readFileSync(join(runDir, 'results.json'), 'utf8')) as { finishedAt: string }).finishedAt);
    expect(r.provenance.machine.cpus).toBeGreaterThan(0);
  });

  it('reads the full-validation evaluation that `eager eval --split valid --json` wrote into the run', async () => {
    expect(result.validAll).toBeUndefined();
    const printed: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((s: unknown) => { printed.push(String(s)); });
    let code: number;
    try {
      code = await runEval([runDir, '--split', 'valid', '--json'], { backend: fakeBackend(), loadIndex: fakeIndexLoader(dataset.numItems) });
    } finally {
      log.mockRestore();
    }
    expect(code).toBe(0);
    const evaluated = JSON.parse(printed.join('\n')) as { users: number; byRanking: Record<string, Record<string, number>>; seconds: { eval: number } };
    writeFileSync(join(runDir, VALID_ALL_FILE), JSON.stringify(evaluated));
    const opts = {
      root: process.cwd(), runDir, indexDir: join(tmp, 'idx'), datasetName: 'beauty', configName: 'eager', description: 'fake',
      indexConfig: {}, indexReused: false, indexCommandSeconds: 12.5, trainCommandSeconds: 3,
    };
    const r = parseBenchResult(collectEagerRun(opts), 'collected') as EagerResult;
    expect(r.validAll!.users).toBe(dataset.users.length);
    expect(r.validAll!.full).toEqual(evaluated.byRanking.full);
    expect(r.validAll!['exclude-history']).toEqual(evaluated.byRanking['exclude-history']);
    expect(r.wallSeconds.validAll).toBe(evaluated.seconds.eval);
    expect(r.wallSeconds.total).toBeCloseTo(15.5 + evaluated.seconds.eval, 6);
    // a file of the wrong split, or of another checkpoint than the run's best, is refused, naming the file and field
    writeFileSync(join(runDir, VALID_ALL_FILE), JSON.stringify({ ...evaluated, split: 'test' }));
    expect(() => collectEagerRun(opts)).toThrow(/valid-all\.json: split: expected "valid"/);
    writeFileSync(join(runDir, VALID_ALL_FILE), JSON.stringify({ ...evaluated, step: r.selection.bestStep + 1 }));
    expect(() => collectEagerRun(opts)).toThrow(new RegExp(`valid-all\\.json: step: evaluated checkpoint ${r.selection.bestStep + 1}, but the run's best is ${r.selection.bestStep}`));
    rmSync(join(runDir, VALID_ALL_FILE));
  });

  it('collects a final selection made during training: its candidates, and the choice on all users without evaluating again', async () => {
    const selDir = join(tmp, 'run-sel');
    const config = parseTrainConfig({
      schedule: { warmupSteps: 0, decay: 'constant' }, batchSize: 16, maxSteps: 12, evalEvery: 2, seed: 1,
      eval: { decode: { beamWidth: 50 }, validUsers: 5, finalCandidates: 2 },
    });
    const out = await trainRun(
      { out: selDir, dataset: dataDir, index: join(tmp, 'idx'), config },
      { backend: fakeBackend(), loadIndex: fakeIndexLoader(dataset.numItems), progress: new ProgressReporter(process.stderr, 10_000, false) },
    );
    if (out.interrupted) throw new Error('interrupted');
    const fsel = out.results.finalSelection!;
    const r = parseBenchResult(collectEagerRun({
      root: process.cwd(), runDir: selDir, indexDir: join(tmp, 'idx'), datasetName: 'beauty', configName: 'eager', description: 'fake',
      indexConfig: {}, indexReused: false, indexCommandSeconds: 12.5, trainCommandSeconds: 3,
    }), 'collected') as EagerResult;
    expect(r.finalSelection).toEqual(fsel);
    expect(r.finalSelection!.candidates).toHaveLength(2);
    expect(r.selection.bestStep).toBe(out.results.bestStep);
    // validAll is the chosen candidate's all-users evaluation; its time is inside the train command, not added again
    expect(r.validAll!.users).toBe(dataset.users.length);
    expect(r.validAll!.full['ndcg@10']).toBe(fsel.candidates.find((c) => c.step === r.selection.bestStep)!.all);
    expect(r.wallSeconds.finalSelection).toBeGreaterThan(0);
    expect(r.wallSeconds.total).toBeCloseTo(15.5, 6);
    const page = await buildResultsPage([{ file: 'beauty-eager.json', result: r }], { configs: readConfigCatalogue(join(__dirname, '../benches/configs')) });
    expect(page.markdown).toContain(`| ${r.selection.bestStep} (on all users, among ${fsel.candidates.map((c) => c.step).join(', ')}; the sample's: ${fsel.sampleBestStep}) / 12 |`);
  });

  it('counts every session of a resumed run in the total when the train command was not timed by bench:repro', () => {
    // a run resumed once: results.json's `total` is the last session's; `trainAllSessions - train` the earlier ones'
    const resumedDir = join(tmp, 'run-resumed');
    cpSync(runDir, resumedDir, { recursive: true });
    const file = join(resumedDir, 'results.json');
    const onDisk = JSON.parse(readFileSync(file, 'utf8')) as { wallSeconds: Record<string, number> };
    onDisk.wallSeconds = { ...onDisk.wallSeconds, train: 100, trainAllSessions: 160, total: 120 };
    writeFileSync(file, JSON.stringify(onDisk));
    // no trainCommandSeconds: the train command ran outside bench:repro (`--from-run`)
    const opts = {
      root: process.cwd(), runDir: resumedDir, indexDir: join(tmp, 'idx'), datasetName: 'beauty', configName: 'eager', description: 'fake',
      indexConfig: {}, indexReused: false, indexCommandSeconds: 12.5,
    };
    const r = collectEagerRun(opts);
    expect(r.wallSeconds.train).toBe(160);
    expect(r.wallSeconds.total).toBeCloseTo(12.5 + 120 + 60, 6);
    // a run that was never resumed: its own total
    onDisk.wallSeconds = { ...onDisk.wallSeconds, trainAllSessions: 100 };
    writeFileSync(file, JSON.stringify(onDisk));
    expect(collectEagerRun(opts).wallSeconds.total).toBeCloseTo(12.5 + 120, 6);
  });

  it('renders on the page', async () => {
    const page = await buildResultsPage([{ file: 'beauty-eager.json', result }], { configs: readConfigCatalogue(join(__dirname, '../benches/configs')) });
    const f = (k: string) => result.test.full[k]!.toFixed(4);
    expect(page.markdown).toContain(`| **EAGER, this project** | full | ${f('recall@5')} | ${f('recall@10')} | ${f('recall@20')} | `);
    expect(page.images.has('curves-beauty-eager.svg')).toBe(true);
  });
});
