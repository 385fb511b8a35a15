import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Finds or starts the PostgreSQL the suite needs (a throwaway one when none answers).
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Each test file opens its own database on every store; two workers match this machine's two cores.
    maxWorkers: 2,
  },
});
