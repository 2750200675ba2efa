/**
 * On-disk cache of item embeddings, keyed by (dataset fingerprint, text template, item texts,
 * encoder id), so a second `eager index` does not re-encode. One entry = `<key>.npy` (f32,
 * `[numItems, dim]`) + `<key>.json` (what it was made from); the JSON is written last, so an
 * entry without it is incomplete and ignored. Both writes are atomic.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../util/fs.js';
import { callNative, native } from '../native.js';

/** What a cache entry was computed from. */
export interface EmbedCacheKeyParts {
  datasetFingerprint: string;
  template: unknown;
  textsSha256: string;
  encoderId: string;
}

/** sha256 of the item texts (order matters). */
export function textsSha256(texts: readonly string[]): string {
  const h = createHash('sha256');
  for (const t of texts) {
    h.update(String(Buffer.byteLength(t)));
    h.update(':');
    h.update(t);
  }
  return h.digest('hex');
}

/** The cache key: hex sha256 over the parts. */
export function embedCacheKey(parts: EmbedCacheKeyParts): string {
  return createHash('sha256').update(JSON.stringify(['eager-embed-v1', parts])).digest('hex').slice(0, 32);
}

/** `.npy` v1.0 bytes of a row-major f32 matrix. */
export function encodeNpyF32(rows: number, cols: number, data: Float32Array): Uint8Array {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${cols}), }`;
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + data.length * 4);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(Buffer.from(header, 'latin1'), 10);
  const body = new DataView(out.buffer, 10 + header.length);
  for (let i = 0; i < data.length; i++) body.setFloat32(i * 4, data[i]!, true);
  return out;
}

/** A cached matrix, or undefined when there is no complete entry for `key`. */
export function readEmbedCache(dir: string, key: string, rows: number): { dim: number; data: Float32Array } | undefined {
  const meta = join(dir, `${key}.json`);
  const npy = join(dir, `${key}.npy`);
  if (!existsSync(meta) || !existsSync(npy)) return undefined;
  try {
    const m = callNative(() => native.loadEmbeddingFile(npy));
    const saved = JSON.parse(readFileSync(meta, 'utf8')) as { rows?: number; dim?: number };
    if (m.rows !== rows || saved.rows !== rows || saved.dim !== m.cols) return undefined;
    return { dim: m.cols, data: m.data };
  } catch {
    return undefined; // a damaged entry is recomputed and overwritten
  }
}

/** Stores a matrix under `key` (matrix first, then its description). */
export function writeEmbedCache(dir: string, key: string, parts: EmbedCacheKeyParts, rows: number, dim: number, data: Float32Array): string {
  const npy = join(dir, `${key}.npy`);
  writeFileAtomic(npy, encodeNpyF32(rows, dim, data));
  writeJsonAtomic(join(dir, `${key}.json`), { key, rows, dim, ...parts, createdAt: new Date().toISOString() });
  return npy;
}
