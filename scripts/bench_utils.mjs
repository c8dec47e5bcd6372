// Shared by the packages' benchmarks: the machine's BLAS reference and a markdown table.
import { execFileSync } from 'node:child_process';

/** The machine's BLAS float32 matmul GFLOP/s (numpy, 2048²), measured now; NaN when no numpy is there. */
export function blasGflops() {
  for (const py of ['/usr/bin/python3', 'python3']) {
    try {
      const out = execFileSync(py, ['-c', `
import numpy as np, time
a = np.random.rand(2048, 2048).astype(np.float32); b = np.random.rand(2048, 2048).astype(np.float32)
a @ b
t = time.perf_counter(); n = 5
for _ in range(n): a @ b
print(2 * 2048**3 * n / (time.perf_counter() - t) / 1e9)`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      return Number(out.trim());
    } catch {}
  }
  return NaN;
}

export function table(rows) {
  const cols = Object.keys(rows[0]);
  const fmt = (v) => (typeof v === 'number' ? (Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3)) : String(v));
  return [`| ${cols.join(' | ')} |`, `| ${cols.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${cols.map((c) => fmt(r[c])).join(' | ')} |`)].join('\n');
}

/** Seconds per call after one warm-up call (shader compilation, wasm memory growth). */
export async function timeIt(fn, iters) {
  await fn();
  const t = performance.now();
  for (let i = 0; i < iters; i++) await fn();
  return (performance.now() - t) / 1000 / iters;
}
