/**
 * The shared benchmark datasets (../shared/datasets from the repository root): exact published
 * counts, reading time, and the CLI's JSON output. Skipped with a message when the directory
 * is missing (e.g. a fresh clone outside the workspace).
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runDataCommand } from '../ts/commands/data.js';
import { loadDataset } from '../ts/data/load.js';
import { itemText } from '../ts/data/itemText.js';
import { leaveOneOutSplit } from '../ts/data/split.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DATASETS = resolve(ROOT, '..', 'shared', 'datasets');
const present = existsSync(join(DATASETS, 'beauty', 'sequences.txt'));
if (!present) console.warn(`[data-real] skipped: ${DATASETS} not found (the shared benchmark datasets are not available here)`);

const EXPECTED = {
  beauty: { users: 22363, items: 12101, interactions: 198502 },
  sports: { users: 35598, items: 18357, interactions: 296337 },
  toys: { users: 19412, items: 11924, interactions: 167597 },
} as const;

afterEach(() => {
  vi.restoreAllMocks();
});

describe.skipIf(!present)('shared benchmark datasets', () => {
  for (const [name, want] of Object.entries(EXPECTED)) {
    it(`eager data stats ${name} --json prints the published counts`, async () => {
      const log = vi.spyOn(console, 'log').mockImplementation(() => {});
      const code = await runDataCommand(['stats', join(DATASETS, name), '--json']);
      expect(code).toBe(0);
      const out = JSON.parse(String(log.mock.calls[0]![0]));
      expect({ users: out.users, items: out.items, interactions: out.interactions }).toEqual(want);
      expect(out.skipped).toBe(0);
    });
  }

  it('reads beauty in under 2 seconds, with item text and a valid split', async () => {
    const t0 = performance.now();
    const ds = await loadDataset(join(DATASETS, 'beauty'));
    const seconds = (performance.now() - t0) / 1000;
    console.log(`[data-real] beauty read in ${seconds.toFixed(3)} s`);
    expect(seconds).toBeLessThan(2);
    expect(ds.items[1]!.sourceId).toBe('B004756YJA');
    expect(itemText(ds.items[1]!)).toBe('OPI Nail Lacquer, Simmer and Shimmer, 0.5-Fluid Ounce; OPI; Beauty, Makeup, Nails, Nail Polish');
    for (let id = 1; id <= ds.numItems; id++) expect(itemText(ds.items[id]!)).not.toMatch(/undefined|null|\[object/);
    const split = leaveOneOutSplit(ds);
    expect(split.valid.size).toBe(22363);
    // Training samples: sum over users of (n - 3).
    expect(split.train.size).toBe(198502 - 3 * 22363);
  });
});
