import { expect, test } from 'vitest';
import { fixtureCases } from '../../../test-utils/fixtures.js';
import { readJson } from './helpers.js';

// Every folder under fixtures/objectives (and $IV2_EXTRA_FIXTURES/objectives) must be run by a golden suite:
// stage1_golden.test.ts takes kind 'stage1', stage2_golden.test.ts kind 'stage2'.
const SUITES: Record<string, string> = { stage1: 'stage1_golden.test.ts', stage2: 'stage2_golden.test.ts' };

test('every objectives fixture has a suite', () => {
  const cases = fixtureCases('objectives');
  expect(cases.length).toBeGreaterThan(0);
  for (const c of cases) expect(SUITES[readJson(c.dir).kind], `${c.title}: kind '${readJson(c.dir).kind}'`).toBeDefined();
});
