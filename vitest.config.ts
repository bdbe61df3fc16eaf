import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests start real nginx and upstream processes; two cores, so keep parallelism modest.
    maxWorkers: 2,
    // Ceilings, not measurements (speed is `npm run bench`): a whole workflow with real nginx on two
    // loaded cores can take a minute.
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
