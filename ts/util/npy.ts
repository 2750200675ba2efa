/**
 * Minimal NumPy `.npy` (format 1.0) reader/writer for 2-D little-endian float32 / uint32 arrays:
 * the index's embedding matrices and code tables, readable with `numpy.load`.
 */
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from './fs.js';

export type NpyArray =
  | { dtype: 'f4'; shape: [number, number]; data: Float32Array }
  | { dtype: 'u4'; shape: [number, number]; data: Uint32Array };

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** Serialises a 2-D array to `.npy` bytes. */
export function encodeNpy(arr: NpyArray): Uint8Array {
  const [rows, cols] = arr.shape;
  if (arr.data.length !== rows * cols) throw new Error(`npy: data length ${arr.data.length} != ${rows}x${cols}`);
  let header = `{'descr': '<${arr.dtype}', 'fortran_order': False, 'shape': (${rows}, ${cols}), }`;
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + arr.data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(Buffer.from(header, 'latin1'), 10);
  out.set(new Uint8Array(arr.data.buffer, arr.data.byteOffset, arr.data.byteLength), 10 + header.length);
  return out;
}

/** Writes a 2-D array atomically. */
export function writeNpy(path: string, arr: NpyArray): void {
  writeFileAtomic(path, encodeNpy(arr));
}

/** Reads a 2-D little-endian `<f4` or `<u4` array; errors name the file. */
export function readNpy(path: string): NpyArray {
  const buf = readFileSync(path);
  const bad = (msg: string) => new Error(`${path}: not a supported .npy file: ${msg}`);
  if (buf.length < 10 || !MAGIC.every((b, i) => buf[i] === b)) throw bad('bad magic');
  const major = buf[6]!;
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const hstart = major === 1 ? 10 : 12;
  const header = buf.subarray(hstart, hstart + hlen).toString('latin1');
  const descr = /'descr':\s*'([<|=]?)([fu]4)'/.exec(header);
  if (!descr) throw bad(`unsupported dtype in header ${header.trim()}`);
  if (/'fortran_order':\s*True/.test(header)) throw bad('fortran_order arrays are not supported');
  const shape = /'shape':\s*\((\d+),\s*(\d+),?\s*\)/.exec(header);
  if (!shape) throw bad(`expected a 2-D shape in header ${header.trim()}`);
  const rows = Number(shape[1]);
  const cols = Number(shape[2]);
  const start = hstart + hlen;
  const bytes = buf.subarray(start);
  if (bytes.length !== rows * cols * 4) throw bad(`expected ${rows * cols * 4} data bytes, found ${bytes.length}`);
  const copy = new Uint8Array(bytes); // aligned copy
  if (descr[2] === 'f4') return { dtype: 'f4', shape: [rows, cols], data: new Float32Array(copy.buffer) };
  return { dtype: 'u4', shape: [rows, cols], data: new Uint32Array(copy.buffer) };
}
