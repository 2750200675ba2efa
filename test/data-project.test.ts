import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { DataError, isDataError } from '../ts/data/errors.js';
import { loadDataset } from '../ts/data/load.js';
import { readProjectDataset } from '../ts/data/project.js';
import { itemsJsonl, TmpDirs } from './fixtures/data-tmp.js';

const tmp = new TmpDirs();
afterAll(() => tmp.cleanup());

/** Runs the reader and returns the DataError it throws (fails the test when none). */
async function dataError(p: Promise<unknown>): Promise<DataError> {
  try {
    await p;
  } catch (e) {
    expect(isDataError(e)).toBe(true);
    expect((e as DataError).code).toBe('EAGER_DATA');
    return e as DataError;
  }
  throw new Error('expected a DataError');
}

describe('project format reader', () => {
  it('reads sequences and item metadata', async () => {
    const dir = tmp.make({
      'sequences.txt': '1 1 2 3\n2 3 2 1 4\n\n',
      'items.jsonl': [
        '{"item_id": 1, "title": "A", "brand": "B", "categories": ["x", "y"], "source_id": "S1", "price": 3}',
        '{"item_id": 2, "title": "Bee"}',
        '{"item_id": 4, "title": "D"}',
        '{"item_id": 3, "title": "C", "source_id": "S3"}',
      ].join('\n'),
    });
    const ds = await readProjectDataset(dir);
    expect(ds.format).toBe('project');
    expect(ds.numItems).toBe(4);
    expect(ds.users).toEqual(['1', '2']);
    expect(ds.sequences.map((s) => Array.from(s))).toEqual([[1, 2, 3], [3, 2, 1, 4]]);
    expect(ds.items[1]).toEqual({ title: 'A', brand: 'B', categories: ['x', 'y'], sourceId: 'S1', price: 3 });
    expect(ds.items[4]).toEqual({ title: 'D' });
    expect(ds.itemIdMap?.get('S3')).toBe(3);
    expect(ds.skipped).toEqual([]);
  });

  it('works without items.jsonl (numItems = largest id) and with CRLF', async () => {
    const dir = tmp.make({ 'sequences.txt': 'u1 5 2 3\r\nu2 1 2 3\r\n' });
    const ds = await loadDataset(dir);
    expect(ds.numItems).toBe(5);
    expect(ds.items).toHaveLength(6);
    expect(Array.from(ds.sequences[0]!)).toEqual([5, 2, 3]);
  });

  it('a malformed token names file, line and field', async () => {
    const dir = tmp.make({ 'sequences.txt': '1 1 2 3\n2 3 x7 1\n' });
    const e = await dataError(readProjectDataset(dir));
    expect(e.file).toBe(join(dir, 'sequences.txt'));
    expect(e.line).toBe(2);
    expect(e.field).toBe('item[2]');
    expect(e.message).toContain('sequences.txt:2');
    expect(e.message).toContain('item[2]');
    expect(e.message).toContain('"x7"');
  });

  it('item id 0 is malformed (ids are 1-based)', async () => {
    const dir = tmp.make({ 'sequences.txt': '1 1 0 3\n' });
    const e = await dataError(readProjectDataset(dir));
    expect([e.line, e.field]).toEqual([1, 'item[2]']);
  });

  it('an unknown item id is an error', async () => {
    const dir = tmp.make({ 'sequences.txt': '1 1 2 3\n2 3 2 9\n', 'items.jsonl': itemsJsonl(4) });
    const e = await dataError(readProjectDataset(dir));
    expect([e.line, e.field]).toEqual([2, 'item[3]']);
    expect(e.message).toMatch(/unknown item id 9/);
  });

  it('an empty sequences file is an error', async () => {
    const e = await dataError(readProjectDataset(tmp.make({ 'sequences.txt': '' })));
    expect(e.field).toBe('file');
    expect(e.message).toMatch(/empty file/);
    const e2 = await dataError(readProjectDataset(tmp.make({ 'sequences.txt': '\n  \n' })));
    expect(e2.message).toMatch(/empty file/);
  });

  it('an empty items.jsonl is an error', async () => {
    const e = await dataError(readProjectDataset(tmp.make({ 'sequences.txt': '1 1 2 3\n', 'items.jsonl': '' })));
    expect(e.file).toMatch(/items\.jsonl$/);
    expect(e.message).toMatch(/empty file/);
  });

  it('a user with fewer than 3 items is an error', async () => {
    const e = await dataError(readProjectDataset(tmp.make({ 'sequences.txt': '1 1 2 3\n2 1 2\n' })));
    expect([e.line, e.field]).toEqual([2, 'items']);
    expect(e.message).toMatch(/at least 3/);
  });

  it('a duplicate user line is an error naming both lines', async () => {
    const e = await dataError(readProjectDataset(tmp.make({ 'sequences.txt': '1 1 2 3\n2 1 2 3\n1 3 2 1\n' })));
    expect([e.line, e.field]).toEqual([3, 'user_id']);
    expect(e.message).toMatch(/duplicate user "1" \(first on line 1\)/);
  });

  it('items.jsonl: malformed JSON, bad item_id, duplicate and missing ids, wrong field types', async () => {
    const seq = '1 1 2 3\n';
    let e = await dataError(readProjectDataset(tmp.make({ 'sequences.txt': seq, 'items.jsonl': '{"item_id": 1}\n{"item_id": 2,\n' })));
    expect([e.line, e.field]).toEqual([2, 'json']);
    e = await dataError(readProjectDataset(tmp.make({ 'sequences.txt': seq, 'items.jsonl': '{"item_id": -1}\n' })));
    expect([e.line, e.field]).toEqual([1, 'item_id']);
    e = await dataError(readProjectDataset(tmp.make({ 'sequences.txt': seq, 'items.jsonl': '{"item_id": 1}\n{"item_id": 1}\n' })));
    expect(e.message).toMatch(/duplicate item id 1 \(first on line 1\)/);
    e = await dataError(readProjectDataset(tmp.make({ 'sequences.txt': seq, 'items.jsonl': '{"item_id": 1}\n{"item_id": 3}\n' })));
    expect(e.message).toMatch(/item 2 is missing/);
    e = await dataError(readProjectDataset(tmp.make({ 'sequences.txt': seq, 'items.jsonl': '{"item_id": 1, "title": 5}\n' })));
    expect([e.line, e.field]).toEqual([1, 'title']);
    e = await dataError(readProjectDataset(tmp.make({ 'sequences.txt': seq, 'items.jsonl': '{"item_id": 1, "categories": "x"}\n' })));
    expect(e.field).toBe('categories');
    e = await dataError(readProjectDataset(tmp.make({ 'sequences.txt': seq, 'items.jsonl': '[1, 2]\n' })));
    expect(e.field).toBe('item');
  });

  it('a missing directory or sequences.txt is an error, not a crash', async () => {
    const e = await dataError(loadDataset('/nonexistent/eager-data-dir'));
    expect(e.field).toBe('path');
    const e2 = await dataError(readProjectDataset(tmp.make({ 'other.txt': 'x' })));
    expect(e2.message).toMatch(/file not found/);
    const e3 = await dataError(loadDataset(tmp.make({ 'notes.md': 'x' })));
    expect(e3.field).toBe('format');
  });
});
