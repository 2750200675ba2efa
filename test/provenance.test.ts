import { describe, expect, it } from 'vitest';
import { provenance, simdLevel } from '../benches/provenance.js';

const x86 = (flags: string) => `processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC\nflags\t\t: fpu vme sse sse2 ${flags} hypervisor\n\nprocessor\t: 1\nflags\t\t: fpu vme sse sse2 ${flags}\n`;

describe('provenance: the CPU vector level', () => {
  it('names the widest vector instruction set in /proc/cpuinfo', () => {
    expect(simdLevel(x86('ssse3 sse4_2 avx f16c avx2 fma avx512f avx512dq avx512bw avx512vl'))).toBe('avx512');
    expect(simdLevel(x86('ssse3 sse4_2 avx f16c avx2 fma'))).toBe('avx2');
    expect(simdLevel(x86('ssse3 sse4_2 avx'))).toBe('avx');
    // a flag name inside another (avx512_bf16 without avx512f, avx_vnni) is not the flag itself
    expect(simdLevel(x86('ssse3 sse4_2 avx_vnni'))).toBeUndefined();
    expect(simdLevel('processor\t: 0\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32\n')).toBe('neon');
    expect(simdLevel('')).toBeUndefined();
  });

  it('records it with the machine where the system tells it', () => {
    const m = provenance(process.cwd()).machine;
    if (process.platform === 'linux' && process.arch === 'x64') expect(['avx512', 'avx2', 'avx']).toContain(m.simd);
    else expect(m.simd === undefined || typeof m.simd === 'string').toBe(true);
  });
});
