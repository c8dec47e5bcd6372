import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // tfjs-core's gradient registrations live in its extension-less ESM build: let Vite resolve them.
    server: { deps: { inline: [/tfjs-core[\\/]dist[\\/](?!tf-core)/] } },
  },
});
