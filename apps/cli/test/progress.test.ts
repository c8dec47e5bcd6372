import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { formatSeconds, Progress } from '../src/progress.js';

const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const pth = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../packages/core/test/golden/torch_state.pth');

function sink(tty: boolean) {
  let text = '';
  const s = new Writable({ write(c, _e, cb) { text += c; cb(); } }) as unknown as NodeJS.WriteStream & { text: () => string };
  (s as { isTTY?: boolean }).isTTY = tty;
  (s as { columns?: number }).columns = 120;
  s.cursorTo = (() => true) as never;
  s.clearLine = (() => true) as never;
  s.moveCursor = (() => true) as never;
  s.text = () => text;
  return s;
}

test('without a terminal: plain periodic lines with rate and ETA; --quiet prints nothing', async () => {
  const s = sink(false);
  const p = new Progress({ stream: s, interval: 0 });
  p.begin('train', 4);
  for (let i = 1; i <= 4; i++) {
    await new Promise((r) => setTimeout(r, 5));
    p.update(i, `loss ${(1 / i).toFixed(2)}`);
  }
  p.end();
  const lines = s.text().trim().split('\n');
  expect(lines).toHaveLength(4);
  expect(lines[1]).toMatch(/^train 2\/4 \(50%\) loss 0\.50 \| [\d.]+ it\/s \| ETA \d+s$/);
  const q = sink(false);
  const pq = new Progress({ stream: q, quiet: true, interval: 0 });
  pq.begin('train', 2);
  pq.update(1);
  pq.log('hello');
  pq.end();
  expect(q.text()).toBe('');
});

test('on a terminal: a cli-progress bar with rate and ETA', async () => {
  const s = sink(true);
  const prevCI = process.env.CI;
  delete process.env.CI;
  const p = new Progress({ stream: s });
  p.begin('eval', 10, { unit: 'clips' });
  p.update(5, 'r1 0.5');
  p.end();
  if (prevCI !== undefined) process.env.CI = prevCI;
  expect(s.text()).toMatch(/eval\s+.*5\/10 \| r1 0\.5 \| [\d.]+ clips\/s \| ETA/);
});

test('formatSeconds', () => {
  expect([formatSeconds(12.2), formatSeconds(185), formatSeconds(3720), formatSeconds(Number.NaN)]).toEqual(['12s', '3m05s', '1h02m', '?']);
});

test('iv2 convert reports progress on stderr when piped, and is silent with --quiet', () => {
  const dir = mkdtempSync(join(tmpdir(), 'iv2-progress-'));
  const run = (...extra: string[]) =>
    spawnSync(process.execPath, [main, 'convert', pth, join(dir, 'm.safetensors'), ...extra], { encoding: 'utf8', env: { ...process.env, IV2_PROGRESS_INTERVAL: '0' } });
  const r = run();
  expect(r.status, r.stderr).toBe(0);
  expect(r.stderr).toMatch(/^convert \d+\/\d+ \(100%\) .* tensors\/s \| ETA/m);
  const q = run('--quiet');
  expect(q.stderr).not.toMatch(/^convert \d+/m);
});
