import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { defineConfig, type Plugin } from 'vite';

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
        res.end(require('node:fs').readFileSync(join(dir, 'dist', f)));
      });
    },
    writeBundle(opts) {
      const out = join(opts.dir ?? 'dist', 'wasm');
      mkdirSync(out, { recursive: true });
      for (const f of dist) copyFileSync(join(dir, 'dist', f), join(out, f));
    },
  };
}

export default defineConfig({
  plugins: [wasmBinaries()],
  build: {
    target: 'es2022',
    chunkSizeWarningLimit: 4000,
    // Reached only in Node, behind dynamic imports.
    rollupOptions: { external: [/^node:/, 'webgpu', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', '@iv2/data'] },
  },
  // Node-only code paths of the libraries (Dawn, file readers) are never reached in the page.
  optimizeDeps: { exclude: ['webgpu'] },
});
