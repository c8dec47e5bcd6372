import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));

test('iv2 info --json reports the runtime', () => {
  const out = execFileSync(process.execPath, [main, 'info', '--json', '--backend', 'cpu'], { encoding: 'utf8' });
  const report = JSON.parse(out);
  expect(report.node).toBe(process.versions.node);
  expect(report.tfjs).toBe('4.22.0');
});
