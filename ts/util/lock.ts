/**
 * An advisory lock on an output directory, so two processes never write the same index or run
 * at once (`eager index` replaces its directory by rename; `eager train` appends checkpoints).
 * The lock is a file beside the directory, `<dir>.lock`, created exclusively (whole, by hard link)
 * and holding the owner's pid: it works before the directory exists and survives the directory being renamed.
 * A lock whose process is gone (a crash, `kill -9`) is stale and is taken over; the takeover is
 * serialised by a second exclusive file, `<dir>.lock.break`, so two processes finding the same stale
 * lock at once cannot both remove it (the second would remove the first one's fresh lock).
 */
import { hostname } from 'node:os';
import { openSync, closeSync, linkSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Another live process holds the lock of a directory (code EAGER_LOCKED). */
export class LockedError extends Error {
  readonly code = 'EAGER_LOCKED';
  constructor(readonly path: string, readonly holder: LockHolder) {
    super(`${path}: ${holder.what} (pid ${holder.pid} on ${holder.host}, since ${holder.since}) is writing this directory; ` +
      `wait for it to finish, or remove ${path}.lock if that process is gone`);
    this.name = 'LockedError';
  }
}

/** What a lock file records. */
export interface LockHolder {
  pid: number;
  host: string;
  what: string;
  since: string;
}

/** The lock file of `dir`. */
export function lockPath(dir: string): string {
  return `${resolve(dir)}.lock`;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(path: string): LockHolder | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    const h = JSON.parse(text) as Partial<LockHolder>;
    if (typeof h.pid === 'number' && Number.isInteger(h.pid) && h.pid > 0) {
      return { pid: h.pid, host: String(h.host ?? '?'), what: String(h.what ?? '?'), since: String(h.since ?? '?') };
    }
  } catch {
    // a lock file cut short while being written: treated as stale below
  }
  return { pid: 0, host: hostname(), what: 'unknown', since: '?' };
}

/**
 * The live holder of `dir`'s lock, or undefined when it is free or stale (its pid is not a live
 * process on this machine; the host name is only reported, since a container's can change).
 */
export function lockHolder(dir: string): LockHolder | undefined {
  const h = readHolder(lockPath(dir));
  return h && h.pid > 0 && alive(h.pid) ? h : undefined;
}

/** A breaker file older than this belongs to a process that died inside a takeover. */
const BREAK_STALE_MS = 10_000;
/** How long apart `acquireLock` retries while another process breaks a stale lock. */
const RETRY_MS = 25;

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Removes `dir`'s lock if it is still stale, holding the breaker file while it looks, so no other
 * process can put a fresh lock in its place between the look and the removal (a fresh lock is only
 * ever created exclusively, which fails while the stale one exists). Returns false when another
 * process holds the breaker: the caller waits and tries again.
 */
function breakStale(dir: string): boolean {
  const path = lockPath(dir);
  const breaker = `${path}.break`;
  let fd: number;
  try {
    fd = openSync(breaker, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    try {
      if (Date.now() - statSync(breaker).mtimeMs > BREAK_STALE_MS) rmSync(breaker, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    return false;
  }
  try {
    closeSync(fd);
    if (!lockHolder(dir)) rmSync(path, { force: true });
  } finally {
    rmSync(breaker, { force: true });
  }
  return true;
}

/** Creates `path` exclusively with the content of `mine` (a hard link where the file system has them). */
function createWhole(mine: string, path: string): void {
  try {
    linkSync(mine, path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw e;
    writeFileSync(path, readFileSync(mine), { flag: 'wx' });
  }
}

/** Test seam: runs between seeing a stale lock and breaking it (where another process may act). */
export const lockTestHooks: { beforeBreak?: (dir: string) => void } = {};

/**
 * Takes `dir`'s lock for this process (`what` names the command in the error another process
 * gets) and returns its release function. Throws {@link LockedError} when a live process holds
 * it; takes over a stale lock.
 */
export function acquireLock(dir: string, what: string): () => void {
  const path = lockPath(dir);
  const me: LockHolder = { pid: process.pid, host: hostname(), what, since: new Date().toISOString() };
  mkdirSync(dirname(path), { recursive: true });
  // The lock appears whole or not at all: written to a file of our own, then hard-linked to its
  // name (link fails if the name exists), so nobody ever reads a half-written lock as stale.
  const mine = `${path}.${process.pid}.tmp`;
  writeFileSync(mine, `${JSON.stringify(me)}\n`);
  try {
    // Long enough for a breaker left by a process that died mid-takeover to become stale.
    const until = Date.now() + BREAK_STALE_MS + 2000;
    while (Date.now() < until) {
      try {
        createWhole(mine, path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        const holder = lockHolder(dir);
        if (holder) throw new LockedError(resolve(dir), holder);
        lockTestHooks.beforeBreak?.(dir);
        if (!breakStale(dir)) sleepSync(RETRY_MS);
        continue;
      }
      return () => {
        const h = readHolder(path);
        if (h && h.pid === me.pid && h.host === me.host) rmSync(path, { force: true });
      };
    }
  } finally {
    rmSync(mine, { force: true });
  }
  const holder = lockHolder(dir);
  throw new LockedError(resolve(dir), holder ?? { ...me, pid: 0, what: 'a process breaking a stale lock' });
}

/** Runs `fn` holding `dir`'s lock; released however `fn` ends. */
export async function withLock<T>(dir: string, what: string, fn: () => Promise<T>): Promise<T> {
  const release = acquireLock(dir, what);
  try {
    return await fn();
  } finally {
    release();
  }
}

/**
 * Waits until no live process holds `dir`'s lock, calling `onWait` with the holder once per
 * change of holder; polls every `pollMs` and gives up with {@link LockedError} after `timeoutMs`.
 */
export async function waitForUnlock(
  dir: string, opts: { onWait?: (h: LockHolder) => void; pollMs?: number; timeoutMs?: number } = {},
): Promise<void> {
  const { pollMs = 5000, timeoutMs = 3_600_000 } = opts;
  const until = Date.now() + timeoutMs;
  let last: number | undefined;
  for (let h = lockHolder(dir); h; h = lockHolder(dir)) {
    if (Date.now() >= until) throw new LockedError(resolve(dir), h);
    if (h.pid !== last) opts.onWait?.(h);
    last = h.pid;
    await sleep(pollMs);
  }
}
