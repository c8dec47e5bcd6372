// Runs the tiny task through the built trainer: node train_child.mjs OUT STEPS [RESUME]
import { initBackend } from '@iv2/core';
import { train, Progress } from '../../dist/index.js';
import { tinyTask } from './tiny_task.mjs';

const [out, steps, resume] = process.argv.slice(2);
await initBackend('cpu');
const t = tinyTask();
const r = await train(t.task, {
  outputDir: out, totalSteps: Number(steps), schedule: t.schedule(Number(steps)), rng: t.rng, maxGradNorm: 1,
  saveEvery: 2, keepLast: 2, logFreq: 1, resume: resume || undefined, progress: new Progress({ quiet: true }), tensorboard: false,
});
console.log(JSON.stringify({ step: r.step, interrupted: r.interrupted }));
