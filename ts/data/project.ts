/**
 * Reader for the project format (`../shared/datasets/<name>/`):
 * - `sequences.txt`: one user a line, `user_id item_id item_id ...`, chronological, 1-based ids;
 * - `items.jsonl` (optional): one JSON object a line with `item_id`, `title`, `brand`,
 *   `categories`, `source_id`, plus any extra fields (kept).
 *
 * This format is already clean (filtered, densely numbered), so it is read strictly: every
 * problem is a {@link DataError} (no skips): a malformed line or token, an unknown item id,
 * an empty file, a user with fewer than 3 items (leave-one-out needs 3), a duplicate user line,
 * a duplicate or missing item id in `items.jsonl`. Blank lines are ignored.
 */
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { DataError } from './errors.js';
import { readLines } from './lines.js';
import type { Dataset, ItemMeta } from './types.js';

/** Minimum sequence length of a usable user: one training item, a validation and a test target. */
export const MIN_SEQUENCE_LENGTH = 3;

const POSITIVE_INT = /^[1-9][0-9]*$/;

/** Parses one `items.jsonl` object into an {@link ItemMeta}; returns the item id too. */
function parseItemObject(obj: unknown, file: string, line: number): { id: number; meta: ItemMeta } {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    throw new DataError(file, line, 'item', 'expected a JSON object');
  }
  const rec = obj as Record<string, unknown>;
  const rawId = rec.item_id;
  const id = typeof rawId === 'string' && POSITIVE_INT.test(rawId) ? Number(rawId) : rawId;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1) {
    throw new DataError(file, line, 'item_id', `expected a positive integer, got ${JSON.stringify(rawId)}`);
  }
  const meta: ItemMeta = {};
  for (const [key, value] of Object.entries(rec)) {
    if (key === 'item_id' || value === null || value === undefined) continue;
    switch (key) {
      case 'title':
      case 'brand':
        if (typeof value !== 'string') throw new DataError(file, line, key, `expected a string, got ${JSON.stringify(value)}`);
        meta[key] = value;
        break;
      case 'categories':
        if (!Array.isArray(value) || value.some((c) => typeof c !== 'string')) {
          throw new DataError(file, line, key, 'expected a list of strings');
        }
        meta.categories = value as string[];
        break;
      case 'source_id':
        if (typeof value !== 'string' && typeof value !== 'number') {
          throw new DataError(file, line, key, 'expected a string');
        }
        meta.sourceId = String(value);
        break;
      default:
        meta[key] = value;
    }
  }
  return { id, meta };
}

/** Reads `items.jsonl`: ids must be exactly 1..=N, each once. */
export async function readItemsJsonl(file: string): Promise<ItemMeta[]> {
  const items: ItemMeta[] = [{}];
  const seenAt: number[] = [];
  let lastLine = 0;
  for await (const { text, line } of readLines(file)) {
    lastLine = line;
    if (text.trim() === '') continue;
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch (e) {
      throw new DataError(file, line, 'json', `malformed JSON: ${(e as Error).message}`);
    }
    const { id, meta } = parseItemObject(obj, file, line);
    if (seenAt[id] !== undefined) {
      throw new DataError(file, line, 'item_id', `duplicate item id ${id} (first on line ${seenAt[id]})`);
    }
    seenAt[id] = line;
    items[id] = meta;
  }
  const n = items.length - 1;
  if (n === 0) throw new DataError(file, 0, 'file', 'empty file: no items');
  for (let id = 1; id <= n; id++) {
    if (seenAt[id] === undefined) {
      throw new DataError(file, lastLine, 'item_id', `item ids must be contiguous 1..${n}: item ${id} is missing`);
    }
  }
  return items;
}

/** Options of {@link readProjectDataset}. */
export interface ProjectReadOptions {
  /** Dataset name; default: the directory name. */
  name?: string;
}

/** Reads a project-format directory (see the module comment for the checks). */
export async function readProjectDataset(dir: string, opts: ProjectReadOptions = {}): Promise<Dataset> {
  const seqFile = join(dir, 'sequences.txt');
  const itemsFile = join(dir, 'items.jsonl');
  if (!existsSync(seqFile)) throw new DataError(seqFile, 0, 'file', 'file not found');
  const items = existsSync(itemsFile) ? await readItemsJsonl(itemsFile) : null;
  const knownItems = items ? items.length - 1 : Number.POSITIVE_INFINITY;

  const users: string[] = [];
  const sequences: Uint32Array[] = [];
  const userLine = new Map<string, number>();
  let maxItem = 0;
  for await (const { text, line } of readLines(seqFile)) {
    const tokens = text.trim().split(/\s+/);
    if (tokens.length === 1 && tokens[0] === '') continue;
    const user = tokens[0]!;
    const first = userLine.get(user);
    if (first !== undefined) {
      throw new DataError(seqFile, line, 'user_id', `duplicate user "${user}" (first on line ${first})`);
    }
    userLine.set(user, line);
    const n = tokens.length - 1;
    if (n < MIN_SEQUENCE_LENGTH) {
      throw new DataError(
        seqFile, line, 'items',
        `user "${user}" has ${n} item(s); leave-one-out needs at least ${MIN_SEQUENCE_LENGTH}`,
      );
    }
    const seq = new Uint32Array(n);
    for (let j = 0; j < n; j++) {
      const tok = tokens[j + 1]!;
      if (!POSITIVE_INT.test(tok)) {
        throw new DataError(seqFile, line, `item[${j + 1}]`, `expected a positive integer item id, got "${tok}"`);
      }
      const id = Number(tok);
      if (id > knownItems) {
        throw new DataError(seqFile, line, `item[${j + 1}]`, `unknown item id ${id} (items.jsonl has ${knownItems} items)`);
      }
      if (id > maxItem) maxItem = id;
      seq[j] = id;
    }
    users.push(user);
    sequences.push(seq);
  }
  if (users.length === 0) throw new DataError(seqFile, 0, 'file', 'empty file: no users');

  const numItems = items ? items.length - 1 : maxItem;
  const itemMetas = items ?? Array.from({ length: numItems + 1 }, () => ({}) as ItemMeta);
  let itemIdMap: Map<string, number> | undefined;
  if (items) {
    itemIdMap = new Map();
    for (let id = 1; id <= numItems; id++) {
      const src = itemMetas[id]!.sourceId;
      if (src !== undefined) itemIdMap.set(src, id);
    }
  }
  return {
    name: opts.name ?? basename(dir),
    format: 'project',
    numItems,
    users,
    sequences,
    items: itemMetas,
    itemIdMap,
    skipped: [],
  };
}
