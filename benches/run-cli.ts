/**
 * How `bench:repro` runs the package's own CLI (`node dist/cli.js <args>`) as a child process.
 * A SIGTERM to the bench (a job scheduler, `kill <pid>`) is passed on to the child as SIGINT, the
 * CLI's graceful stop (`eager train` saves a checkpoint and exits 130, resumable), so killing the
 * bench never leaves an orphaned training behind. Ctrl-C needs no forwarding: the terminal sends
 * SIGINT to the whole process group.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

/**
 * Runs `node <root>/dist/cli.js <args>`; stderr (progress) goes to the terminal, stdout too unless
 * `captureStdout` (then it is returned). A child ended by a signal reports 130 for SIGINT, else 1.
 */
export function runCli(root: string, args: string[], captureStdout = false): Promise<{ code: number; seconds: number; stdout: string }> {
  process.stderr.write(`\n$ eager ${args.join(' ')}\n`);
  const t0 = performance.now();
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, [join(root, 'dist/cli.js'), ...args], { cwd: root, stdio: ['inherit', captureStdout ? 'pipe' : 'inherit', 'inherit'] });
    const forward = () => {
      process.stderr.write(`SIGTERM: stopping \`eager ${args[0] ?? ''}\` (pid ${child.pid}) gracefully\n`);
      child.kill('SIGINT');
    };
    process.on('SIGTERM', forward);
    const out: Buffer[] = [];
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.on('error', (e) => {
      process.off('SIGTERM', forward);
      fail(e);
    });
    child.on('exit', (code, signal) => {
      process.off('SIGTERM', forward);
      ok({ code: code ?? (signal === 'SIGINT' ? 130 : 1), seconds: (performance.now() - t0) / 1000, stdout: Buffer.concat(out).toString('utf8') });
    });
  });
}

/** Runs `eager <args>` (a `--json` command) and parses its stdout; errors name the command. */
export async function runCliJson<T>(root: string, args: string[]): Promise<{ value: T; seconds: number }> {
  const r = await runCli(root, args, true);
  if (r.code !== 0) throw new Error(`eager ${args.join(' ')} failed (exit ${r.code})`);
  try {
    return { value: JSON.parse(r.stdout) as T, seconds: r.seconds };
  } catch (e) {
    throw new Error(`eager ${args.join(' ')}: output is not JSON: ${(e as Error).message}`);
  }
}
