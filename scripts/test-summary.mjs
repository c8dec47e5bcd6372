#!/usr/bin/env node
// Reads a test log on stdin (passed through to stdout) and closes with one line totalling every vitest summary.
import { createInterface } from 'node:readline';

let passed = 0;
let failed = 0;
let skipped = 0;
const strip = (s) => s.replace(/\x1b\[[0-9;]*m/g, '');
for await (const line of createInterface({ input: process.stdin })) {
  process.stdout.write(`${line}\n`);
  const m = /^\S*\s*Tests\s+(.*)$/.exec(strip(line).replace(/^@[^:]+:[^:]+:\s*/, ''));
  if (!m) continue;
  passed += Number(/(\d+) passed/.exec(m[1])?.[1] ?? 0);
  failed += Number(/(\d+) failed/.exec(m[1])?.[1] ?? 0);
  skipped += Number(/(\d+) skipped/.exec(m[1])?.[1] ?? 0);
}
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
