#!/usr/bin/env node
// Builds the addon (build/Release/iv2_native.node) with node-gyp where a C++ compiler and a BLAS exist. Never fails
// the surrounding install or build: without the addon iv2 runs its wasm kernels, so a missing tool is reported and
// the script exits 0. Skips the build when the binary is newer than every source. IV2_NATIVE_SKIP=1 skips it.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(pkg, 'build', 'Release', 'iv2_native.node');
const log = (m) => process.stderr.write(`[@iv2/native] ${m}\n`);

function has(cmd, args = ['--version']) {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** What a build needs that this machine lacks (empty when it can build). Also used by the tests. */
export function missingBuildTools() {
  const missing = [];
  if (!has(process.env.CXX || 'c++') && !has('g++') && !has('clang++')) missing.push('a C++ compiler (Debian: build-essential)');
  if (!has('make') && process.platform !== 'win32') missing.push('make (Debian: build-essential)');
  if (!has('python3')) missing.push('python3');
  if (process.platform === 'linux') {
    const headers = ['/usr/include/x86_64-linux-gnu/openblas-pthread/cblas.h', '/usr/include/aarch64-linux-gnu/openblas-pthread/cblas.h', '/usr/include/openblas/cblas.h'];
    if (!headers.some((h) => existsSync(h))) missing.push('OpenBLAS headers (Debian: libopenblas-dev)');
  }
  return missing;
}

/** Node's headers installed on this machine, so node-gyp does not download them. */
function nodeDir() {
  for (const d of ['/usr', join(dirname(process.execPath), '..')]) {
    if (existsSync(join(d, 'include', 'node', 'node_api.h'))) return d;
  }
  return null;
}

function nodeGyp() {
  try {
    return createRequire(join(pkg, 'package.json')).resolve('node-gyp/bin/node-gyp.js');
  } catch {
    return process.env.npm_config_node_gyp || null; // npm's own copy during `npm install`
  }
}

function upToDate() {
  if (!existsSync(out)) return false;
  const built = statSync(out).mtimeMs;
  const sources = [join(pkg, 'binding.gyp'), ...readdirSync(join(pkg, 'csrc')).map((f) => join(pkg, 'csrc', f))];
  return sources.every((f) => statSync(f).mtimeMs < built);
}

function main() {
  if (process.env.IV2_NATIVE_SKIP) return log('IV2_NATIVE_SKIP is set: not building the addon');
  if (upToDate()) return;
  const missing = missingBuildTools();
  if (missing.length) return log(`not built (iv2 runs without it): this machine lacks ${missing.join(', ')}`);
  const gyp = nodeGyp();
  if (!gyp) return log('not built: node-gyp is not installed');
  const dir = nodeDir();
  const args = [gyp, 'rebuild', '--loglevel=warn', ...(dir ? [`--nodedir=${dir}`] : [])];
  const t = Date.now();
  const r = spawnSync(process.execPath, args, { cwd: pkg, stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0 || !existsSync(out)) return log(`build failed (exit ${r.status}); iv2 runs without the addon`);
  log(`built ${out} in ${((Date.now() - t) / 1000).toFixed(1)} s`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
