import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DataError, isDataError } from '../ts/data/errors.js';
import { buildDataset, InteractionTable, kcoreFilter } from '../ts/data/interactions.js';
import { detectFormat, loadDataset } from '../ts/data/load.js';
import { parsePythonLiteral, PyLiteralError } from '../ts/data/pyliteral.js';
import { TmpDirs } from './fixtures/data-tmp.js';

const tmp = new TmpDirs();
afterAll(() => tmp.cleanup());

async function dataError(p: Promise<unknown>): Promise<DataError> {
  try {
    await p;
  } catch (e) {
    expect(isDataError(e)).toBe(true);
    return e as DataError;
  }
  throw new Error('expected a DataError');
}

const seqs = (ds: { sequences: Uint32Array[] }) => ds.sequences.map((s) => Array.from(s));

/** Interactions for users a, b, c (3 each) over items x, y, z: every user and item has 3. */
const ROWS: [string, string, number][] = [
  ['a', 'x', 30], ['a', 'y', 10], ['a', 'z', 20],
  ['b', 'z', 5], ['b', 'x', 5], ['b', 'y', 1],
  ['c', 'y', 7], ['c', 'z', 8], ['c', 'x', 9],
];

describe('k-core and dense ids', () => {
  it('sorts chronologically with file order as tie-break, ids by first appearance', () => {
    const t = new InteractionTable();
    for (const [u, i, ts] of ROWS) t.add(u, i, ts);
    const ds = buildDataset(t, { name: 't', format: 'csv', kcore: 3, file: 'f' });
    // a: y(10) z(20) x(30) -> y=1 z=2 x=3; b: y(1), then z and x tie at 5 in file order z, x.
    expect(ds.users).toEqual(['a', 'b', 'c']);
    expect(seqs(ds)).toEqual([[1, 2, 3], [1, 2, 3], [1, 2, 3]]);
    expect([...ds.itemIdMap!.entries()]).toEqual([['y', 1], ['z', 2], ['x', 3]]);
    expect(ds.items[3]).toEqual({ sourceId: 'x' });
    expect(ds.filtered).toMatchObject({ removedUsers: 0, removedItems: 0, removedInteractions: 0 });
  });

  it('iterates to a fixed point', () => {
    // Users u0..u2 form a 2-core over items A,B; user u3 has A,B,C; C appears once.
    // 2-core: C (1 interaction) goes; then u3 still has A,B (2) -> stays.
    // 3-core: C goes, then every user has <= 2 -> all go, then items go: nothing left.
    const users = Uint32Array.from([0, 0, 1, 1, 2, 2, 3, 3, 3]);
    const items = Uint32Array.from([0, 1, 0, 1, 0, 1, 0, 1, 2]);
    const k2 = kcoreFilter(users, items, 4, 3, 2);
    expect(Array.from(k2.alive)).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 0]);
    const k3 = kcoreFilter(users, items, 4, 3, 3);
    expect(Array.from(k3.alive)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(k3.passes).toBeGreaterThan(1);
    // A chain reaction: u0..u2 x {A,B,C} is a 3-core; u3 has A,B,D. D (1) goes in the first
    // pass, which leaves u3 with 2 items, so u3 goes in the second.
    const u = Uint32Array.from([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]);
    const i = Uint32Array.from([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 3]);
    const r = kcoreFilter(u, i, 4, 4, 3);
    expect(Array.from(r.alive)).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0]);
    expect(r.passes).toBe(3); // two that change something, one that confirms the fixed point
  });

  it('users with fewer than 3 items after filtering are counted skips', () => {
    const t = new InteractionTable();
    for (const [u, i, ts] of [...ROWS, ['d', 'x', 1], ['d', 'y', 2]] as [string, string, number][]) t.add(u, i, ts);
    const ds = buildDataset(t, { name: 't', format: 'csv', kcore: 0, file: 'f.csv' });
    expect(ds.users).toEqual(['a', 'b', 'c']);
    expect(ds.skipped).toHaveLength(1);
    expect(ds.skipped[0]!.reason).toMatch(/user "d" has 2 interaction/);
  });
});

describe('CSV/TSV reader', () => {
  const body = ROWS.map((r) => r.join(',')).join('\n');

  it('reads with and without a header, comma, tab and named columns in any order', async () => {
    for (const text of [
      body,
      `user,item,timestamp\n${body}`,
      body.replace(/,/g, '\t'),
      `timestamp;item_id;user_id\n${ROWS.map(([u, i, ts]) => `${ts};${i};${u}`).join('\n')}`,
    ]) {
      const ds = await loadDataset(tmp.make({ 'inter.csv': `${text}\n` }), { kcore: 3 });
      expect(ds.format).toBe('csv');
      expect(seqs(ds)).toEqual([[1, 2, 3], [1, 2, 3], [1, 2, 3]]);
    }
  });

  it('accepts a file path, quoted cells and ISO dates', async () => {
    const dir = tmp.make({ 'x.tsv': 'u\t"i 1"\t2020-01-02\nu\ti2\t2020-01-01\nu\t"i ""3"""\t2020-01-03\n' });
    const ds = await loadDataset(`${dir}/x.tsv`, { kcore: 0 });
    expect(ds.itemIdMap && [...ds.itemIdMap.keys()]).toEqual(['i2', 'i 1', 'i "3"']);
  });

  it('a malformed line is an error naming file, line and field, or a counted skip', async () => {
    const dir = tmp.make({ 'inter.csv': `user,item,timestamp\n${body}\na,q\nb,,3\nc,q,soon\n` });
    const e = await dataError(loadDataset(dir, { kcore: 3 }));
    expect([e.line, e.field]).toEqual([11, 'columns']);
    expect(e.message).toMatch(/inter\.csv:11/);
    const ds = await loadDataset(dir, { kcore: 3, onBadLine: 'skip' });
    expect(ds.skipped.map((s) => [s.line, s.reason.split(':')[0]])).toEqual([[11, 'columns'], [12, 'item'], [13, 'timestamp']]);
    expect(seqs(ds)).toEqual([[1, 2, 3], [1, 2, 3], [1, 2, 3]]);
  });

  it('an empty file is an error; everything filtered away is an error', async () => {
    expect((await dataError(loadDataset(tmp.make({ 'inter.csv': '' })))).message).toMatch(/empty file/);
    expect((await dataError(loadDataset(tmp.make({ 'inter.csv': 'user,item,timestamp\n' })))).message).toMatch(/empty file/);
    expect((await dataError(loadDataset(tmp.make({ 'inter.csv': body }), { kcore: 5 }))).message).toMatch(/no user left after 5-core/);
  });
});

describe('RecBole atomic files', () => {
  const inter = `user_id:token\titem_id:token\trating:float\ttimestamp:float\n${ROWS.map(([u, i, ts]) => `${u}\t${i}\t5\t${ts}`).join('\n')}\n`;
  const item = 'item_id:token\ttitle:token_seq\tbrand:token\tcategories:token_seq\tprice:float\nx\tThe X\tAcme\tA, B\t2.5\ny\tWhy\t\t\t\n';

  it('reads .inter and .item', async () => {
    const dir = tmp.make({ 'toy.inter': inter, 'toy.item': item });
    expect(detectFormat(dir)).toBe('recbole');
    const ds = await loadDataset(dir, { kcore: 3 });
    expect(ds.name).toBe('toy');
    expect(seqs(ds)).toEqual([[1, 2, 3], [1, 2, 3], [1, 2, 3]]);
    expect(ds.items[3]).toEqual({ title: 'The X', brand: 'Acme', categories: ['A', 'B'], price: 2.5, sourceId: 'x' });
    expect(ds.items[1]).toEqual({ title: 'Why', sourceId: 'y' });
  });

  it('header and line errors name the field', async () => {
    let e = await dataError(loadDataset(tmp.make({ 'a.inter': 'user_id\titem_id:token\n' })));
    expect([e.line, e.field]).toEqual([1, 'column 1']);
    e = await dataError(loadDataset(tmp.make({ 'a.inter': 'user_id:token\titem:token\nu\ti\n' })));
    expect(e.field).toBe('item_id');
    e = await dataError(loadDataset(tmp.make({ 'a.inter': inter.replace('\t20\n', '\tnoon\n') })));
    expect([e.line, e.field]).toEqual([4, 'timestamp']);
    e = await dataError(loadDataset(tmp.make({ 'a.inter': '' })));
    expect(e.message).toMatch(/empty file/);
    e = await dataError(loadDataset(tmp.make({ 'a.inter': 'user_id:token\titem_id:token\n' })));
    expect(e.message).toMatch(/no interactions/);
    e = await dataError(loadDataset(tmp.make({ 'a.inter': inter, 'b.inter': inter })));
    expect(e.field).toBe('name');
    const ds = await loadDataset(tmp.make({ 'a.inter': inter.replace('\t20\n', '\tnoon\n') }), { onBadLine: 'skip', kcore: 0 });
    // The bad line (counted), then user a, left with 2 interactions (counted too).
    expect(ds.skipped).toHaveLength(2);
    expect(ds.skipped[0]).toMatchObject({ line: 4 });
    expect(ds.skipped[1]!.reason).toMatch(/user "a" has 2 interaction/);
  });
});

describe('Amazon 2014 dumps', () => {
  const reviews = ROWS.map(([u, i, ts]) => JSON.stringify({ reviewerID: u, asin: i, overall: 5, unixReviewTime: ts })).join('\n');
  const meta = [
    "{'asin': 'x', 'title': 'Ex \\'quoted\\'', 'brand': 'Acme', 'categories': [['Beauty', 'Makeup'], ['Beauty', 'Nails']], 'price': 3.5, 'related': {'also_bought': ['y']}}",
    "{'asin': 'y', 'title': \"Why's\", 'salesRank': {'Beauty': 12}, 'imUrl': None}",
    "{'asin': 'unused', 'title': broken",
  ].join('\n');

  it('reads gzipped reviews and Python-literal metadata (only for kept items)', async () => {
    const dir = tmp.make({ 'reviews_Beauty_5.json.gz': reviews, 'meta_Beauty.json.gz': meta });
    expect(detectFormat(dir)).toBe('amazon');
    const ds = await loadDataset(dir, { kcore: 3 });
    expect(ds.name).toBe('Beauty');
    expect(seqs(ds)).toEqual([[1, 2, 3], [1, 2, 3], [1, 2, 3]]);
    expect(ds.items[3]).toMatchObject({ title: "Ex 'quoted'", brand: 'Acme', categories: ['Beauty', 'Makeup', 'Nails'], price: 3.5, sourceId: 'x' });
    expect(ds.items[1]).toMatchObject({ title: "Why's", salesRank: { Beauty: 12 }, sourceId: 'y' });
    expect(ds.items[1]!.imUrl).toBeUndefined();
    expect(ds.items[2]).toEqual({ sourceId: 'z' });
  });

  it('plain .json reviews; malformed lines are errors or counted skips', async () => {
    const bad = `${reviews}\n{"reviewerID": "a", "asin": "x"}\nnot json\n`;
    const dir = tmp.make({ 'reviews_Toys_5.json': bad });
    const e = await dataError(loadDataset(dir, { kcore: 3 }));
    expect([e.line, e.field]).toEqual([10, 'unixReviewTime']);
    const ds = await loadDataset(dir, { kcore: 3, onBadLine: 'skip' });
    expect(ds.skipped.map((s) => s.line)).toEqual([10, 11]);
    expect(ds.users).toHaveLength(3);
  });

  it('a malformed metadata line of a kept item is an error naming the line', async () => {
    const dir = tmp.make({ 'reviews_X_5.json': reviews, 'meta_X.json': "{'asin': 'x', 'title': 'ok'}\n{'asin': 'y', 'title': }\n" });
    const e = await dataError(loadDataset(dir, { kcore: 3 }));
    expect(e.file).toMatch(/meta_X\.json$/);
    expect(e.line).toBe(2);
    expect(e.message).toMatch(/malformed Python literal/);
    const e2 = await dataError(loadDataset(tmp.make({ 'reviews_X_5.json': '' })));
    expect(e2.message).toMatch(/empty file/);
    // A corrupt gzip stream is a DataError naming the file, not a crash.
    const gzDir = tmp.make({});
    writeFileSync(join(gzDir, 'reviews_X_5.json.gz'), Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
    const e3 = await dataError(loadDataset(gzDir));
    expect(e3.file).toMatch(/reviews_X_5\.json\.gz$/);
    expect(e3.message).toMatch(/cannot read/);
  });
});

describe('Python literal parser', () => {
  it('parses dicts, lists, tuples, sets, strings, numbers and constants', () => {
    expect(parsePythonLiteral("{'a': [1, 2.5, -3e2, (4, 5)], \"b\": {'c': None, 'd': True, 'e': False}, 'f': {1, 2}, 7: 'seven',}"))
      .toEqual({ a: [1, 2.5, -300, [4, 5]], b: { c: null, d: true, e: false }, f: [1, 2], 7: 'seven' });
    expect(parsePythonLiteral("'it\\'s \\\\ \\n \\t \\x41 \\u00e9 \\101'")).toBe("it's \\ \n \t A é A");
    expect(parsePythonLiteral("u'unicode'")).toBe('unicode');
    expect(parsePythonLiteral("r'\\d+'")).toBe('\\d+');
    expect(parsePythonLiteral("'''tri'ple'''")).toBe("tri'ple");
    expect(parsePythonLiteral('[]')).toEqual([]);
    expect(parsePythonLiteral('{}')).toEqual({});
  });

  it('rejects anything else without eval, and never overflows the stack', () => {
    for (const bad of ["__import__('os')", "{'a': 1", "{'a' 1}", "'open", '[1, 2] x', '', "{'a': [1,]]}", '{[1]: 2}']) {
      expect(() => parsePythonLiteral(bad), bad).toThrow(PyLiteralError);
    }
    expect(() => parsePythonLiteral('['.repeat(100_000))).toThrow(/nesting too deep/);
  });
});
