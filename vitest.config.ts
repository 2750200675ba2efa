import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // forks: a crashing native addon kills a child process, not the runner.
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
