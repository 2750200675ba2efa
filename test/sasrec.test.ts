import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { leaveOneOutSplit } from '../ts/data/split.js';
import type { Dataset } from '../ts/data/types.js';
import { createSasRec, evaluateSasRec, flattenSequences, trainSasRec } from '../ts/sasrec/train.js';
import { SasRecConfigSchema } from '../ts/sasrec/config.js';
import { sasrecBehaviourTrainer } from '../ts/sasrec/behaviour.js';
import { resolveBaselineArgs, runBaseline } from '../ts/commands/baseline.js';
import { writeFileSync } from 'node:fs';

/** Users walk a cycle 1 -> 2 -> ... -> n -> 1 from different starts: the next item is planted. */
function cyclic(users: number, len: number, n: number): Dataset {
  const sequences = Array.from({ length: users }, (_, u) =>
    Uint32Array.from({ length: len }, (_, j) => ((u + j) % n) + 1));
  return {
    name: 'cyclic', format: 'synthetic', numItems: n, users: sequences.map((_, u) => `u${u}`), sequences,
    items: Array.from({ length: n + 1 }, () => ({})), skipped: [],
  };
}

const SMALL = { hidden: 16, heads: 2, ffnDim: 32, layers: 1, dropout: 0.1, attnDropout: 0.1, maxLen: 10, lr: 5e-3, batchSize: 16 };

describe('SASRec', () => {
  it('learns a planted next-item structure, deterministically, without test leakage', async () => {
    const ds = cyclic(60, 9, 30);
    const split = leaveOneOutSplit(ds);
    // Training is handed the validation part only: it cannot read a test target.
    const run = () => trainSasRec(ds, { valid: split.valid }, { ...SMALL, epochs: 25, patience: 25, seed: 7 });
    const a = await run();
    const b = await run();
    expect(a.epochs.map((e) => e.loss)).toEqual(b.epochs.map((e) => e.loss));
    expect(Array.from(a.embeddings)).toEqual(Array.from(b.embeddings));
    expect(a.embeddings.length).toBe(30 * 16);
    expect(a.epochs.at(-1)!.loss).toBeLessThan(a.epochs[0]!.loss * 0.5);
    // Random ranking over 30 items gives Recall@10 = 1/3.
    expect(a.valid!.full.recall[10]).toBeGreaterThan(0.9);
    expect((await evaluateSasRec(a.model, split.test)).full.recall[10]).toBeGreaterThan(0.9);
    expect(a.epochs.filter((e) => e.best).at(-1)!.epoch).toBe(a.bestEpoch);
  });

  it('top-K excludes the history when asked and pads with 0', () => {
    const m = createSasRec(SasRecConfigSchema.parse({ ...SMALL, seed: 1 }), 5);
    const { items, offsets } = flattenSequences([[1, 2, 3], [4]]);
    const top = m.topKSync(items, offsets, 5, true);
    expect(Array.from(top.subarray(0, 5)).sort()).toEqual([0, 0, 0, 4, 5]);
    expect(Array.from(top.subarray(5, 10)).filter((x) => x === 4)).toEqual([]);
    expect(m.embeddings().length).toBe(5 * 16);
  });

  it('`eager baseline sasrec`: the config file is used, flags override it, defaults fill the rest', () => {
    const dir = mkdtempSync(join(tmpdir(), 'eager-baseline-args-'));
    try {
      const file = join(dir, 'cfg.json');
      writeFileSync(file, JSON.stringify({ dropout: 0.2, attnDropout: 0.3, patience: 3 }));
      const r = resolveBaselineArgs(['data', '--out', 'o', '--config', file, '--patience', '5', '--hidden', '32']);
      expect(r.cfg.dropout).toBe(0.2); // from the file (a left-out flag must not reset it)
      expect(r.cfg.attnDropout).toBe(0.3);
      expect(r.cfg.patience).toBe(5); // flag beats file
      expect(r.cfg.hidden).toBe(32);
      expect(r.cfg.lr).toBe(SasRecConfigSchema.parse({}).lr); // default
      expect(r.datasetDir).toBe('data');
      expect(() => resolveBaselineArgs(['data', '--out', 'o', '--dropout', '1.5'])).toThrow(/dropout/);
      writeFileSync(file, JSON.stringify({ dropout: 'high' }));
      expect(() => resolveBaselineArgs(['data', '--out', 'o', '--config', file])).toThrow(/cfg\.json: dropout/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects bad input with a coded error naming the problem', () => {
    expect(() => SasRecConfigSchema.parse({ heads: 0 })).toThrow(/heads/);
    expect(() => createSasRec(SasRecConfigSchema.parse({ hidden: 10, heads: 3 }), 5)).toThrow(/divisible/);
    const m = createSasRec(SasRecConfigSchema.parse({ ...SMALL }), 5);
    try {
      m.topKSync(Uint32Array.from([1, 9]), Uint32Array.from([0, 2]), 3, false);
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).toMatch(/outside 1..=5/);
    }
    expect(() => m.load('/nonexistent/x.safetensors')).toThrow();
  });

  it('serves as the behaviour trainer of the index and as `eager baseline sasrec`', async () => {
    const ds = cyclic(40, 8, 20);
    const split = leaveOneOutSplit(ds);
    const msgs: string[] = [];
    const eb = await sasrecBehaviourTrainer(ds, split, { ...SMALL, epochs: 3 }, 3, (m) => msgs.push(m));
    expect(eb.dim).toBe(16);
    expect(eb.data.length).toBe(20 * 16);
    expect(msgs.length).toBe(3);
    expect(eb.info.bestEpoch).toBeGreaterThan(0);
    expect(eb.info.trainOn).toBe('train');
    expect(msgs.every((m) => /valid NDCG@10/.test(m))).toBe(true);
    // the index of a refit: exactly `epochs` epochs on train + valid, nothing validated
    const refitMsgs: string[] = [];
    const rb = await sasrecBehaviourTrainer(ds, split, { ...SMALL, epochs: 2, trainOn: 'train+valid' }, 3, (m) => refitMsgs.push(m));
    expect(rb.info).toMatchObject({ trainOn: 'train+valid', bestEpoch: 2, epochsRun: 2 });
    expect(rb.info.validNdcg10).toBeUndefined();
    expect(refitMsgs.some((m) => /valid/.test(m))).toBe(false);
    expect(Array.from(rb.data)).not.toEqual(Array.from(eb.data));

    const out = mkdtempSync(join(tmpdir(), 'sasrec-baseline-'));
    const dataDir = mkdtempSync(join(tmpdir(), 'sasrec-data-'));
    try {
      const { writeFileSync } = await import('node:fs');
      writeFileSync(join(dataDir, 'sequences.txt'), ds.sequences.map((s, u) => `${u + 1} ${Array.from(s).join(' ')}`).join('\n') + '\n');
      writeFileSync(join(dataDir, 'items.jsonl'), Array.from({ length: 20 }, (_, i) => JSON.stringify({ item_id: i + 1, title: `item ${i + 1}`, categories: [] })).join('\n') + '\n');
      const code = await runBaseline(['sasrec', dataDir, '--out', out, '--epochs', '2', '--hidden', '16', '--heads', '1', '--ffn-dim', '16', '--json']);
      expect(code).toBe(0);
      const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
      expect(metrics.test.full['recall@10']).toBeGreaterThanOrEqual(0);
      expect(metrics.epochsRun).toBe(2);
      expect(readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n')).toHaveLength(2);
      expect(existsSync(join(out, 'model.safetensors'))).toBe(true);
      expect(existsSync(join(out, 'embeddings.npy'))).toBe(true);
      await expect(runBaseline(['sasrec', dataDir, '--out', out, '--heads', '-1'])).rejects.toThrow(/heads/);
      await expect(runBaseline(['popular', dataDir, '--out', out])).rejects.toThrow(/unknown baseline/);
    } finally {
      rmSync(out, { recursive: true, force: true });
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
