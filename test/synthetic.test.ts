import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_DEMO_STEPS, runDemo, runDemoPipeline, type DemoModelStep } from '../ts/commands/demo.js';
import { DemoFlagsSchema } from '../ts/config/data.js';
import { itemText } from '../ts/data/itemText.js';
import { leaveOneOutSplit } from '../ts/data/split.js';
import { generateSynthetic, generateSyntheticWithTruth } from '../ts/data/synthetic.js';
import { mostPopularRecommender, transitionRecommender } from '../ts/eval/baselines.js';
import { evaluateRecommender } from '../ts/eval/recommender.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('synthetic dataset', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    const a = generateSynthetic({ seed: 3 });
    const b = generateSynthetic({ seed: 3 });
    const c = generateSynthetic({ seed: 4 });
    expect(b).toEqual(a);
    expect(c.sequences).not.toEqual(a.sequences);
  });

  it('has the default shape: ~600 items, 2000 users, lengths 5..20, valid ids, text per item', () => {
    const ds = generateSynthetic();
    expect(ds.numItems).toBe(600);
    expect(ds.users).toHaveLength(2000);
    expect(ds.items).toHaveLength(601);
    const bad = ds.sequences.filter((s) => s.length < 5 || s.length > 20 || s.some((id) => id < 1 || id > 600));
    expect(bad).toEqual([]);
    const text = itemText(ds.items[1]!);
    expect(text).toMatch(/Synthetic Store/);
    expect(text).not.toMatch(/undefined/);
    expect(ds.items.filter((it) => it.brand === undefined).length).toBeGreaterThan(1); // some lack a brand
  });

  it('plants chains that partly agree (same category) and partly disagree (cross category) with text', () => {
    const { dataset, truth, config } = generateSyntheticWithTruth();
    let pairs = 0;
    let followed = 0;
    let crossFollowed = 0;
    let sameCategory = 0;
    for (const s of dataset.sequences) {
      for (let j = 1; j < s.length; j++) {
        pairs++;
        const a = s[j - 1]!;
        const b = s[j]!;
        if (b === truth.successor[a] || b === truth.successor[truth.successor[a]!]) {
          followed++;
          if (truth.category[a] !== truth.category[b]) crossFollowed++;
        }
        if (truth.category[a] === truth.category[b]) sameCategory++;
      }
    }
    // Chain steps: about followChain (0.5) of all transitions (repeats push a few elsewhere).
    expect(followed / pairs).toBeGreaterThan(0.35);
    expect(followed / pairs).toBeLessThan(0.6);
    // Some chain steps cross categories: the text cannot explain those.
    expect(crossFollowed / followed).toBeGreaterThan(0.1);
    expect(crossFollowed / followed).toBeLessThan(0.5);
    // Most transitions stay within a category: the text can explain those.
    expect(sameCategory / pairs).toBeGreaterThan(0.5);
    const crossItems = truth.crossChain.reduce((x, y) => x + y, 0);
    expect(crossItems / config.numItems).toBeGreaterThan(0.15);
    expect(crossItems / config.numItems).toBeLessThan(0.45);
  });

  it('planted structure is detectable: the transition baseline beats most-popular by far', async () => {
    const ds = generateSynthetic();
    const split = leaveOneOutSplit(ds);
    const [pop] = await evaluateRecommender(mostPopularRecommender(ds), split.valid, ds.numItems, { modes: ['full'] });
    const [bigram] = await evaluateRecommender(transitionRecommender(ds), split.valid, ds.numItems, { modes: ['full'] });
    expect(bigram!.recall[10]!).toBeGreaterThan(0.4);
    expect(bigram!.recall[10]!).toBeGreaterThan(4 * pop!.recall[10]!);
    expect(bigram!.ndcg[10]!).toBeGreaterThan(4 * pop!.ndcg[10]!);
  });

  it('rejects a bad config naming the field', () => {
    expect(() => generateSynthetic({ minLength: 10, maxLength: 5 })).toThrow(/minLength/);
    expect(() => generateSynthetic({ numItems: 3 })).toThrow(/numItems/);
  });
});

describe('eager demo', () => {
  it('scores both baselines on valid and test in both ranking modes', async () => {
    const flags = DemoFlagsSchema.parse({ users: 300, items: 100 });
    const report = await runDemoPipeline(flags);
    expect(report.results.map((r) => `${r.model}/${r.split}/${r.metrics.mode}`)).toEqual([
      'most-popular/valid/full', 'most-popular/valid/exclude-history', 'most-popular/test/full', 'most-popular/test/exclude-history',
      'item-transition/valid/full', 'item-transition/valid/exclude-history', 'item-transition/test/full', 'item-transition/test/exclude-history',
    ]);
    expect(report.results.every((r) => r.metrics.users === 300)).toBe(true);
  });

  it('takes a plugged-in model step (a ranking model)', async () => {
    const oracle: DemoModelStep = {
      name: 'oracle',
      build: () => ({ kind: 'ranking', name: 'oracle', rankBatch: (batch) => Array.from(batch.targets, (t) => [t]) }),
    };
    const report = await runDemoPipeline(DemoFlagsSchema.parse({ users: 50, items: 40 }), [...DEFAULT_DEMO_STEPS, oracle]);
    const rows = report.results.filter((r) => r.model === 'oracle' && r.metrics.mode === 'full');
    expect(rows.map((r) => r.metrics.recall[5])).toEqual([1, 1]);
  });

  it('runDemo prints a labelled table; flag errors name the flag', async () => {
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => {
      lines.push(a.map(String).join(' '));
    });
    expect(await runDemo(['--users', '200', '--items', '60', '--ks', '5,10'])).toBe(0);
    const out = lines.join('\n');
    expect(out).toMatch(/ranking/);
    expect(out).toMatch(/most-popular\s+valid\s+full/);
    expect(out).toMatch(/item-transition\s+test\s+exclude-history/);
    expect(out).toMatch(/R@10/);
    await expect(runDemo(['--users', 'lots'])).rejects.toThrow(/--users/);
    await expect(runDemo(['--ks', '5,0'])).rejects.toThrow(/--ks/);
  });
});
