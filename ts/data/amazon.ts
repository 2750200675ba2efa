/**
 * Reader for the Amazon 2014 review dumps (McAuley et al.):
 * - `reviews_<Cat>_5.json[.gz]` (or `reviews_<Cat>.json[.gz]`): one JSON object a line with
 *   `reviewerID`, `asin`, `unixReviewTime`;
 * - `meta_<Cat>.json[.gz]` (optional): one Python dict literal a line (not JSON) with `asin`,
 *   `title`, `brand`, `categories` (a list of category paths), `price`, `salesRank`, ...
 *
 * Skips: a malformed review line (bad JSON, a missing or ill-typed field) is an error by default
 * and a counted, reported skip with `onBadLine: 'skip'`; the same holds for metadata lines.
 * Metadata of items that did not survive k-core filtering is never parsed.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DataError } from './errors.js';
import { buildDataset, InteractionTable, type RawDataset } from './interactions.js';
import { readLines } from './lines.js';
import { parsePythonLiteral, PyLiteralError } from './pyliteral.js';
import type { ItemMeta, SkipRecord } from './types.js';

/** Options of {@link readAmazonDataset}. */
export interface AmazonReadOptions {
  /** Category, e.g. `Beauty`; default: the only `reviews_*` file in the directory. */
  name?: string;
  kcore: number;
  onBadLine: 'error' | 'skip';
}

const REVIEWS_RE = /^reviews_(.+?)(_5)?\.json(\.gz)?$/;
const META_RE = /^meta_(.+?)\.json(\.gz)?$/;

/** Finds the review and metadata files of a category in `dir`. */
export function amazonFiles(dir: string, category?: string): { category: string; reviews: string; meta?: string } {
  const files = readdirSync(dir);
  const reviews = files
    .map((f) => ({ f, m: REVIEWS_RE.exec(f) }))
    .filter((x) => x.m && (!category || x.m[1] === category));
  const categories = [...new Set(reviews.map((x) => x.m![1]!))];
  if (categories.length !== 1) {
    throw new DataError(dir, 0, 'name', categories.length === 0
      ? `no reviews_<Cat>[_5].json[.gz] file${category ? ` for category "${category}"` : ''}`
      : `several categories (${categories.join(', ')}): pass --name`);
  }
  // Prefer the 5-core file, then the uncompressed one.
  reviews.sort((a, b) => Number(!a.m![2]) - Number(!b.m![2]) || Number(!!a.m![3]) - Number(!!b.m![3]));
  const cat = categories[0]!;
  const meta = files.filter((f) => META_RE.exec(f)?.[1] === cat).sort((a, b) => b.length - a.length)[0];
  return { category: cat, reviews: join(dir, reviews[0]!.f), meta: meta ? join(dir, meta) : undefined };
}

function metaFromDict(d: Record<string, unknown>): ItemMeta {
  const m: ItemMeta = {};
  for (const [k, v] of Object.entries(d)) {
    if (k === 'asin' || v === null || v === undefined) continue;
    if (k === 'categories' && Array.isArray(v)) {
      // A list of category paths: flatten, first occurrence wins.
      const flat = v.flatMap((p) => (Array.isArray(p) ? p : [p])).filter((c): c is string => typeof c === 'string');
      m.categories = [...new Set(flat)];
    } else if ((k === 'title' || k === 'brand') && typeof v === 'string') {
      m[k] = v;
    } else {
      m[k] = v;
    }
  }
  return m;
}

const ASIN_RE = /['"]asin['"]\s*:\s*['"]([^'"]+)['"]/;

async function readMeta(file: string, wanted: Map<string, number>, opts: AmazonReadOptions, skipped: SkipRecord[]): Promise<Map<string, ItemMeta>> {
  const out = new Map<string, ItemMeta>();
  for await (const { text, line } of readLines(file)) {
    if (text.trim() === '') continue;
    // Cheap pre-filter: most metadata lines belong to items outside the k-core.
    const quick = ASIN_RE.exec(text);
    if (quick && !wanted.has(quick[1]!)) continue;
    let problem = '';
    let field = 'line';
    try {
      const v = parsePythonLiteral(text);
      if (v === null || typeof v !== 'object' || Array.isArray(v)) {
        problem = 'expected a dict literal';
      } else if (typeof v.asin !== 'string') {
        field = 'asin';
        problem = 'missing or non-string "asin"';
      } else if (wanted.has(v.asin)) {
        out.set(v.asin, metaFromDict(v));
      }
    } catch (e) {
      if (!(e instanceof PyLiteralError)) throw e;
      problem = `malformed Python literal: ${e.message}`;
    }
    if (problem) {
      if (opts.onBadLine === 'error') throw new DataError(file, line, field, problem);
      skipped.push({ file, line, reason: `${field}: ${problem}` });
    }
  }
  return out;
}

/** Reads an Amazon 2014 category dump from `dir` (k-core, chronological, dense ids). */
export async function readAmazonDataset(dir: string, opts: AmazonReadOptions): Promise<RawDataset> {
  const files = amazonFiles(dir, opts.name);
  const skipped: SkipRecord[] = [];
  const table = new InteractionTable();
  for await (const { text, line } of readLines(files.reviews)) {
    if (text.trim() === '') continue;
    let field = 'json';
    let problem = '';
    let obj: Record<string, unknown> | null = null;
    try {
      const v: unknown = JSON.parse(text);
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) obj = v as Record<string, unknown>;
      else problem = 'expected a JSON object';
    } catch (e) {
      problem = `malformed JSON: ${(e as Error).message}`;
    }
    if (obj) {
      const t = obj.unixReviewTime;
      if (typeof obj.reviewerID !== 'string' || obj.reviewerID === '') {
        field = 'reviewerID';
        problem = 'missing or non-string';
      } else if (typeof obj.asin !== 'string' || obj.asin === '') {
        field = 'asin';
        problem = 'missing or non-string';
      } else if (typeof t !== 'number' || !Number.isFinite(t)) {
        field = 'unixReviewTime';
        problem = `expected a number, got ${JSON.stringify(t)}`;
      } else {
        table.add(obj.reviewerID, obj.asin, t);
        continue;
      }
    }
    if (opts.onBadLine === 'error') throw new DataError(files.reviews, line, field, problem);
    skipped.push({ file: files.reviews, line, reason: `${field}: ${problem}` });
  }
  if (table.size === 0) throw new DataError(files.reviews, 0, 'file', 'empty file: no reviews');
  const ds = buildDataset(table, { name: files.category, format: 'amazon', kcore: opts.kcore, file: files.reviews, skipped });
  if (ds.users.length === 0) {
    throw new DataError(files.reviews, 0, 'file', `no user left after ${opts.kcore}-core filtering (${table.size} reviews read)`);
  }
  if (files.meta && ds.itemIdMap) {
    const meta = await readMeta(files.meta, ds.itemIdMap, opts, ds.skipped);
    for (const [asin, m] of meta) {
      const id = ds.itemIdMap.get(asin)!;
      ds.items[id] = { ...m, sourceId: asin };
    }
  }
  return ds;
}
