import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

export interface Spawned {
  kill(signal: NodeJS.Signals): void;
  /** What the process has written to stderr so far. */
  stderr(): string;
  done: Promise<{ code: number | null; signal: string | null; out: string; err: string }>;
}

/** Runs `node script …args` with piped output (for tests that signal a training run part-way). */
export function spawnNode(script: string, args: string[], env: Record<string, string> = {}): Spawned {
  const p = spawn(process.execPath, [script, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout.on('data', (d) => (out += d));
  p.stderr.on('data', (d) => (err += d));
  return {
    kill: (s) => p.kill(s),
    stderr: () => err,
    done: new Promise((r) => p.on('exit', (code, signal) => r({ code, signal, out, err }))),
  };
}

/** Polls `f` every 20 ms until it holds; throws after `ms`. */
export async function until(f: () => boolean, ms = 60_000, what = 'condition'): Promise<void> {
  const t0 = Date.now();
  while (!f()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** True once `path` (a log.jsonl) holds at least `lines` lines. */
export const logged = (path: string, lines = 1) => existsSync(path) && readFileSync(path, 'utf8').trim().split('\n').filter(Boolean).length >= lines;
