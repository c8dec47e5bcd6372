import { spawn } from 'node:child_process';

export interface RunResult {
  code: number | null;
  stderr: string;
}

/**
 * Runs ffmpeg, handing stdout chunks to `onData` as they arrive (nothing is buffered whole), keeping at most the
 * last 64 KiB of stderr. An abort kills the process.
 */
export function runFfmpeg(
  bin: string,
  args: string[],
  onData: ((chunk: Buffer) => void) | null,
  signal?: AbortSignal,
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason ?? new DOMException('aborted', 'AbortError'));
      return;
    }
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let failed: unknown = null;
    const onAbort = () => {
      failed = signal?.reason ?? new DOMException('aborted', 'AbortError');
      child.kill('SIGKILL');
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (c: Buffer) => {
      if (failed || !onData) return;
      try {
        onData(c);
      } catch (e) {
        failed = e;
        child.kill('SIGKILL');
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => {
      stderr += s;
      if (stderr.length > 65536) stderr = stderr.slice(-65536);
    });
    child.on('error', (e) => {
      signal?.removeEventListener('abort', onAbort);
      reject(e);
    });
    child.on('close', (code) => {
      signal?.removeEventListener('abort', onAbort);
      if (failed) reject(failed);
      else resolve({ code, stderr });
    });
  });
}
