import { defineConfig } from 'vitest/config';

// The forks pool runs each test file on the main thread of a child process: the
// loop uvscope records there is the real main loop, not a worker's.
export default defineConfig({
  test: {
    pool: 'forks',
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
