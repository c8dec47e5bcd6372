import * as tf from '@tensorflow/tfjs-core';

/**
 * tfjs-backend-wasm's threaded-SIMD build in Node: XNNPACK's thread pool over the machine's cores. tfjs turns it off
 * in Node, and three things keep it from starting there:
 * - the pthread workers are loaded from `Blob` URLs, which Node's `worker_threads` cannot open: the worker and the
 *   module's script are written to a private temporary folder instead;
 * - the module's script, sent to each worker as text, refers to the bundle's own names for `fs`, `path`,
 *   `perf_hooks` and `os`: they are defined in front of it;
 * - the pool is capped at half the logical cores (`emscripten_num_logical_cores() / 2`, read once when the module
 *   starts), i.e. one thread on a 2-core machine: the core count is doubled while the module starts.
 * Only for tfjs-backend-wasm 4.22's Node build; anything unexpected leaves the single-threaded build in place.
 */
type Os = { cpus(): unknown[]; tmpdir(): string; availableParallelism?: () => number };
type Fs = { mkdtempSync(p: string): string; writeFileSync(p: string, d: string): void; rmSync(p: string, o: object): void };
type Worker = { unref?: () => void };
type WasmModule = { setThreadsCount(n: number): void; getThreadsCount(): number };

const BUNDLE_NAMES = "var require$$0=require('fs'),require$$1=require('path'),require$$3=require('perf_hooks'),require$$4=require('os'),commonjsGlobal=globalThis;\n";

/** The worker-side copy of the Blob shim: the worker, too, turns the module's script into a file. */
const WORKER_PRELUDE = (dir: string) =>
  `const __iv2fs=require('fs'),__iv2path=require('path');let __iv2n=0;` +
  `URL.createObjectURL=(b)=>{const f=__iv2path.join(${JSON.stringify(dir)},'m-'+require('worker_threads').threadId+'-'+(__iv2n++)+'.js');` +
  `const t=b.__iv2text;__iv2fs.writeFileSync(f,(t.startsWith('var WasmBackendModuleThreadedSimd')?${JSON.stringify(BUNDLE_NAMES)}:'')+t);return f};` +
  `URL.revokeObjectURL=()=>{};\n`;

/** Blob stand-in that keeps its text, so that `URL.createObjectURL` can write it out (it survives postMessage). */
class TextBlob {
  readonly __iv2text: string;
  constructor(parts: unknown[]) {
    this.__iv2text = parts.map(String).join('');
  }
}

export interface WasmThreadsResult {
  /** Threads XNNPACK runs on (1: the single-threaded build). */
  threads: number;
  /** Why the threaded build was not used, when it was not. */
  reason?: string;
}

export const cores = async (): Promise<number> => {
  const os = (await import('node:os')).default as unknown as Os;
  return os.availableParallelism?.() ?? os.cpus().length;
};

/**
 * Starts tfjs-wasm (`tf.setBackend('wasm')`) on its threaded build with `threads` XNNPACK threads (capped at the
 * module's pool of 8). Must run before anything else starts the wasm backend in this process.
 */
export async function startThreadedWasm(wasm: WasmModule, threads: number): Promise<WasmThreadsResult> {
  const fs = (await import('node:fs')).default as unknown as Fs;
  // The CommonJS object itself (not a namespace copy): the bundle reads `cpus` from it.
  const os = (await import('node:os')).default as unknown as Os;
  const path = await import('node:path');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iv2-wasm-threads-'));
  const g = globalThis as unknown as { Blob: unknown };
  const realBlob = g.Blob;
  const realCreate = URL.createObjectURL;
  const realCpus = os.cpus;
  let n = 0;
  g.Blob = TextBlob;
  URL.createObjectURL = ((b: TextBlob) => {
    const text = b.__iv2text;
    const file = path.join(dir, `main-${n++}.js`);
    const prefix = text.startsWith('"use strict";var Module') ? WORKER_PRELUDE(dir) : text.startsWith('var WasmBackendModuleThreadedSimd') ? BUNDLE_NAMES : '';
    fs.writeFileSync(file, prefix + text);
    return file;
  }) as unknown as typeof URL.createObjectURL;
  os.cpus = () => {
    const c = realCpus.call(os);
    return c.concat(c);
  };
  const flag = 'WASM_HAS_MULTITHREAD_SUPPORT';
  tf.env().set(flag, true);
  wasm.setThreadsCount(Math.max(1, Math.min(8, threads)));
  try {
    if (!(await tf.setBackend('wasm'))) throw new Error('tfjs could not start the threaded build');
    await tf.ready();
    // The pool's workers must not keep Node running once the program is done.
    const pt = (tf.backend() as unknown as { wasm: { PThread?: { unusedWorkers: Worker[]; runningWorkers: Worker[] } } }).wasm.PThread;
    for (const w of [...(pt?.unusedWorkers ?? []), ...(pt?.runningWorkers ?? [])]) w.unref?.();
    return { threads: wasm.getThreadsCount() };
  } catch (e) {
    tf.env().set(flag, false);
    return { threads: 1, reason: (e as Error).message };
  } finally {
    g.Blob = realBlob;
    URL.createObjectURL = realCreate;
    os.cpus = realCpus;
    // Every worker has read its files once the module has started.
    process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  }
}
