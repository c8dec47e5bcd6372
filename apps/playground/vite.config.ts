import { copyFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

const here = dirname(fileURLToPath(import.meta.url));

// tfjs-backend-wasm loads its .wasm binaries at run time: serve them from /wasm/.
function wasmBinaries(): Plugin {
  const require = createRequire(import.meta.url);
  const dir = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm')), '..');
  const dist = readdirSync(join(dir, 'dist')).filter((f) => f.endsWith('.wasm'));
  return {
    name: 'iv2-wasm-binaries',
    configureServer(server) {
      server.middlewares.use('/wasm', (req, res, next) => {
        const f = (req.url ?? '').replace(/^\//, '');
        if (!dist.includes(f)) return next();
        res.setHeader('Content-Type', 'application/wasm');
        res.end(readFileSync(join(dir, 'dist', f)));
      });
    },
    writeBundle(opts) {
      const out = join(opts.dir ?? 'dist', 'wasm');
      mkdirSync(out, { recursive: true });
      for (const f of dist) copyFileSync(join(dir, 'dist', f), join(out, f));
    },
  };
}

// The synthetic generator is taken from @iv2/data's source (its browser entry leaves it out because the file writer
// beside it needs ffmpeg); the Node built-ins that writer imports resolve to stubs it never calls in the page.
const alias = [
  { find: /^\.\/synthetic_source\.js$/, replacement: join(here, '../../packages/data/src/synthetic/index.ts') },
  { find: /^node:(fs\/promises|path|child_process|module)$/, replacement: join(here, 'src/node_stub.ts') },
];

// Reached only in Node, behind dynamic imports.
const external = [/^node:/, 'webgpu', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', '@iv2/native'];

export default defineConfig({
  base: './',
  plugins: [wasmBinaries()],
  resolve: { alias },
  // Error classes keep their names (the page shows them: UnsupportedCodecError, PresetMismatchError, …).
  esbuild: { keepNames: true },
  // The worker bundle keeps no bare node: imports (a worker cannot load them): the aliases above or vite's
  // browser stand-ins take their place.
  worker: { format: 'es', rollupOptions: { external: external.slice(1) } },
  build: {
    target: 'es2022',
    chunkSizeWarningLimit: 4000,
    rollupOptions: { external },
  },
  // Node-only code paths of the libraries (Dawn, file readers) are never reached in the page.
  optimizeDeps: { exclude: ['webgpu'] },
});
