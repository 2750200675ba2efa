/**
 * Streaming line reader: reads a (possibly gzip-compressed) text file chunk by chunk and yields
 * its lines with their 1-based numbers. Never loads the whole file; handles `\n` and `\r\n`.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';
import { DataError } from './errors.js';

/** One line of a file (without the line terminator). */
export interface NumberedLine {
  text: string;
  /** 1-based line number. */
  line: number;
}

async function isGzip(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(2);
    const { bytesRead } = await fh.read(buf, 0, 2, 0);
    return bytesRead === 2 && buf[0] === 0x1f && buf[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

/**
 * Yields every line of `path` (gzip detected by magic bytes, whatever the extension).
 * An I/O or decompression failure becomes a {@link DataError} naming the file.
 */
export async function* readLines(path: string): AsyncGenerator<NumberedLine> {
  let stream: Readable;
  try {
    const raw = createReadStream(path, { highWaterMark: 1 << 20 });
    stream = (await isGzip(path)) ? raw.pipe(createGunzip()) : raw;
  } catch (e) {
    throw new DataError(path, 0, 'file', `cannot open: ${(e as Error).message}`);
  }
  const decoder = new StringDecoder('utf8');
  let rest = '';
  let line = 0;
  try {
    for await (const chunk of stream) {
      const text = rest + decoder.write(chunk as Buffer);
      let start = 0;
      for (;;) {
        const nl = text.indexOf('\n', start);
        if (nl < 0) break;
        let end = nl;
        if (end > start && text.charCodeAt(end - 1) === 13) end--;
        line++;
        yield { text: text.slice(start, end), line };
        start = nl + 1;
      }
      rest = text.slice(start);
    }
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw new DataError(path, line + 1, 'file', `cannot read: ${(e as Error).message}`);
  }
  rest += decoder.end();
  if (rest.length > 0) {
    if (rest.charCodeAt(rest.length - 1) === 13) rest = rest.slice(0, -1);
    line++;
    yield { text: rest, line };
  }
}
