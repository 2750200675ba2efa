/**
 * Reader for a plain CSV/TSV of interactions, `user,item,timestamp` (timestamp optional: file
 * order is then the chronological order). The delimiter (tab, comma, semicolon, whitespace) is
 * detected from the first line; a header is optional and detected (a first line whose timestamp
 * cell is not a number, or whose cells name the columns: `user`/`user_id`, `item`/`item_id`,
 * `timestamp`/`time`/`ts`, in any order). Double-quoted cells are supported. A timestamp may be
 * a number or an ISO date.
 *
 * Skips: a line with the wrong number of cells, an empty id or a bad timestamp is an error by
 * default and a counted, reported skip with `onBadLine: 'skip'`. An empty file is an error.
 */
import { readdirSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { DataError } from './errors.js';
import { buildDataset, InteractionTable, type RawDataset } from './interactions.js';
import { readLines } from './lines.js';
import type { SkipRecord } from './types.js';

/** Options of {@link readCsvDataset}. */
export interface CsvReadOptions {
  name?: string;
  kcore: number;
  onBadLine: 'error' | 'skip';
}

/** The CSV/TSV file to read: `path` itself, or the only `*.csv`/`*.tsv` in the directory. */
export function csvFile(path: string): string {
  if (statSync(path).isFile()) return path;
  const files = readdirSync(path).filter((f) => ['.csv', '.tsv'].includes(extname(f).toLowerCase()));
  if (files.length !== 1) {
    throw new DataError(path, 0, 'file', `expected exactly one *.csv or *.tsv file, found ${files.length}${files.length ? ` (${files.join(', ')})` : ''}`);
  }
  return join(path, files[0]!);
}

type Delimiter = '\t' | ',' | ';' | 'ws';

function detectDelimiter(line: string): Delimiter {
  if (line.includes('\t')) return '\t';
  if (line.includes(',')) return ',';
  if (line.includes(';')) return ';';
  return 'ws';
}

/** Splits one line; `null` when a quoted cell is not closed. */
export function splitCells(line: string, d: Delimiter): string[] | null {
  if (d === 'ws') return line.trim().split(/\s+/);
  if (!line.includes('"')) return line.split(d).map((c) => c.trim());
  const out: string[] = [];
  let i = 0;
  for (;;) {
    while (line[i] === ' ') i++;
    let cell = '';
    if (line[i] === '"') {
      i++;
      for (;;) {
        if (i >= line.length) return null;
        if (line[i] === '"') {
          if (line[i + 1] === '"') {
            cell += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        cell += line[i++];
      }
      while (i < line.length && line[i] !== d) cell += line[i++];
    } else {
      while (i < line.length && line[i] !== d) cell += line[i++];
    }
    out.push(cell.trim());
    if (i >= line.length) return out;
    i++; // delimiter
  }
}

const USER_NAMES = new Set(['user', 'user_id', 'userid', 'uid', 'reviewerid']);
const ITEM_NAMES = new Set(['item', 'item_id', 'itemid', 'iid', 'asin', 'product_id']);
const TIME_NAMES = new Set(['timestamp', 'time', 'ts', 'date', 'unixreviewtime']);

function parseTime(cell: string): number {
  if (cell === '') return Number.NaN;
  const n = Number(cell);
  if (Number.isFinite(n)) return n;
  return /^\d{4}-\d{2}-\d{2}/.test(cell) ? Date.parse(cell) : Number.NaN;
}

/** Reads a CSV/TSV interaction file (or the only one in a directory). */
export async function readCsvDataset(path: string, opts: CsvReadOptions): Promise<RawDataset> {
  const file = csvFile(path);
  const skipped: SkipRecord[] = [];
  const table = new InteractionTable();
  let delim: Delimiter | null = null;
  let width = 0;
  let uc = 0;
  let ic = 1;
  let tc = 2;
  for await (const { text, line } of readLines(file)) {
    if (text.trim() === '') continue;
    if (delim === null) {
      delim = detectDelimiter(text);
      const cells = splitCells(text, delim) ?? [];
      width = cells.length;
      if (width < 2 || width > 3) {
        throw new DataError(file, line, 'columns', `expected user,item[,timestamp] columns, got ${width} cell(s)`);
      }
      const lower = cells.map((c) => c.toLowerCase());
      const named = lower.some((c) => USER_NAMES.has(c) || ITEM_NAMES.has(c) || TIME_NAMES.has(c));
      if (named) {
        const find = (set: Set<string>, dflt: number) => {
          const k = lower.findIndex((c) => set.has(c));
          return k >= 0 ? k : dflt;
        };
        uc = find(USER_NAMES, 0);
        ic = find(ITEM_NAMES, 1);
        tc = width === 3 ? find(TIME_NAMES, 2) : -1;
        if (new Set([uc, ic, tc]).size !== 3) {
          throw new DataError(file, line, 'header', `cannot tell the user, item and timestamp columns apart in "${text}"`);
        }
        continue;
      }
      tc = width === 3 ? 2 : -1;
      if (tc >= 0 && Number.isNaN(parseTime(cells[2]!))) continue; // an unnamed header line
    }
    const cells = splitCells(text, delim);
    let field = '';
    let problem = '';
    let ts = 0;
    if (cells === null) {
      field = 'line';
      problem = 'unterminated quoted cell';
    } else if (cells.length !== width) {
      field = 'columns';
      problem = `expected ${width} cells, got ${cells.length}`;
    } else if (cells[uc] === '') {
      field = 'user';
      problem = 'empty user id';
    } else if (cells[ic] === '') {
      field = 'item';
      problem = 'empty item id';
    } else if (tc >= 0) {
      ts = parseTime(cells[tc]!);
      if (Number.isNaN(ts)) {
        field = 'timestamp';
        problem = `expected a number or ISO date, got "${cells[tc]}"`;
      }
    }
    if (problem) {
      if (opts.onBadLine === 'error') throw new DataError(file, line, field, problem);
      skipped.push({ file, line, reason: `${field}: ${problem}` });
      continue;
    }
    table.add(cells![uc]!, cells![ic]!, ts);
  }
  if (table.size === 0) throw new DataError(file, 0, 'file', 'empty file: no interactions');
  const name = opts.name ?? basename(file, extname(file));
  const ds = buildDataset(table, { name, format: 'csv', kcore: opts.kcore, file, skipped });
  if (ds.users.length === 0) {
    throw new DataError(file, 0, 'file', `no user left after ${opts.kcore}-core filtering (${table.size} interactions read)`);
  }
  return ds;
}
