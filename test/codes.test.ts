import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildCodes, buildCodesAsync, CodeTrie, codeOf, loadCodeTable, saveCodeTable, validateCodeTable, type CodeTable } from '../ts/codes/index.js';

/** Deterministic pseudo-Gaussian matrix (mulberry32 + Box-Muller), [n, d]. */
function gaussian(n: number, d: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = new Float32Array(n * d);
  for (let i = 0; i < out.length; i++) out[i] = Math.sqrt(-2 * Math.log(next() + 1e-12)) * Math.cos(2 * Math.PI * next());
  return out;
}

function expectGuarantees(t: CodeTable, n: number, k: number): void {
  expect(t.numItems).toBe(n);
  expect(t.k).toBe(k);
  expect(t.codes.length).toBe(n * t.length);
  const seen = new Set<string>();
  for (let id = 1; id <= n; id++) {
    const c = codeOf(t, id);
    for (const tok of c) expect(tok).toBeLessThan(k);
    seen.add(Array.from(c).join(','));
  }
  expect(seen.size).toBe(n); // every item one code, no two items share one
  validateCodeTable(t);
}

const dir = mkdtempSync(join(tmpdir(), 'eager-codes-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('codes (native hierarchical k-means)', () => {
  const n = 600;
  const d = 8;
  const x = gaussian(n, d, 1);

  it('gives every item one distinct code with tokens < K, balanced and plain', () => {
    for (const balanced of [true, false]) {
      const t = buildCodes(x, d, { k: 8, balanced, maxIters: 20, seed: 3 });
      expectGuarantees(t, n, 8);
      expect(t.length).toBeGreaterThanOrEqual(4); // 8^3 = 512 < 600
    }
  });

  it('same seed gives the same codes (sync and async); another seed differs', async () => {
    const a = buildCodes(x, d, { k: 8, seed: 5 });
    const progress: number[] = [];
    const b = await buildCodesAsync(x, d, { k: 8, seed: 5 }, (done) => progress.push(done));
    expect(Array.from(b.codes)).toEqual(Array.from(a.codes));
    const c = buildCodes(x, d, { k: 8, seed: 6 });
    expect(Array.from(c.codes)).not.toEqual(Array.from(a.codes));
    await new Promise((r) => setTimeout(r, 50)); // non-blocking progress calls drain
    expect(progress.length).toBeGreaterThan(0);
    expect(Math.max(...progress)).toBe(n);
  });

  it('handles degenerate inputs: identical points, n < K, n = 1', () => {
    expectGuarantees(buildCodes(new Float32Array(200 * 3).fill(0.25), 3, { k: 4 }), 200, 4);
    const small = buildCodes(gaussian(5, 2, 2), 2, { k: 256 });
    expect(small.length).toBe(1);
    expectGuarantees(small, 5, 256);
    const one = buildCodes(new Float32Array([1, 2]), 2, {});
    expect(Array.from(one.codes)).toEqual([0]);
  });

  it('rejects bad arguments with coded errors naming the problem', async () => {
    expect(() => buildCodes(x, d, { k: 1 })).toThrow(/k/);
    try {
      buildCodes(x, 7, { k: 4 });
      expect.unreachable();
    } catch (e) {
      expect((e as { code: string }).code).toBe('EAGER_INVALID_ARGUMENT');
      expect((e as Error).message).toMatch(/multiple of dim 7/);
    }
    const nan = x.slice();
    nan[3] = Number.NaN;
    await expect(buildCodesAsync(nan, d, { k: 4 })).rejects.toMatchObject({ code: 'EAGER_INVALID_ARGUMENT' });
    expect(() => buildCodes(x, d, { k: 4, bogus: 1 } as never)).toThrow(/bogus/);
  });

  it('trie answers allowed-next and item-at, and round-trips through files', () => {
    const t = buildCodes(x, d, { k: 8, seed: 9 });
    const trie = CodeTrie.fromTable(t);
    expect(trie.numItems).toBe(n);
    expect(trie.length).toBe(t.length);
    for (let id = 1; id <= n; id++) {
      const c = codeOf(t, id);
      expect(trie.itemAt(c)).toBe(id);
      expect(Array.from(trie.allowedNext(c.subarray(0, 1)))).toContain(c[1]);
    }
    const root = Array.from(trie.allowedNext([]));
    expect(root.length).toBeGreaterThan(1);
    expect(root).toEqual([...root].sort((a, b) => a - b));
    expect(trie.itemAt([99, 0])).toBeNull();

    const triePath = join(dir, 'trie.bin');
    trie.save(triePath);
    const back = CodeTrie.load(triePath);
    expect(Array.from(back.toTable().codes)).toEqual(Array.from(t.codes));
    const bytes = readFileSync(triePath);
    bytes[bytes.length - 20] ^= 0xff;
    writeFileSync(triePath, bytes);
    expect(() => CodeTrie.load(triePath)).toThrow(expect.objectContaining({ code: 'EAGER_BAD_FILE' }));

    const tablePath = join(dir, 'codes.json');
    saveCodeTable(t, tablePath);
    const loaded = loadCodeTable(tablePath);
    expect(loaded.length).toBe(t.length);
    expect(Array.from(loaded.codes)).toEqual(Array.from(t.codes));
    const json = JSON.parse(readFileSync(tablePath, 'utf8')) as { codeToItem: number[][] };
    expect(json.codeToItem.length).toBe(n);
  });

  it('validateCodeTable catches shared codes', () => {
    const bad: CodeTable = { k: 4, length: 2, numItems: 2, codes: new Uint32Array([1, 2, 1, 2]) };
    expect(() => validateCodeTable(bad)).toThrow(/share the code/);
  });
});
