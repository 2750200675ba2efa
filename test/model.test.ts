import { mkdtempSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { callNative, native } from '../ts/native.js';
import { EagerModel, type EagerStreamInput } from '../ts/model/index.js';
import type { TrainBatch } from '../ts/train/batcher.js';

const N = 12;
const T = 5;

/** 12 items, K = 4, L = 2; the semantic codes are a permutation of the behaviour ones. */
function streams(): { behaviour: EagerStreamInput; semantic: EagerStreamInput } {
  const cb = new Uint32Array(N * 2);
  const cs = new Uint32Array(N * 2);
  for (let i = 0; i < N; i++) {
    cb[2 * i] = Math.floor(i / 4);
    cb[2 * i + 1] = i % 4;
    const j = (i * 5) % 12;
    cs[2 * i] = Math.floor(j / 4);
    cs[2 * i + 1] = j % 4;
  }
  const emb = (dim: number, salt: number) => Float32Array.from({ length: N * dim }, (_, i) => Math.sin(i * 1.7 + salt));
  return {
    behaviour: { K: 4, L: 2, codes: cb, embeddings: emb(6, 1), dim: 6 },
    semantic: { K: 4, L: 2, codes: cs, embeddings: emb(10, 2), dim: 10 },
  };
}

const tinyConfig = {
  hidden: 16,
  heads: 2,
  ffn: 32,
  decoderLayers: 2,
  maxHistory: T,
  gct: { negatives: 5 },
  stt: { negatives: 2 },
};

function tiny(seed = 3, config: object = tinyConfig): EagerModel {
  return EagerModel.create({ config, numItems: N, ...streams(), seed });
}

/** Users walk the catalogue with a stride: the next item follows from the last two. */
function batch(users = 16): TrainBatch {
  const histories = new Uint32Array(users * T);
  const targets = new Uint32Array(users);
  for (let u = 0; u < users; u++) {
    const stride = 1 + (u % 3);
    const seq = Array.from({ length: T + 1 }, (_, s) => ((u + s * stride) % N) + 1);
    const keep = 2 + (u % (T - 1));
    for (let t = T - keep; t < T; t++) histories[u * T + t] = seq[t]!;
    targets[u] = seq[T]!;
  }
  return { histories, targets, batchSize: users, maxHistory: T };
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('EagerModel (native)', () => {
  it('trains: loss parts for every task, deterministic per seed, decreasing', async () => {
    const a = tiny(7);
    const b = tiny(7);
    const first = await a.trainStep(batch());
    expect(Object.keys(first).sort()).toEqual(
      ['conBehaviour', 'conSemantic', 'genBehaviour', 'genSemantic', 'gradNorm', 'lr', 'recog', 'recon', 'step', 'total'].sort(),
    );
    expect(first.step).toBe(1);
    expect(b.trainStepSync(batch())).toEqual(first);
    a.setLearningRate(3e-3);
    let last = first;
    for (let i = 0; i < 40; i++) last = await a.trainStep(batch());
    expect(last.genBehaviour! + last.genSemantic!).toBeLessThan(first.genBehaviour! + first.genSemantic!);
    expect(a.step).toBe(41);
  });

  it('history unlikelihood (extension) reports one term per stream and is off by default', async () => {
    const off = await tiny(2).trainStep(batch());
    expect(off.histBehaviour).toBeUndefined();
    const on = await tiny(2, { ...tinyConfig, historyUnlikelihood: 0.5 }).trainStep(batch());
    expect(on.histBehaviour).toBeGreaterThan(0);
    expect(on.histSemantic).toBeGreaterThan(0);
    expect(on.total).not.toBe(off.total);
    expect(() => tiny(2, { ...tinyConfig, historyUnlikelihood: -1 })).toThrow(/historyUnlikelihood/);
  });

  it('ablations are configs: semantic only has no behaviour or transfer losses', async () => {
    const m = tiny(1, { ...tinyConfig, streams: { behaviour: false }, stt: { enabled: false } });
    const r = await m.trainStep(batch());
    expect(r.genSemantic).toBeGreaterThan(0);
    expect(r.genBehaviour).toBeUndefined();
    expect(r.recon).toBeUndefined();
    const names = m.parameterNames();
    expect(names.some((n) => n.startsWith('behaviour.'))).toBe(false);
    expect(names).toContain('semantic.tokens.weight');
  });

  it('recommends k distinct items; full beams equal exhaustive rescoring; concurrent = sequential', async () => {
    const m = tiny(5);
    for (let i = 0; i < 20; i++) await m.trainStep(batch());
    const hist = Uint32Array.from([0, 0, 3, 4, 5]);
    const sb = m.scoreAll('behaviour', Uint32Array.from([3, 4, 5]));
    const ss = m.scoreAll('semantic', Uint32Array.from([3, 4, 5]));
    const want = Array.from({ length: N }, (_, i) => i + 1).sort((x, y) => sb[y - 1]! + ss[y - 1]! - (sb[x - 1]! + ss[x - 1]!) || x - y);
    const full = await m.recommend(hist, T, N, { beamWidth: N, merge: 'rescore' });
    expect(Array.from(full.items)).toEqual(want);
    // A weighted semantic term: ranked by sb + w·ss, with that sum as the score.
    for (const w of [0, 0.4, 3]) {
      const score = (i: number) => sb[i - 1]! + w * ss[i - 1]!;
      const weighted = await m.recommend(hist, T, N, { beamWidth: N, merge: 'rescore', semanticWeight: w });
      expect(Array.from(weighted.items)).toEqual(Array.from({ length: N }, (_, i) => i + 1).sort((x, y) => score(y) - score(x) || x - y));
      weighted.items.forEach((item, j) => expect(weighted.scores[j]).toBeCloseTo(score(item), 4));
    }
    await expect(m.recommend(hist, T, N, { beamWidth: N, merge: 'rescore', semanticWeight: -1 })).rejects.toThrow(/semanticWeight/);

    const histories = batch(8).histories;
    for (const merge of ['rescore', 'confidence'] as const) {
      const r = await m.recommend(histories, T, 4, { beamWidth: 2, merge });
      expect(r.k).toBe(4);
      for (let u = 0; u < 8; u++) expect(new Set(r.items.subarray(u * 4, u * 4 + 4)).size).toBe(4);
      const seq = m.recommendSync(histories, T, 4, { beamWidth: 2, merge });
      const par = await Promise.all(Array.from({ length: 6 }, () => m.recommend(histories, T, 4, { beamWidth: 2, merge })));
      for (const p of par) {
        expect(Array.from(p.items)).toEqual(Array.from(seq.items));
        expect(Array.from(p.scores)).toEqual(Array.from(seq.scores));
      }
    }
    // scoreLists: any items' rescore sum, in the lists' order (user 1 has an empty list).
    const two = Uint32Array.from([0, 0, 3, 4, 5, 0, 0, 0, 0, 9]);
    const s9b = m.scoreAll('behaviour', Uint32Array.from([9]));
    const s9s = m.scoreAll('semantic', Uint32Array.from([9]));
    const listed = Uint32Array.from([12, 1, 7, 2, 2]);
    for (const w of [1, 0.4]) {
      const got = await m.scoreLists(two, T, listed, Uint32Array.from([0, 3, 5]), { beamWidth: 1, merge: 'rescore', semanticWeight: w });
      expect(got).toHaveLength(5);
      [12, 1, 7].forEach((item, j) => expect(got[j]).toBeCloseTo(sb[item - 1]! + w * ss[item - 1]!, 4));
      [2, 2].forEach((item, j) => expect(got[3 + j]).toBeCloseTo(s9b[item - 1]! + w * s9s[item - 1]!, 4));
    }
    await expect(m.scoreLists(two, T, listed, Uint32Array.from([0, 3, 4]), { beamWidth: 1, merge: 'rescore' })).rejects.toMatchObject({
      code: 'EAGER_INVALID_ARGUMENT', message: expect.stringContaining('offsets'),
    });
    await expect(m.scoreLists(two, T, Uint32Array.from([13]), Uint32Array.from([0, 1, 1]), { beamWidth: 1, merge: 'rescore' })).rejects.toMatchObject({
      code: 'EAGER_INVALID_ARGUMENT', message: expect.stringContaining('item 13'),
    });
    // k above the catalogue is clamped: extra slots are item 0.
    const big = await m.recommend(hist, T, 20, { beamWidth: 5, merge: 'confidence' });
    expect(Array.from(big.items.subarray(N))).toEqual(new Array(20 - N).fill(0));
    expect(new Set(big.items.subarray(0, N)).size).toBe(N);
  });

  it('pretrained inputs: two more parameters, trained, saved and loaded with the model', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eager-model-inputs-'));
    dirs.push(dir);
    const config = { ...tinyConfig, pretrainedInputs: { behaviour: true, semantic: true } };
    const plain = tiny(4);
    const m = tiny(4, config);
    expect(m.parameterNames().filter((n) => !plain.parameterNames().includes(n)).sort())
      .toEqual(['encoder.inputs.behaviour.weight', 'encoder.inputs.semantic.weight']);
    // The inputs change what the encoder sees, so the first losses differ from the plain model's.
    const r = await m.trainStep(batch());
    expect(r.total).not.toBe((await plain.trainStep(batch())).total);
    await m.save(join(dir, 'ckpt'), true);
    const back = EagerModel.load({ dir: join(dir, 'ckpt'), numItems: N, ...streams(), withTrainingState: true });
    const hist = batch(4).histories;
    expect(Array.from((await back.recommend(hist, T, 3, { beamWidth: 3, merge: 'rescore' })).scores))
      .toEqual(Array.from((await m.recommend(hist, T, 3, { beamWidth: 3, merge: 'rescore' })).scores));
    // Without its embeddings the model cannot be built, and the error says which ones.
    const { behaviour, semantic } = streams();
    expect(() => EagerModel.create({
      config: { ...config, gct: { enabled: false } }, numItems: N, seed: 1,
      behaviour: { ...behaviour, embeddings: undefined, dim: undefined }, semantic,
    })).toThrow(/pretrainedInputs\.behaviour/);
  });

  it('save + load continues exactly like an uninterrupted run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eager-model-'));
    dirs.push(dir);
    const full = tiny(9);
    const want: number[] = [];
    for (let i = 0; i < 4; i++) want.push((await full.trainStep(batch())).total!);
    const first = tiny(9);
    const got: number[] = [];
    for (let i = 0; i < 2; i++) got.push((await first.trainStep(batch())).total!);
    await first.save(join(dir, 'ckpt'), true);
    expect(readdirSync(join(dir, 'ckpt')).sort()).toEqual(['model.json', 'optimizer.safetensors', 'weights.safetensors']);
    const resumed = EagerModel.load({ dir: join(dir, 'ckpt'), numItems: N, ...streams(), withTrainingState: true });
    expect(resumed.step).toBe(2);
    for (let i = 0; i < 2; i++) got.push((await resumed.trainStep(batch())).total!);
    expect(got).toEqual(want);
  });

  it('rejects bad input with clear, coded errors', async () => {
    const m = tiny(2);
    await expect(m.recommend(Uint32Array.from([0, 0, 0, 0, 13]), T, 3, { beamWidth: 3, merge: 'rescore' })).rejects.toMatchObject({
      code: 'EAGER_INVALID_ARGUMENT',
      message: expect.stringContaining('item 13'),
    });
    await expect(m.recommend(new Uint32Array(T), T, 3, { beamWidth: 3, merge: 'rescore' })).rejects.toMatchObject({
      message: expect.stringContaining('empty'),
    });
    expect(() => tiny(1, { ...tinyConfig, heads: 5 })).toThrow(/heads/);
    // The Rust side validates again (zod bypassed).
    const s = streams();
    try {
      callNative(() => new native.EagerModel(JSON.stringify({ hidden: 8, heads: 3 }), N, null, null, 1));
      expect.unreachable();
    } catch (e) {
      expect(e).toMatchObject({ code: 'EAGER_INVALID_ARGUMENT', message: expect.stringContaining('config.heads') });
    }
    const bad = { ...s.behaviour, embeddings: Float32Array.from(s.behaviour.embeddings!, (v, i) => (i === 7 ? NaN : v)) };
    expect(() => EagerModel.create({ config: tinyConfig, numItems: N, behaviour: bad, semantic: s.semantic, seed: 1 })).toThrow(/non-finite/);
  });
});
