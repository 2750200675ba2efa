/** The EAGER step of `eager demo`, driven by the pure-TS stand-in model (the native one plugs in the same way). */
import { describe, expect, it } from 'vitest';
import { runDemoPipeline } from '../ts/commands/demo.js';
import { DemoFlagsSchema } from '../ts/config/data.js';
import { availableEagerDemoStep, eagerDemoStep } from '../ts/run/demo.js';
import { fakeBackend, fakeIndexLoader } from './fixtures/run-fake-model.js';

describe('eager demo step', () => {
  it('trains on the synthetic data and is scored on validation and test like the baselines', async () => {
    const flags = DemoFlagsSchema.parse({ users: 200, items: 60, seed: 4 });
    const lines: string[] = [];
    const step = eagerDemoStep({
      backend: fakeBackend(), quiet: true,
      buildIndex: async (ds) => fakeIndexLoader(ds.numItems)('mem'),
      config: { model: {}, maxSteps: 40, evalEvery: 20, batchSize: 32, schedule: { warmupSteps: 0, decay: 'constant' } },
    });
    const report = await runDemoPipeline(flags, [step], (l) => lines.push(l));
    const eager = report.results.filter((r) => r.model === 'eager');
    expect(eager.map((r) => `${r.split}/${r.metrics.mode}`)).toEqual(['valid/full', 'valid/exclude-history', 'test/full', 'test/exclude-history']);
    // far above random (10/60 for R@10) on the planted chains
    expect(eager[0]!.metrics.recall[10]!).toBeGreaterThan(0.4);
    expect(lines.some((l) => /eager: trained 40 steps/.test(l))).toBe(true);
  });

  it('is available with the default in-memory index builder', async () => {
    const r = await availableEagerDemoStep({ backend: fakeBackend(), buildIndex: undefined, quiet: true });
    expect(r.step?.name).toBe('eager');
  });
});
