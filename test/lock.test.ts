/**
 * The output-directory lock (`ts/util/lock.ts`): a second writer fails with EAGER_LOCKED naming the
 * holder, a crashed holder's lock is taken over, `waitForUnlock` returns once the holder is done,
 * and `eager train` / `eager index` hold it for their whole run.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { acquireLock, lockHolder, lockPath, LockedError, lockTestHooks, waitForUnlock, withLock } from '../ts/util/lock.js';
import { runIndex } from '../ts/commands/index.js';
import { trainRun } from '../ts/run/train.js';
import { parseTrainConfig } from '../ts/run/config.js';
import { ProgressReporter } from '../ts/train/progress.js';
import { fakeBackend, fakeIndexLoader } from './fixtures/run-fake-model.js';
import { tinyDatasetDir } from './fixtures/run-data.js';

const tmp = mkdtempSync(join(tmpdir(), 'eager-lock-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The pid of a process that has already exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

describe('directory lock', () => {
  it('is exclusive, names its holder, and is released', () => {
    const dir = join(tmp, 'a', 'index');
    const release = acquireLock(dir, 'eager index');
    // the parent directory is created; the lock sits beside the directory, not in it
    expect(existsSync(lockPath(dir))).toBe(true);
    expect(existsSync(dir)).toBe(false);
    expect(lockHolder(dir)).toMatchObject({ pid: process.pid, what: 'eager index', host: hostname() });
    let err: unknown;
    try {
      acquireLock(dir, 'eager index');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LockedError);
    expect((err as LockedError).code).toBe('EAGER_LOCKED');
    expect((err as Error).message).toContain(resolve(dir));
    expect((err as Error).message).toContain(`eager index (pid ${process.pid}`);
    release();
    expect(existsSync(lockPath(dir))).toBe(false);
    expect(lockHolder(dir)).toBeUndefined();
    acquireLock(dir, 'again')();
  });

  it('takes over the lock of a process that is gone, and of a cut-short lock file', () => {
    const dir = join(tmp, 'stale');
    const pid = deadPid();
    writeFileSync(lockPath(dir), JSON.stringify({ pid, host: 'an-old-container', what: 'eager train', since: '2026-01-01' }));
    expect(lockHolder(dir)).toBeUndefined();
    const release = acquireLock(dir, 'eager train');
    expect(JSON.parse(readFileSync(lockPath(dir), 'utf8')).pid).toBe(process.pid);
    release();
    writeFileSync(lockPath(dir), '{"pid": 12');
    acquireLock(dir, 'eager train')();
    expect(existsSync(lockPath(dir))).toBe(false);
  });

  it('two processes breaking the same stale lock: the second leaves the first one\'s fresh lock alone', () => {
    const dir = join(tmp, 'race');
    writeFileSync(lockPath(dir), JSON.stringify({ pid: deadPid(), host: hostname(), what: 'eager train', since: '?' }));
    // Between this process seeing the stale lock and breaking it, another (live: our parent)
    // breaks it first and takes the lock.
    lockTestHooks.beforeBreak = () => {
      lockTestHooks.beforeBreak = undefined;
      rmSync(lockPath(dir));
      writeFileSync(lockPath(dir), JSON.stringify({ pid: process.ppid, host: hostname(), what: 'the other', since: 'now' }));
    };
    try {
      expect(() => acquireLock(dir, 'eager train')).toThrow(/the other \(pid /);
    } finally {
      lockTestHooks.beforeBreak = undefined;
    }
    expect(lockHolder(dir)).toMatchObject({ pid: process.ppid, what: 'the other' });
    rmSync(lockPath(dir));
    // nothing of this process's is left beside the directory
    expect(readdirSync(tmp).filter((f) => f.startsWith('race'))).toEqual([]);
  });

  it('waits while another process holds the breaker, and clears a breaker left by a crash', () => {
    const dir = join(tmp, 'breaker');
    const breaker = `${lockPath(dir)}.break`;
    writeFileSync(lockPath(dir), JSON.stringify({ pid: deadPid(), host: hostname(), what: 'eager index', since: '?' }));
    writeFileSync(breaker, '');
    let looks = 0;
    lockTestHooks.beforeBreak = () => {
      looks += 1;
      if (looks === 3) rmSync(breaker); // the other process is done (its takeover failed)
    };
    try {
      acquireLock(dir, 'eager index')();
      expect(looks).toBe(3);
      // a breaker older than the takeover could ever take is from a process that died in it
      writeFileSync(lockPath(dir), JSON.stringify({ pid: deadPid(), host: hostname(), what: 'eager index', since: '?' }));
      writeFileSync(breaker, '');
      const old = new Date(Date.now() - 60_000);
      utimesSync(breaker, old, old);
      looks = 0;
      acquireLock(dir, 'eager index')();
      expect(looks).toBe(2);
    } finally {
      lockTestHooks.beforeBreak = undefined;
    }
    expect(readdirSync(tmp).filter((f) => f.startsWith('breaker'))).toEqual([]);
  });

  it('release leaves a lock that another process took over alone', () => {
    const dir = join(tmp, 'taken');
    const release = acquireLock(dir, 'x');
    // another live process (the parent of this one) holds it now
    writeFileSync(lockPath(dir), JSON.stringify({ pid: process.ppid, host: hostname(), what: 'y', since: 'now' }));
    release();
    expect(lockHolder(dir)).toMatchObject({ pid: process.ppid, what: 'y' });
    rmSync(lockPath(dir));
  });

  it('waitForUnlock returns when the holder finishes, and gives up after its timeout', async () => {
    const dir = join(tmp, 'wait');
    const waited: number[] = [];
    let done = false;
    const held = withLock(dir, 'eager index', async () => {
      await new Promise((r) => setTimeout(r, 150));
      done = true;
    });
    await waitForUnlock(dir, { onWait: (h) => waited.push(h.pid), pollMs: 20 });
    expect(done).toBe(true);
    expect(waited).toEqual([process.pid]);
    await held;
    const release = acquireLock(dir, 'eager index');
    await expect(waitForUnlock(dir, { pollMs: 10, timeoutMs: 50 })).rejects.toThrow(LockedError);
    release();
    await waitForUnlock(dir, { pollMs: 10, timeoutMs: 50 });
  });
});

describe('commands hold the lock of their output', () => {
  it('eager train refuses a run directory another process is writing, and releases its own', async () => {
    const { dir: dataDir, dataset } = tinyDatasetDir(30, 40, 3);
    const out = join(tmp, 'run');
    const config = parseTrainConfig({ schedule: { warmupSteps: 0, decay: 'constant' }, batchSize: 16, maxSteps: 4, evalEvery: 2, seed: 1 });
    const deps = () => ({ backend: fakeBackend(), loadIndex: fakeIndexLoader(dataset.numItems), progress: new ProgressReporter(process.stderr, 10_000, false) });
    const release = acquireLock(out, 'eager train');
    await expect(trainRun({ out, dataset: dataDir, index: join(tmp, 'idx'), config }, deps())).rejects.toThrow(LockedError);
    expect(existsSync(join(out, 'config.json'))).toBe(false);
    release();
    const r = await trainRun({ out, dataset: dataDir, index: join(tmp, 'idx'), config }, deps());
    expect(r.interrupted).toBe(false);
    expect(r.interrupted ? -1 : r.results.stepsRun).toBe(4);
    expect(existsSync(lockPath(out))).toBe(false);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('eager index refuses an --out another process is writing, before reading the dataset', async () => {
    const out = join(tmp, 'index');
    const release = acquireLock(out, 'eager index');
    await expect(runIndex([join(tmp, 'no-such-dataset'), '--out', out])).rejects.toThrow(LockedError);
    release();
    // without the lock the same command gets as far as the dataset
    await expect(runIndex([join(tmp, 'no-such-dataset'), '--out', out])).rejects.toThrow(/no-such-dataset/);
    expect(existsSync(lockPath(out))).toBe(false);
  });
});
