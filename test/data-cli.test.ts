import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { UsageError } from '../ts/cli/flags.js';
import { runDataCommand } from '../ts/commands/data.js';
import { isDataError } from '../ts/data/errors.js';
import { TmpDirs } from './fixtures/data-tmp.js';

const tmp = new TmpDirs();
afterAll(() => tmp.cleanup());
afterEach(() => {
  vi.restoreAllMocks();
});

function captureLog(): string[] {
  const lines: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => {
    lines.push(a.map(String).join(' '));
  });
  return lines;
}

describe('eager data stats', () => {
  it('prints JSON with users, items, interactions and the skip count', async () => {
    const dir = tmp.make({ 'x.csv': 'a,1,1\na,2,2\na,3,3\nb,1,1\nb,2,2\nb,3,3\nc,1,1\nc,2,2\nbad\n' });
    const out = captureLog();
    expect(await runDataCommand(['stats', dir, '--json', '--kcore', '0', '--on-bad-line', 'skip'])).toBe(0);
    const s = JSON.parse(out[0]!);
    expect(s).toMatchObject({ users: 2, items: 3, interactions: 6, format: 'csv', skipped: 2 });
    expect(s.skippedExamples[0]).toMatch(/x\.csv:9: columns/);
    expect(s.filtered).toMatchObject({ kcore: 0 });
  });

  it('prints a readable summary without --json', async () => {
    const dir = tmp.make({ 'sequences.txt': '1 1 2 3\n2 2 3 1\n' });
    const out = captureLog();
    expect(await runDataCommand(['stats', dir])).toBe(0);
    expect(out.join('\n')).toMatch(/users\s+2\nitems\s+3\ninteractions\s+6/);
  });

  it('usage errors name the flag; data errors propagate with their code', async () => {
    await expect(runDataCommand(['stats', '/x', '--kcore', 'many'])).rejects.toThrow(/--kcore/);
    await expect(runDataCommand(['stats', '/x', '--format', 'parquet'])).rejects.toThrow(/--format/);
    await expect(runDataCommand(['stats'])).rejects.toBeInstanceOf(UsageError);
    await expect(runDataCommand(['frobnicate'])).rejects.toBeInstanceOf(UsageError);
    const err = await runDataCommand(['stats', tmp.make({ 'sequences.txt': '1 1 2\n' })]).catch((e: unknown) => e);
    expect(isDataError(err)).toBe(true);
    expect(String((err as Error).message)).toMatch(/sequences\.txt:1: field "items"/);
  });
});
