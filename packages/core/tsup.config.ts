import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  // Bundled on purpose: see src/tfjs/register_gradients.ts.
  noExternal: [/tfjs-core\/dist\/register_all_gradients/],
});
