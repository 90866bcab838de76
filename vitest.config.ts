import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/build-once.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests start servers; two cores are shared, so keep parallelism modest.
    maxWorkers: 2,
  },
});
