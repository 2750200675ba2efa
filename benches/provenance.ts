/** Provenance of a bench result: git commit, machine, versions. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem, type as osType, release } from 'node:os';
import { join } from 'node:path';
import type { Provenance } from './results-schema.js';

function git(root: string, args: string[]): string | null {
  try {
    return execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

/** The package root: the nearest directory above `start` whose package.json is `@eager/native`. */
export function packageRoot(start = process.cwd()): string {
  let dir = start;
  for (let i = 0; i < 8; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === '@eager/native') return dir;
    } catch {
      // not here
    }
    const up = join(dir, '..');
    if (up === dir) break;
    dir = up;
  }
  throw new Error(`no @eager/native package.json found above ${start}: run from the repository`);
}

/**
 * The widest vector instruction set in a `/proc/cpuinfo` text (its `flags` / `Features` lines):
 * timings from an AVX-512 host and an AVX2-only host of the same model name differ by about 2x
 * in this project's matrix kernels, so results record it.
 */
export function simdLevel(cpuinfo: string): string | undefined {
  const flags = new Set(cpuinfo.split('\n').filter((l) => /^(flags|Features)\s*:/.test(l)).flatMap((l) => l.slice(l.indexOf(':') + 1).trim().split(/\s+/)));
  for (const [flag, level] of [['avx512f', 'avx512'], ['avx2', 'avx2'], ['avx', 'avx'], ['asimd', 'neon']] as const) {
    if (flags.has(flag)) return level;
  }
  return undefined;
}

function cpuSimd(): string | undefined {
  try {
    return simdLevel(readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    return undefined;
  }
}

/** Commit, machine and versions; `extraVersions` adds e.g. the torch version. */
export function provenance(root: string, extraVersions: Record<string, string> = {}, loadAtStart?: number[]): Provenance {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version?: string };
  // Uncommitted changes to code count; to the bench outputs (results, the page) they do not,
  // or collecting several runs in a row would mark all but the first as dirty.
  const status = git(root, ['status', '--porcelain', '--untracked-files=no', '--', '.', ':(exclude)benches/results', ':(exclude)docs']);
  const c = cpus();
  const simd = cpuSimd();
  return {
    createdAt: new Date().toISOString(),
    commit: git(root, ['rev-parse', 'HEAD']) ?? 'unknown',
    dirty: status === null ? false : status !== '',
    machine: {
      os: `${osType()} ${release()}`,
      cpuModel: c[0]?.model.trim() ?? 'unknown',
      cpus: c.length,
      memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
      ...(simd ? { simd } : {}),
      ...(loadAtStart ? { loadAverageAtStart: loadAtStart.map((x) => Math.round(x * 100) / 100) } : {}),
    },
    versions: { package: pkg.version ?? 'unknown', node: process.version, ...extraVersions },
  };
}

/** The 1-minute, 5-minute and 15-minute load averages. */
export function loadAverage(): number[] {
  return loadavg();
}
