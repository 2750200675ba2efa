/**
 * `bench:repro --refit-of <result> --refit-index`: the plan for the refit's index, read from the
 * selected index's manifest (benches/refit-index.ts).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planRefitIndex } from '../benches/refit-index.js';
import { IndexConfigSchema } from '../ts/indexing/config.js';

const tmp = mkdtempSync(join(tmpdir(), 'eager-refit-index-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function writeManifest(dir: string, manifest: unknown): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
  return dir;
}

const stage1Config = IndexConfigSchema.parse({ seed: 7, behaviour: { source: 'sasrec', sasrec: { hidden: 32 } }, codes: { k: 64 } });
const stage1 = { config: stage1Config, datasetFingerprint: 'sha256:aa', behaviour: { source: 'sasrec', bestEpoch: 21, trainOn: 'train' } };

describe('the index of a refit', () => {
  it('is the selected index config with its SASRec on train + valid for the epochs that build chose', () => {
    const dir = writeManifest(join(tmp, 'a', 'index-1'), stage1);
    const plan = planRefitIndex(dir);
    expect(plan.dir).toBe(`${dir}-refit`);
    expect(plan.epochs).toBe(21);
    expect(plan.build).toBe(true);
    expect(plan.config).toMatchObject({ seed: 7, codes: { k: 64 }, behaviour: { source: 'sasrec', sasrec: { hidden: 32, trainOn: 'train+valid', epochs: 21 } } });
    expect(plan.config.semantic).toEqual(stage1Config.semantic);
  });

  it('reuses an earlier build only when config, dataset and trainOn all match, and never with fresh', () => {
    const dir = writeManifest(join(tmp, 'b', 'index-1'), stage1);
    const planned = planRefitIndex(dir);
    const built = { config: IndexConfigSchema.parse(planned.config), datasetFingerprint: 'sha256:aa', behaviour: { source: 'sasrec', bestEpoch: 21, trainOn: 'train+valid' } };
    writeManifest(planned.dir, built);
    expect(planRefitIndex(dir).build).toBe(false);
    expect(planRefitIndex(dir, true).build).toBe(true);
    writeManifest(planned.dir, { ...built, datasetFingerprint: 'sha256:bb' });
    expect(planRefitIndex(dir).build).toBe(true);
    writeManifest(planned.dir, { ...built, behaviour: { ...built.behaviour, trainOn: 'train' } });
    expect(planRefitIndex(dir).build).toBe(true);
    writeManifest(planned.dir, { ...built, config: IndexConfigSchema.parse({ ...planned.config, seed: 8 }) });
    expect(planRefitIndex(dir).build).toBe(true);
  });

  it('refuses an index without a SASRec to train again, or without its chosen epoch, naming the manifest', () => {
    const file = writeManifest(join(tmp, 'c', 'index-f'), { ...stage1, config: { ...stage1Config, behaviour: { source: 'file', path: '/x.npy' } } });
    expect(() => planRefitIndex(file)).toThrow(/index-f\/manifest\.json: config\.behaviour\.source is "file", not "sasrec"/);
    const noEpoch = writeManifest(join(tmp, 'c', 'index-e'), { ...stage1, behaviour: { source: 'sasrec' } });
    expect(() => planRefitIndex(noEpoch)).toThrow(/index-e\/manifest\.json: behaviour\.bestEpoch is undefined/);
    expect(() => planRefitIndex(join(tmp, 'c', 'missing'))).toThrow(/missing\/manifest\.json: missing/);
    const bad = writeManifest(join(tmp, 'c', 'index-b'), { ...stage1, config: { ...stage1Config, codes: { k: 1 } } });
    expect(() => planRefitIndex(bad)).toThrow(/index-b\/manifest\.json.*codes\.k/);
  });
});
