import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cargoTargetDir } from '../benches/cargo-target.js';

describe('cargoTargetDir', () => {
  it('follows CARGO_TARGET_DIR, relative to the build root, else <root>/target', () => {
    expect(cargoTargetDir('/repo', {})).toBe(join('/repo', 'target'));
    expect(cargoTargetDir('/repo', { CARGO_TARGET_DIR: '' })).toBe(join('/repo', 'target'));
    expect(cargoTargetDir('/repo', { CARGO_TARGET_DIR: '/cache/eager/target' })).toBe('/cache/eager/target');
    expect(cargoTargetDir('/repo', { CARGO_TARGET_DIR: 'build/t' })).toBe(join('/repo', 'build/t'));
  });
});
