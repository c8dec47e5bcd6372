import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';

// The package's manifest is publishable on its own: explicit exports, ESM, an engines field.
test('manifest', () => {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  expect(pkg.exports['.'].import).toBe('./dist/index.js');
  expect(pkg.type).toBe('module');
  expect(pkg.engines.node).toMatch(/>=20/);
});
