import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests start real nginx and upstream processes; two cores, so keep parallelism modest.
    maxWorkers: 2,
    testTimeout: 30_000,
    // Hooks synthesize the stack (now with the remediation Lambdas and document): slow on a loaded host.
    hookTimeout: 180_000,
  },
});
