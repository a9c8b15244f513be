import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{engine,cli,bench,simulator,proto,service,controllers-adapter,test}/**/*.test.ts'],
    exclude: ['dist/**', 'node_modules/**'],
    testTimeout: 60_000,
    pool: 'forks',
  },
});
