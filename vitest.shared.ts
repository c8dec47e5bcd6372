import { defineConfig, type UserConfig } from 'vitest/config';

/** The test settings every package shares; a package passes what it adds. */
export function packageTestConfig(extra: NonNullable<UserConfig['test']> = {}) {
  return defineConfig({
    test: {
      include: ['test/**/*.test.ts'],
      testTimeout: 120_000,
      hookTimeout: 120_000,
      pool: 'forks',
      ...extra,
    },
  });
}
