/**
 * Loads the napi-rs addon (generated CommonJS loader in `native/index.cjs`) and maps its errors.
 *
 * Core errors arrive as `[EAGER_CODE] message`; {@link callNative} turns them into an
 * {@link EagerNativeError} whose `code` is that stable code.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as NativeTypes from '../native/index.js';

const require = createRequire(import.meta.url);

function findLoader(): string {
  // Works from ts/ (tests, tsx) and from dist/ (bundled): walk up to the package root.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const candidate = join(dir, 'native', 'index.cjs');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error(
    'native addon loader not found (native/index.cjs): run `npm run build:native` (needs a Rust toolchain)',
  );
}

// candle's element-wise thread pool busy-waits beside rayon's matmul threads; on small CPUs that
// made training steps about 3x slower. One candle thread is the measured best; users may override.
process.env.CANDLE_NUM_THREADS ??= '1';

/** The raw addon. Prefer the typed wrappers in the rest of `ts/`. */
export const native: typeof NativeTypes = require(findLoader());

/** An error raised by the Rust core, with its stable code (e.g. `EAGER_BAD_FILE`). */
export class EagerNativeError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'EagerNativeError';
    this.code = code;
  }
}

const CODE_RE = /^\[(EAGER_[A-Z_]+)\]\s*/;

/** Rewrites a native error into an {@link EagerNativeError}; other values pass through. */
export function mapNativeError(e: unknown): unknown {
  if (e instanceof Error) {
    const m = CODE_RE.exec(e.message);
    if (m) {
      const err = new EagerNativeError(m[1]!, e.message.replace(CODE_RE, ''));
      (err as { cause?: unknown }).cause = e;
      return err;
    }
    if ((e as { code?: string }).code === undefined || (e as { code?: string }).code === 'GenericFailure') {
      return new EagerNativeError('EAGER_NATIVE', e.message);
    }
  }
  return e;
}

/** Calls a native function, mapping its errors (sync or async). */
export function callNative<T>(fn: () => T): T {
  try {
    const out = fn();
    if (out instanceof Promise) {
      return out.catch((e: unknown) => {
        throw mapNativeError(e);
      }) as T;
    }
    return out;
  } catch (e) {
    throw mapNativeError(e);
  }
}
