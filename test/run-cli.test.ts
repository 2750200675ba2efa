/**
 * `bench:repro`'s child-process runner (`benches/run-cli.ts`): a SIGTERM to the bench stops the
 * child gracefully (as SIGINT) instead of leaving it running, and the handler is removed after.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, runCliJson } from '../benches/run-cli.js';

const root = mkdtempSync(join(tmpdir(), 'eager-run-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
mkdirSync(join(root, 'dist'));
// A stand-in CLI: prints its arguments, then waits; on SIGINT it "saves" and exits 130 like `eager train`.
writeFileSync(join(root, 'dist', 'cli.js'), `
if (process.argv[2] === 'fail') process.exit(3);
process.stdout.write(process.argv[2] === 'garbage' ? 'not json' : JSON.stringify(process.argv.slice(2)));
if (process.argv[2] === 'wait') {
  process.on('SIGINT', () => { process.stdout.write(' saved'); process.exit(130); });
  setInterval(() => {}, 1000);
  require('node:fs').writeFileSync(process.argv[3], '');
}
`);

describe('runCli', () => {
  it('returns the exit code and the captured stdout', async () => {
    const r = await runCli(root, ['eval', 'x'], true);
    expect(r).toMatchObject({ code: 0, stdout: '["eval","x"]' });
    expect(process.listenerCount('SIGTERM')).toBe(0);
  });

  it('passes a SIGTERM on to the child as its graceful SIGINT, then forgets it', async () => {
    const before = process.listenerCount('SIGTERM');
    const ready = join(root, 'ready');
    const running = runCli(root, ['wait', ready], true);
    // once the child has installed its handler, signal the bench the way `kill` would
    for (let i = 0; i < 300 && !existsSync(ready); i++) await new Promise((r) => setTimeout(r, 50));
    expect(process.listenerCount('SIGTERM')).toBe(before + 1);
    process.emit('SIGTERM', 'SIGTERM');
    const r = await running;
    expect(r.code).toBe(130);
    expect(r.stdout).toBe(`${JSON.stringify(['wait', ready])} saved`);
    expect(process.listenerCount('SIGTERM')).toBe(before);
  });

  it('runCliJson parses the JSON a command prints, and names the command when it fails or prints something else', async () => {
    const r = await runCliJson<string[]>(root, ['eval', 'a', '--json']);
    expect(r.value).toEqual(['eval', 'a', '--json']);
    expect(r.seconds).toBeGreaterThan(0);
    await expect(runCliJson(root, ['fail', 'x'])).rejects.toThrow('eager fail x failed (exit 3)');
    await expect(runCliJson(root, ['garbage', 'y'])).rejects.toThrow(/^eager garbage y: output is not JSON/);
  });
});
