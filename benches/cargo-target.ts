/** Where cargo puts its build outputs, so benches can run the examples they just built. */
import { isAbsolute, join, resolve } from 'node:path';

/**
 * Cargo's target directory for a build run in `root`: `CARGO_TARGET_DIR` when set (relative to
 * `root`, where cargo resolves it), else `<root>/target`. CI and `.ci/run` set it to a shared
 * cache, so a path hard-wired to `<root>/target` would miss the binaries.
 */
export function cargoTargetDir(root: string, env: NodeJS.ProcessEnv = process.env): string {
  const dir = env['CARGO_TARGET_DIR'];
  if (!dir) return join(root, 'target');
  return isAbsolute(dir) ? dir : resolve(root, dir);
}
