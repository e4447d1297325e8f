// Unit and adapter tests (npm test). Adapter tests spawn dist/adapter.js, so
// `npm test` builds first (see package.json "pretest").
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts', 'test/adapter/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
