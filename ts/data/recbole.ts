/**
 * Reader for RecBole atomic files: `<name>.inter` (tab-separated, typed header such as
 * `user_id:token\titem_id:token\ttimestamp:float`) and optionally `<name>.item`
 * (`item_id:token\ttitle:token_seq\t...`).
 *
 * Skips: a data line with the wrong number of columns, an empty user/item id or a non-numeric
 * timestamp is an error by default and a counted, reported skip with `onBadLine: 'skip'`.
 * A missing or malformed header, a missing id column and an empty file are always errors.
 * Without a timestamp column the file order is the chronological order.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DataError } from './errors.js';
import { buildDataset, InteractionTable, type RawDataset } from './interactions.js';
import { readLines } from './lines.js';
import type { ItemMeta, SkipRecord } from './types.js';

/** Options of {@link readRecboleDataset}. */
export interface RecboleReadOptions {
  /** Atomic file base name; default: the only `*.inter` in the directory. */
  name?: string;
  kcore: number;
  onBadLine: 'error' | 'skip';
  userField?: string;
  itemField?: string;
  timeField?: string;
}

interface Column {
  name: string;
  type: string;
}

function parseHeader(text: string, file: string): Column[] {
  const cols = text.split('\t').map((h, c) => {
    const colon = h.lastIndexOf(':');
    if (colon <= 0) {
      throw new DataError(file, 1, `column ${c + 1}`, `header "${h}" is not "name:type" (e.g. "item_id:token")`);
    }
    return { name: h.slice(0, colon).trim(), type: h.slice(colon + 1).trim() };
  });
  return cols;
}

function findColumn(cols: Column[], name: string, file: string, required: true): number;
function findColumn(cols: Column[], name: string, file: string, required: false): number | -1;
function findColumn(cols: Column[], name: string, file: string, required: boolean): number {
  const c = cols.findIndex((col) => col.name === name);
  if (c < 0 && required) {
    throw new DataError(file, 1, name, `missing column "${name}" (header has ${cols.map((x) => x.name).join(', ')})`);
  }
  return c;
}

/** Picks the atomic-file base name: the given one, or the only `*.inter` in `dir`. */
export function recboleName(dir: string, name?: string): string {
  if (name) return name;
  const inters = readdirSync(dir).filter((f) => f.endsWith('.inter'));
  if (inters.length !== 1) {
    throw new DataError(dir, 0, 'name', `expected exactly one *.inter file, found ${inters.length}${inters.length ? ` (${inters.join(', ')}): pass --name` : ''}`);
  }
  return inters[0]!.slice(0, -'.inter'.length);
}

async function readItemFile(file: string, itemField: string, opts: RecboleReadOptions, skipped: SkipRecord[]): Promise<Map<string, ItemMeta>> {
  const meta = new Map<string, ItemMeta>();
  let cols: Column[] | null = null;
  let idCol = -1;
  for await (const { text, line } of readLines(file)) {
    if (cols === null) {
      cols = parseHeader(text, file);
      idCol = findColumn(cols, itemField, file, true);
      continue;
    }
    if (text.trim() === '') continue;
    const cells = text.split('\t');
    if (cells.length !== cols.length || cells[idCol]!.trim() === '') {
      const problem = cells.length !== cols.length
        ? `expected ${cols.length} tab-separated columns, got ${cells.length}`
        : 'empty item id';
      if (opts.onBadLine === 'error') throw new DataError(file, line, cells.length !== cols.length ? 'columns' : itemField, problem);
      skipped.push({ file, line, reason: problem });
      continue;
    }
    const m: ItemMeta = {};
    cols.forEach((col, c) => {
      if (c === idCol) return;
      const v = cells[c]!.trim();
      if (v === '') return;
      if (col.name === 'categories') {
        m.categories = col.type.endsWith('_seq') ? v.split(/\s*,\s*|\s+/).filter(Boolean) : [v];
      } else if (col.type === 'float' || col.type === 'int') {
        const num = Number(v);
        m[col.name] = Number.isFinite(num) ? num : v;
      } else {
        m[col.name] = v;
      }
    });
    meta.set(cells[idCol]!.trim(), m);
  }
  if (cols === null) throw new DataError(file, 0, 'file', 'empty file: no header');
  return meta;
}

/** Reads `<dir>/<name>.inter` (+ `<name>.item` when present). */
export async function readRecboleDataset(dir: string, opts: RecboleReadOptions): Promise<RawDataset> {
  const name = recboleName(dir, opts.name);
  const interFile = join(dir, `${name}.inter`);
  if (!existsSync(interFile)) throw new DataError(interFile, 0, 'file', 'file not found');
  const userField = opts.userField ?? 'user_id';
  const itemField = opts.itemField ?? 'item_id';
  const timeField = opts.timeField ?? 'timestamp';
  const skipped: SkipRecord[] = [];
  const table = new InteractionTable();
  let cols: Column[] | null = null;
  let uc = -1;
  let ic = -1;
  let tc = -1;
  for await (const { text, line } of readLines(interFile)) {
    if (cols === null) {
      if (text.trim() === '') throw new DataError(interFile, line, 'header', 'empty header line');
      cols = parseHeader(text, interFile);
      uc = findColumn(cols, userField, interFile, true);
      ic = findColumn(cols, itemField, interFile, true);
      tc = findColumn(cols, timeField, interFile, false);
      continue;
    }
    if (text.trim() === '') continue;
    const cells = text.split('\t');
    let field = '';
    let problem = '';
    let ts = 0;
    if (cells.length !== cols.length) {
      field = 'columns';
      problem = `expected ${cols.length} tab-separated columns, got ${cells.length}`;
    } else if (cells[uc]!.trim() === '') {
      field = userField;
      problem = 'empty user id';
    } else if (cells[ic]!.trim() === '') {
      field = itemField;
      problem = 'empty item id';
    } else if (tc >= 0) {
      ts = Number(cells[tc]!.trim());
      if (cells[tc]!.trim() === '' || !Number.isFinite(ts)) {
        field = timeField;
        problem = `expected a number, got "${cells[tc]}"`;
      }
    }
    if (problem) {
      if (opts.onBadLine === 'error') throw new DataError(interFile, line, field, problem);
      skipped.push({ file: interFile, line, reason: `${field}: ${problem}` });
      continue;
    }
    table.add(cells[uc]!.trim(), cells[ic]!.trim(), ts);
  }
  if (cols === null) throw new DataError(interFile, 0, 'file', 'empty file: no header');
  if (table.size === 0) throw new DataError(interFile, 0, 'file', 'empty file: no interactions');

  const itemFile = join(dir, `${name}.item`);
  const meta = existsSync(itemFile) ? await readItemFile(itemFile, itemField, opts, skipped) : undefined;
  const ds = buildDataset(table, { name, format: 'recbole', kcore: opts.kcore, file: interFile, meta, skipped });
  if (ds.users.length === 0) {
    throw new DataError(interFile, 0, 'file', `no user left after ${opts.kcore}-core filtering (${table.size} interactions read)`);
  }
  return ds;
}
