/**
 * `npm run bench:ensemble`'s rules that hold before anything is evaluated: which results may be
 * members, where a member's refit is found, and that the test stage runs once, after validation,
 * for the members validation saw.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findRefit, runEnsembleBench, EnsembleFlagsSchema } from '../benches/ensemble.js';

const root = mkdtempSync(join(tmpdir(), 'ensemble-bench-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const template = JSON.parse(readFileSync(join(__dirname, 'fixtures/bench-results/beauty-eager.json'), 'utf8'));
const split = { users: 10, full: { 'ndcg@10': 0.05 }, 'exclude-history': {} };

function write(rel: string, patch: Record<string, unknown>): string {
  const p = join(root, rel);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, JSON.stringify({ ...template, validAll: split, ...patch }));
  return rel;
}

const a = write('benches/results/beauty-a.json', { configName: 'a' });
const b = write('benches/results/beauty-b.json', { configName: 'b' });
write('benches/results/refit/beauty-a.json', { configName: 'a', refit: { of: a, step: 10, selectedTest: split } });
write('benches/results/refit/beauty-a-with-index.json', { configName: 'a', refit: { of: a, step: 10, selectedTest: split, index: { behaviourEpochs: 3 } } });
write('benches/results/experiments/x/refit/beauty-b.json', { configName: 'b', refit: { of: b, step: 10, selectedTest: split } });
const flags = (o: Record<string, unknown>) => EnsembleFlagsSchema.parse({ results: join(root, 'benches/results'), ...o });

describe('bench:ensemble', () => {
  it('finds each member\'s refit on its own index anywhere under the results, and says how to make a missing one', () => {
    const results = join(root, 'benches/results');
    expect(findRefit(root, results, a).file).toBe('benches/results/refit/beauty-a.json');
    expect(findRefit(root, results, b).file).toBe('benches/results/experiments/x/refit/beauty-b.json');
    expect(() => findRefit(root, results, 'benches/results/beauty-c.json')).toThrow(/no refit of benches\/results\/beauty-c\.json.*--refit-of/);
    write('benches/results/experiments/y/beauty-b-copy.json', { configName: 'b', refit: { of: b, step: 10, selectedTest: split } });
    expect(() => findRefit(root, results, b)).toThrow(/2 refits of benches\/results\/beauty-b\.json/);
    rmSync(join(results, 'experiments/y'), { recursive: true });
  });

  it('refuses members that are not finished runs of one dataset, and a test stage that was not validated or was run', async () => {
    const run = (o: Record<string, unknown>) => runEnsembleBench(root, flags({ name: 'ab', ...o }));
    await expect(run({ members: a })).rejects.toThrow(/at least two/);
    await expect(run({ members: `${a},${a}` })).rejects.toThrow(/named twice/);
    await expect(run({ members: `${a},benches/results/refit/beauty-a.json` })).rejects.toThrow(/is a refit/);
    const noValid = write('benches/results/beauty-novalid.json', { configName: 'n', validAll: undefined });
    await expect(run({ members: `${a},${noValid}` })).rejects.toThrow(/has no validAll/);
    const sports = write('benches/results/sports-a.json', { configName: 'a', dataset: 'sports' });
    await expect(run({ members: `${a},${sports}` })).rejects.toThrow(/is on sports/);
    await expect(run({ members: `${a},${b}`, stage: 'test' })).rejects.toThrow(/run --stage valid first/);
    const out = join(root, 'benches/results/ensemble/beauty-ab.json');
    mkdirSync(join(out, '..'), { recursive: true });
    const validated = {
      format: 'eager-bench-result', version: 1, kind: 'ensemble', dataset: 'beauty', name: 'ab',
      members: [a, b].map((result) => ({ result, configName: 'x', seed: 1, step: 10, validAll: split })),
      valid: split, wallSeconds: {}, provenance: template.provenance,
    };
    writeFileSync(out, JSON.stringify(validated));
    await expect(run({ members: `${b},${a}`, stage: 'test' })).rejects.toThrow(/not the members/);
    writeFileSync(out, JSON.stringify({ ...validated, test: split }));
    await expect(run({ members: `${a},${b}`, stage: 'test' })).rejects.toThrow(/already has its test/);
    await expect(run({ members: `${a},${b}` })).rejects.toThrow(/has its test already/);
    expect(() => flags({ name: 'Bad Name' })).toThrow(/name/);
  });
});
