import { defineConfig, type Options } from 'tsup';

/** The library build every package shares (ESM + declarations); a package passes what differs. */
export function packageBuildConfig(extra: Options = {}) {
  return defineConfig({
    entry: ['src/index.ts'],
    format: ['esm'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'es2022',
    ...extra,
  });
}
