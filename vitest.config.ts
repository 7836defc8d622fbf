import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
    // a loaded 2-core CI machine can take more than the 1 s default to render or deliver; a poll that never succeeds still fails
    expect: { poll: { timeout: 10_000 } },
  },
});
