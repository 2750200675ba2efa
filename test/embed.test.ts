/**
 * Semantic item embeddings through the addon: the tiny PyTorch BERT fixture (always runs), the
 * tfidf-svd fallback, embedding files, the cache, and the real all-MiniLM-L6-v2 against
 * sentence-transformers (skipped unless `scripts/fetch-minilm.sh` has fetched the weights).
 *
 * References: `test/fixtures/tiny-bert/reference.json` and `test/fixtures/minilm/reference.json`,
 * made by the Python scripts quoted in `crates/eager-core/tests/tiny_bert_bin.rs` and
 * `crates/eager-core/tests/minilm_reference.rs` (transformers 4.40.2, sentence-transformers 2.7.0).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_MINILM_DIR, embedItems, encodeNpyF32, loadEmbeddingFile, loadSentenceEncoder, tfidfSvd } from '../ts/embed/index.js';
import type { ItemMeta } from '../ts/data/types.js';

const TINY = 'test/fixtures/tiny-bert';
const tmpRoots: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'eager-embed-'));
  tmpRoots.push(d);
  return d;
}
afterAll(() => tmpRoots.forEach((d) => rmSync(d, { recursive: true, force: true })));

interface Ref { sentences: string[]; token_ids: number[][]; embeddings: number[][]; max_len?: number }
const readRef = (p: string): Ref => JSON.parse(readFileSync(p, 'utf8')) as Ref;

function maxAbsDiff(got: Float32Array, want: number[][], dim: number): number {
  let m = 0;
  want.forEach((row, r) => row.forEach((w, c) => (m = Math.max(m, Math.abs(got[r * dim + c]! - w)))));
  return m;
}

const items: ItemMeta[] = [
  {},
  { title: 'Red nail polish', brand: 'OPI', categories: ['Beauty', 'Nails'] },
  { title: 'Nail polish top coat', categories: ['Beauty', 'Nails'] },
  { title: 'Dry hair shampoo', brand: 'Acme', categories: ['Beauty', 'Hair'] },
  { title: 'Hair conditioner cream', categories: ['Beauty', 'Hair'] },
];

describe('sentence encoder (tiny PyTorch .bin BERT fixture)', () => {
  const ref = readRef(join(TINY, 'reference.json'));
  const enc = loadSentenceEncoder(TINY, { maxLen: ref.max_len, batchSize: 3 });

  it('tokenizes like HF tokenizers and encodes like sentence-transformers', async () => {
    expect(enc.dim).toBe(16);
    expect(enc.maxLen).toBe(32);
    ref.sentences.forEach((s, i) => expect(enc.tokenIds(s)).toEqual(ref.token_ids[i]));
    const seen: Array<[number, number]> = [];
    const got = await enc.encode(ref.sentences, (d, t) => seen.push([d, t]));
    expect(maxAbsDiff(got, ref.embeddings, 16)).toBeLessThan(1e-5);
    expect(enc.encodeSync(ref.sentences)).toEqual(got);
    await new Promise((r) => setTimeout(r, 20)); // progress calls are non-blocking
    expect(seen.at(-1)).toEqual([4, 4]);
  });

  it('reports a missing model directory with a code and the fetch hint', () => {
    expect(() => loadSentenceEncoder(join(TINY, 'missing'))).toThrow(expect.objectContaining({ code: 'EAGER_BAD_FILE', message: expect.stringMatching(/fetch-minilm/) }));
    expect(() => loadSentenceEncoder(TINY, { maxLen: 1000 })).toThrow(expect.objectContaining({ code: 'EAGER_INVALID_ARGUMENT' }));
  });
});

describe('tfidf-svd fallback', () => {
  it('is deterministic, unit-norm and groups similar texts', () => {
    const texts = ['red nail polish', 'nail polish coat', 'hair shampoo', 'dry hair shampoo', ''];
    const a = tfidfSvd(texts, 3, 5);
    expect(a).toEqual(tfidfSvd(texts, 3, 5));
    expect(a.length).toBe(15);
    for (let r = 0; r < 4; r++) expect(Math.hypot(a[r * 3]!, a[r * 3 + 1]!, a[r * 3 + 2]!)).toBeCloseTo(1, 5);
    expect([...a.slice(12)]).toEqual([0, 0, 0]);
    const cos = (i: number, j: number) => a[i * 3]! * a[j * 3]! + a[i * 3 + 1]! * a[j * 3 + 1]! + a[i * 3 + 2]! * a[j * 3 + 2]!;
    expect(cos(0, 1)).toBeGreaterThan(cos(0, 2));
    expect(cos(2, 3)).toBeGreaterThan(cos(1, 3));
  });
});

describe('embedItems', () => {
  it('caches per dataset, template and encoder', async () => {
    const cacheDir = tmp();
    const ds = { items, fingerprint: 'sha256:test' };
    const first = await embedItems(ds, { encoder: 'tfidf-svd', tfidfDim: 3, cacheDir });
    expect(first.fromCache).toBe(false);
    expect([first.numItems, first.dim, first.data.length]).toEqual([4, 3, 12]);
    const second = await embedItems(ds, { encoder: 'tfidf-svd', tfidfDim: 3, cacheDir });
    expect(second.fromCache).toBe(true);
    expect(second.data).toEqual(first.data);
    expect(second.cachePath).toBe(first.cachePath);
    const other = await embedItems(ds, { encoder: 'tfidf-svd', tfidfDim: 3, cacheDir, template: { fields: ['title'] } });
    expect(other.fromCache).toBe(false);
    const seed = await embedItems(ds, { encoder: 'tfidf-svd', tfidfDim: 3, seed: 9, cacheDir });
    expect(seed.fromCache).toBe(false);
  });

  it('runs the minilm path on any HF-format model directory, and caches it', async () => {
    const cacheDir = tmp();
    const progress: number[] = [];
    const a = await embedItems({ items }, { encoder: 'minilm', modelDir: TINY, maxLen: 32, cacheDir, onProgress: (d) => progress.push(d) });
    expect([a.dim, a.fromCache]).toEqual([16, false]);
    expect(a.encoderId).toMatch(/^minilm:maxLen=32:model=[0-9a-f]{16}$/);
    const enc = loadSentenceEncoder(TINY, { maxLen: 32 });
    expect(a.data).toEqual(enc.encodeSync(['Red nail polish; OPI; Beauty, Nails', 'Nail polish top coat; Beauty, Nails', 'Dry hair shampoo; Acme; Beauty, Hair', 'Hair conditioner cream; Beauty, Hair']));
    const b = await embedItems({ items }, { encoder: 'minilm', modelDir: TINY, maxLen: 32, cacheDir });
    expect(b.fromCache).toBe(true);
  });

  it('loads precomputed files and checks their row count', async () => {
    const dir = tmp();
    const data = Float32Array.from({ length: 8 }, (_, i) => i / 2);
    writeFileSync(join(dir, 'e.npy'), encodeNpyF32(4, 2, data));
    expect(loadEmbeddingFile(join(dir, 'e.npy'))).toEqual({ rows: 4, cols: 2, data });
    const r = await embedItems({ items }, { encoder: 'file', file: join(dir, 'e.npy') });
    expect([r.dim, r.fromCache, [...r.data]]).toEqual([2, false, [...data]]);
    writeFileSync(join(dir, 'bad.npy'), encodeNpyF32(2, 2, data.slice(0, 4)));
    await expect(embedItems({ items }, { encoder: 'file', file: join(dir, 'bad.npy') })).rejects.toMatchObject({ code: 'EAGER_BAD_FILE', message: expect.stringMatching(/2 rows.*4 items/) });
  });

  it('names the field of a bad config', async () => {
    await expect(embedItems({ items }, { encoder: 'file' })).rejects.toMatchObject({ code: 'EAGER_CONFIG', message: expect.stringMatching(/file/) });
    await expect(embedItems({ items }, { encoder: 'tfidf-svd', tfidfDim: 0 })).rejects.toMatchObject({ message: expect.stringMatching(/tfidfDim/) });
  });
});

const minilmDir = process.env.EAGER_MINILM_DIR ?? DEFAULT_MINILM_DIR;
const haveMinilm = existsSync(join(minilmDir, 'model.safetensors')) || existsSync(join(minilmDir, 'pytorch_model.bin'));
if (!haveMinilm) console.warn(`SKIPPED real all-MiniLM-L6-v2 check: no weights in ${minilmDir} (run scripts/fetch-minilm.sh)`);

describe.skipIf(!haveMinilm)('all-MiniLM-L6-v2 (fetched weights)', () => {
  it('matches sentence-transformers on the reference sentences', async () => {
    const ref = readRef('test/fixtures/minilm/reference.json');
    const enc = loadSentenceEncoder(minilmDir, { maxLen: 256 });
    expect(enc.dim).toBe(384);
    ref.sentences.forEach((s, i) => expect(enc.tokenIds(s)).toEqual(ref.token_ids[i]));
    expect(maxAbsDiff(await enc.encode(ref.sentences), ref.embeddings, 384)).toBeLessThan(1e-4);
  });
});
