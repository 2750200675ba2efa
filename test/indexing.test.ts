import { describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSynthetic } from '../ts/data/synthetic.js';
import { buildIndex, writeIndex, loadIndex, asLoadedIndex } from '../ts/indexing/build.js';
import { IndexConfigSchema } from '../ts/indexing/config.js';
import { readIndexConfig } from '../ts/commands/index.js';
import { writeNpy, readNpy } from '../ts/util/npy.js';
import { SeededRandom } from '../ts/data/prng.js';

const ds = generateSynthetic({ numItems: 150, numUsers: 300, seed: 5 });

function behaviourFile(dir: string, dim = 8): string {
  const rng = new SeededRandom(9);
  const data = new Float32Array(ds.numItems * dim).map(() => rng.next() * 2 - 1);
  const path = join(dir, 'behaviour.npy');
  writeNpy(path, { dtype: 'f4', shape: [ds.numItems, dim], data });
  return path;
}

describe('index build', () => {
  it('builds both streams with valid codes, writes atomically and loads back identically', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eager-index-'));
    const cfg = {
      seed: 11,
      behaviour: { source: 'file' as const, path: behaviourFile(dir) },
      semantic: { encoder: 'tfidf-svd' as const, tfidfDim: 16 },
      codes: { k: 8 },
    };
    const built = await buildIndex(ds, cfg);
    for (const s of [built.behaviour, built.semantic]) {
      expect(s.codes.numItems).toBe(ds.numItems);
      expect(s.codes.k).toBe(8);
      // 150 items, K = 8: at least 3 levels are needed (8^2 = 64 < 150)
      expect(s.codes.length).toBeGreaterThanOrEqual(3);
      const seen = new Set<string>();
      for (let i = 0; i < ds.numItems; i++) {
        const code = Array.from(s.codes.codes.subarray(i * s.codes.length, (i + 1) * s.codes.length));
        expect(code.every((t) => t < 8)).toBe(true);
        seen.add(code.join(','));
        expect(s.trie.itemAt(code)).toBe(i + 1);
      }
      expect(seen.size).toBe(ds.numItems);
    }
    expect(built.semantic.dim).toBe(16);
    const out = join(dir, 'index');
    writeIndex(out, built);
    expect(readdirSync(dir).filter((f) => f.includes('staging'))).toEqual([]);
    const files = readdirSync(out).sort();
    expect(files).toEqual([
      'behaviour.codes.json', 'behaviour.embeddings.npy', 'behaviour.trie.bin',
      'manifest.json', 'semantic.codes.json', 'semantic.embeddings.npy', 'semantic.trie.bin',
    ]);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    expect(manifest.numItems).toBe(ds.numItems);
    expect(manifest.seed).toBe(11);
    expect(manifest.datasetFingerprint).toMatch(/^sha256:/);
    expect(manifest.semantic.encoder).toBe('tfidf-svd');
    // the behaviour file is identified by its content, not only its path
    expect(manifest.behaviour.path).toBe(cfg.behaviour.path);
    expect(manifest.behaviour.dataSha256).toMatch(/^sha256:[0-9a-f]{64}$/);
    const loaded = await loadIndex(out);
    const mem = asLoadedIndex(built);
    expect(loaded.behaviour.codes.codes).toEqual(mem.behaviour.codes.codes);
    expect(loaded.semantic.codes.codes).toEqual(mem.semantic.codes.codes);
    expect(loaded.semantic.embeddings).toEqual(mem.semantic.embeddings);
    expect(readNpy(join(out, 'behaviour.embeddings.npy')).shape).toEqual([150, 8]);

    // same seed, same codes; another seed, other codes
    const again = await buildIndex(ds, cfg);
    expect(again.behaviour.codes.codes).toEqual(built.behaviour.codes.codes);
    expect(again.semantic.codes.codes).toEqual(built.semantic.codes.codes);
    const other = await buildIndex(ds, { ...cfg, seed: 12 });
    expect(other.behaviour.codes.codes).not.toEqual(built.behaviour.codes.codes);
    expect(again.behaviour.info.dataSha256).toBe(manifest.behaviour.dataSha256);
    // the same path overwritten with other embeddings: another hash
    const rows = readNpy(cfg.behaviour.path).data as Float32Array;
    writeNpy(cfg.behaviour.path, { dtype: 'f4', shape: [ds.numItems, 8], data: rows.map((x) => -x) });
    const overwritten = await buildIndex(ds, cfg);
    expect(overwritten.behaviour.info.path).toBe(manifest.behaviour.path);
    expect(overwritten.behaviour.info.dataSha256).not.toBe(manifest.behaviour.dataSha256);
  });

  it('rejects a behaviour file with the wrong number of rows, naming the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eager-index-'));
    const path = join(dir, 'short.npy');
    writeNpy(path, { dtype: 'f4', shape: [10, 4], data: new Float32Array(40) });
    await expect(buildIndex(ds, { behaviour: { source: 'file', path }, semantic: { encoder: 'tfidf-svd' } }))
      .rejects.toThrow(/short\.npy.*10 rows.*150 items/);
  });

  it('config errors name the file and the field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'eager-index-'));
    const path = join(dir, 'cfg.json');
    writeFileSync(path, JSON.stringify({ codes: { k: 1 } }));
    expect(() => readIndexConfig(path)).toThrow(/cfg\.json: codes\.k/);
    expect(IndexConfigSchema.safeParse({ semantic: { encoder: 'bert' } }).success).toBe(false);
    writeFileSync(path, JSON.stringify({ split: { trainOn: 'train+valid' } }));
    expect(() => readIndexConfig(path)).toThrow(/cfg\.json: split\.trainOn: the index always splits off validation and test; set behaviour\.sasrec\.trainOn/);
  });

  it('records what a behaviour file trained on when its SASRec baseline directory says so', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eager-index-'));
    const cfg = { behaviour: { source: 'file' as const, path: behaviourFile(dir) }, semantic: { encoder: 'tfidf-svd' as const, tfidfDim: 8 }, codes: { k: 8 } };
    expect((await buildIndex(ds, cfg)).manifest.behaviour).toMatchObject({ source: 'file', trainOn: 'train' });
    writeFileSync(join(dir, 'metrics.json'), JSON.stringify({ model: 'sasrec', config: { trainOn: 'train+valid' } }));
    expect((await buildIndex(ds, cfg)).manifest.behaviour).toMatchObject({ source: 'file', trainOn: 'train+valid' });
    writeFileSync(join(dir, 'metrics.json'), JSON.stringify({ config: { trainOn: 'valid' } }));
    await expect(buildIndex(ds, cfg)).rejects.toThrow(/metrics\.json: config\.trainOn: expected "train" or "train\+valid", found "valid"/);
    writeFileSync(join(dir, 'metrics.json'), 'not ours');
    expect((await buildIndex(ds, cfg)).manifest.behaviour).toMatchObject({ trainOn: 'train' });
  });

  it('loadIndex names a missing index directory', async () => {
    await expect(loadIndex('/nonexistent/idx')).rejects.toThrow(/no index here/);
  });
});

describe('index build with the default behaviour trainer', () => {
  it('trains SASRec on the training part when no trainer is injected', async () => {
    const small = generateSynthetic({ numItems: 40, numUsers: 60, seed: 2 });
    const built = await buildIndex(small, {
      behaviour: { source: 'sasrec', sasrec: { hidden: 8, heads: 1, ffnDim: 16, layers: 1, epochs: 2, patience: 1 } },
      semantic: { encoder: 'tfidf-svd', tfidfDim: 8 },
      codes: { k: 8 },
    });
    expect(built.behaviour.dim).toBe(8);
    expect(built.manifest.behaviour).toMatchObject({ source: 'sasrec', dim: 8 });
    expect(built.behaviour.codes.numItems).toBe(40);
  });

  it('hands the behaviour trainer the validation part only, never the test targets', async () => {
    const small = generateSynthetic({ numItems: 40, numUsers: 60, seed: 2 });
    const seen: string[][] = [];
    const built = await buildIndex(small, {
      behaviour: { source: 'sasrec', sasrec: {} },
      semantic: { encoder: 'tfidf-svd', tfidfDim: 8 },
      codes: { k: 8 },
    }, {
      trainBehaviour: async (d, split) => {
        seen.push(Object.keys(split));
        // 60 users, one validation target each (every synthetic user has at least 3 items)
        expect(split.valid.size).toBe(60);
        const rng = new SeededRandom(4);
        return { dim: 4, data: new Float32Array(d.numItems * 4).map(() => rng.next()), info: { model: 'stub' } };
      },
    });
    expect(seen).toEqual([['valid']]);
    expect(built.manifest.behaviour).toMatchObject({ source: 'sasrec', model: 'stub' });
  });
});
