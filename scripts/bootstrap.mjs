#!/usr/bin/env node
// Makes a fresh machine (Node >= 20.19 and npm, nothing else) ready: pnpm at the pinned version, the system
// packages the tests need, the workspace's dependencies, and a build. Safe to run again: each step checks first.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const wantSystem = args.has('--system'); // test runs need chromium + ffmpeg; the demo does not
const pinned = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).packageManager.split('@')[1];

function log(msg) {
  process.stderr.write(`[bootstrap] ${msg}\n`);
}
function run(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { stdio: 'inherit', cwd: root, ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed with exit code ${r.status}`);
}
function version(cmd) {
  try {
    return execFileSync(cmd, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  throw new Error(`Node ${process.versions.node} is too old: iv2 needs Node >= 20.19`);
}

// 1. pnpm, pinned (corepack is not used: it cannot verify signatures on every machine).
if (version('pnpm') !== pinned) {
  log(`installing pnpm@${pinned} with npm`);
  const r = spawnSync('npm', ['install', '-g', `pnpm@${pinned}`, '--no-audit', '--no-fund'], { stdio: 'inherit' });
  if (r.status !== 0 || version('pnpm') !== pinned) {
    // No write access to the global prefix: install it inside the checkout instead.
    const prefix = join(root, '.cache', 'pnpm');
    run('npm', ['install', '--prefix', prefix, `pnpm@${pinned}`, '--no-audit', '--no-fund']);
    process.env.PATH = `${join(prefix, 'node_modules', '.bin')}:${process.env.PATH}`;
  }
}

// 2. System packages for the browser and WebGPU tests (Debian chromium ships the SwiftShader Vulkan driver) and
//    for video decoding.
if (wantSystem) {
  const missing = [];
  if (!existsSync('/usr/bin/chromium') || !existsSync('/usr/lib/chromium/vk_swiftshader_icd.json')) missing.push('chromium');
  if (!version('ffmpeg')) missing.push('ffmpeg');
  // Dawn (the `webgpu` package) loads Vulkan through the system loader.
  if (!['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib/aarch64-linux-gnu/libvulkan.so.1'].some((f) => existsSync(f))) missing.push('libvulkan1');
  if (missing.length) {
    if (process.getuid?.() !== 0 || !version('apt-get')) {
      throw new Error(`the tests need the Debian packages: ${missing.join(' ')} (install them with apt-get as root)`);
    }
    log(`installing ${missing.join(' ')} with apt-get`);
    run('apt-get', ['update', '-qq']);
    run('apt-get', ['install', '-y', '-qq', ...missing], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  }
}

// 2b. Build tools for @iv2/native (OpenBLAS GEMM and fused attention for the wasm backend): a C++ toolchain,
//     python3 for node-gyp, OpenBLAS's headers, and Node's own headers (node-gyp is pointed at them instead of
//     downloading them; the nodejs package ships them in /usr/include/node, Debian's libnode-dev otherwise). The
//     build (`pnpm run build` below) compiles the addon when they are present; iv2 runs without it.
if (wantSystem && process.platform === 'linux') {
  const tools = [];
  if (!version('g++') || !version('make')) tools.push('build-essential');
  if (!existsSync('/usr/bin/python3')) tools.push('python3');
  const arch = process.arch === 'arm64' ? 'aarch64' : 'x86_64';
  if (!existsSync(`/usr/include/${arch}-linux-gnu/openblas-pthread/cblas.h`)) tools.push('libopenblas-dev');
  const nodeHeaders = ['/usr', join(dirname(process.execPath), '..')].some((d) => existsSync(join(d, 'include', 'node', 'node_api.h')));
  if (!nodeHeaders) tools.push('libnode-dev');
  if (tools.length) {
    if (process.getuid?.() !== 0 || !version('apt-get')) {
      log(`@iv2/native will not build: install the Debian packages ${tools.join(' ')} as root`);
    } else {
      log(`installing ${tools.join(' ')} with apt-get (build tools for @iv2/native)`);
      run('apt-get', ['update', '-qq']);
      run('apt-get', ['install', '-y', '-qq', ...tools], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    }
  }
}

// 3. Dependencies and build, skipped when the lockfile and sources have not changed since the last success.
const stamp = join(root, 'node_modules', '.iv2-bootstrap');
const lock = readFileSync(join(root, 'pnpm-lock.yaml'));
const lockHash = createHash('sha256').update(lock).digest('hex');
const installed = existsSync(stamp) && readFileSync(stamp, 'utf8') === lockHash;
if (!installed) {
  run('pnpm', ['install', '--frozen-lockfile']);
  mkdirSync(dirname(stamp), { recursive: true });
  writeFileSync(stamp, lockHash);
}
run('pnpm', ['run', '-s', 'build'], { stdio: ['ignore', 'ignore', 'inherit'] });
