import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { type BackendName, describeBackend, initBackend, lambdaCosine, Rng, warmupCosine } from '@iv2/core';
import { writeSyntheticAnnotations } from '@iv2/data';
import { InternVideo2, type InternVideo2ConfigInput, parseConfig } from '@iv2/encoder';
import { trainBertTokenizer } from '@iv2/llm-bridge';
import { EncoderTeacher, PixelReconstruction, RngDraws, UnmaskedTeacherDistillation } from '@iv2/objectives';
import { type LogRow, writeCurves } from '../logging/curves.js';
import { formatSeconds, Progress } from '../progress.js';
import { train, type TrainResult } from '../train/loop.js';
import { ObjectiveTask } from '../train/objective_task.js';
import { batchIndices, type DemoData, demoData, gatherFrames } from './data.js';
import { Stage2Task } from './stage2.js';
import { DecoderPretrainTask } from './decoder_pretrain.js';
import { writeStage2Manifest } from './manifest.js';
import { Stage3Task, stage3Decoder, stage3Tokenizer } from './stage3.js';

/** Sizes and step counts of the demo; `scale` multiplies every step count (tests use a small one). */
export const DEMO = {
  size: 32,
  numFrames: 4,
  clipsPerClass: 160,
  teacher: { img_size: 32, patch_size: 4, tubelet_size: 2, embed_dim: 96, depth: 2, num_heads: 4, mlp_ratio: 2, attn_pool_num_heads: 4, clip_embed_dim: 96, num_frames: 4, init_values: 0.1 },
  student: { img_size: 32, patch_size: 4, tubelet_size: 2, embed_dim: 64, depth: 2, num_heads: 4, mlp_ratio: 2, attn_pool_num_heads: 4, clip_embed_dim: 64, num_frames: 4, init_values: 0.1 },
  text: { hidden: 64, layers: 3, fusionLayer: 2, heads: 4, intermediate: 128, embedDim: 64, maxTxtL: 20, initializerRange: 0.2 },
  chat: { queries: 8, qformerHidden: 64, qformerLayers: 2, llmHidden: 64, llmLayers: 2, loraR: 8 },
  // stage 2: 64 clips × 1000 steps rather than 32 × 1600 (the same time): more same-colour, same-motion clips of
  // another shape in each batch for VTC to push apart, and shape is the attribute the small student learns last
  steps: { pixels: 40, distill: 40, stage2: 1000, llm: 500, stage3: 400 },
  batch: { pixels: 32, distill: 32, stage2: 64, llm: 32, stage3: 16 },
  lr: { pixels: 2e-3, distill: 2e-3, stage2: 3e-3, llm: 5e-3, stage3: 5e-3 },
  /**
   * Where in stage 2 VTM starts drawing the official hard negatives (a fraction of its steps); before, random ones
   * (`vtm_hard_neg: false`). Hard from the start, VTC has aligned colour and motion within a few hundred steps, so
   * nearly every hard negative differs from its positive in shape alone, which the young student barely encodes:
   * the matching head then sits at its prior for ~1000 steps and the noise holds VTC back too.
   */
  stage2HardNegativesFrom: 0.375,
};

export interface DemoOptions {
  dir?: string;
  backend?: BackendName;
  seed?: number;
  quiet?: boolean;
  /** Multiplies every stage's step count. */
  scale?: number;
  /** Clips per class (one held out); default `DEMO.clipsPerClass`. */
  clipsPerClass?: number;
  log?: (line: string) => void;
  /** Set `requested` to stop as SIGINT does: the running stage checkpoints and `runDemo` throws `DemoInterruptedError`. */
  stop?: { requested: boolean };
}

/** The demo was stopped (SIGINT, SIGTERM or `stop`) inside a stage: the stage's checkpoint is written, later stages did not run. */
export class DemoInterruptedError extends Error {
  constructor(
    readonly stage: string,
    readonly step: number,
    readonly checkpoint: string | undefined,
    readonly dir: string,
  ) {
    super(`iv2 demo stopped in ${stage} at step ${step}; its checkpoint is ${checkpoint ?? 'not written'}; later stages did not run (run folder ${dir})`);
    this.name = 'DemoInterruptedError';
  }
}

export interface DemoResult {
  t2v_r1: number;
  v2t_r1: number;
  t2v_r5: number;
  v2t_r5: number;
  zs_top1: number;
  qa_exact: number | null;
  seconds: number;
  backend: string;
  timings: Record<string, number>;
  /** CPU seconds per stage (user + system, every thread of this process). */
  cpuTimings: Record<string, number>;
  curves: { html: string; svg: string };
  dir: string;
}

/**
 * The progressive recipe end to end on the synthetic dataset (48 colour × shape × motion classes, held-out clips):
 * stage 1 teacherless pixel reconstruction of a teacher, distillation of a smaller student from it; stage 2
 * VTC + VTM + MLM with a BERT tower over a WordPiece vocabulary built from the captions; then the held-out
 * evaluation (official retrieval with ITM re-ranking, zero-shot classification).
 */
export async function runDemo(o: DemoOptions = {}): Promise<DemoResult> {
  const t0 = performance.now();
  const log = o.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  const seed = o.seed ?? 0;
  const scale = o.scale ?? 1;
  const steps = (n: number) => Math.max(2, Math.round(n * scale));
  const backend = await initBackend(o.backend ?? 'wasm');
  const info = await describeBackend();
  const dir = o.dir ?? join(process.cwd(), 'runs', `demo-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  mkdirSync(dir, { recursive: true });
  // Wall seconds per stage, and the CPU seconds this process used (user + system, all threads): on a shared
  // machine the second says what the work costs, the first what the neighbours left of it.
  const timings: Record<string, number> = {};
  const cpuTimings: Record<string, number> = {};
  const lap = (() => {
    let t = performance.now();
    let c = process.cpuUsage();
    return (k: string) => {
      const now = performance.now();
      const cn = process.cpuUsage();
      timings[k] = (now - t) / 1000;
      cpuTimings[k] = (cn.user - c.user + cn.system - c.system) / 1e6;
      t = now;
      c = cn;
    };
  })();
  const progress = new Progress({ quiet: o.quiet });
  const stop = o.stop ?? { requested: false };
  const common = { handleSignals: true, stop, progress, log: (s: string) => progress.log(s), tensorboard: true, keepLast: 1 } as const;
  // A stopped stage ends the demo: what follows would train on (and score) a half-trained model.
  const stopIf = (stage: string, r: TrainResult, live: Array<{ dispose(): void }>) => {
    if (!r.interrupted) return;
    for (const m of live) m.dispose();
    throw new DemoInterruptedError(stage, r.step, r.lastCheckpoint, dir);
  };
  log(`backend     ${backend}${info.native?.active ? ' + @iv2/native (OpenBLAS)' : ''}`);

  // ---- data: rendered in memory, annotations written in the official formats
  const data = demoData({ seed, clipsPerClass: o.clipsPerClass ?? DEMO.clipsPerClass, size: DEMO.size, numFrames: DEMO.numFrames });
  await writeSyntheticAnnotations(join(dir, 'data'), [...data.train.clips, ...data.test.clips]);
  lap('data');
  log(`dataset     ${data.classes.length} classes (colour × shape × motion), ${data.train.labels.length} training and ${data.test.labels.length} held-out clips, ${DEMO.numFrames}×${DEMO.size}², annotations in ${join(dir, 'data')}`);

  const rng = new Rng(seed + 1);
  const cfg = (c: InternVideo2ConfigInput) => parseConfig(c);
  const videoBatch = (d: DemoData, bs: number, index: number) => {
    const ids = batchIndices(d.train.labels.length, bs, index, seed);
    const x = tf.tidy(() => tf.transpose(tf.tensor5d(gatherFrames(d.train, ids, d.clipElems), [ids.length, d.numFrames, 3, d.size, d.size]), [0, 2, 1, 3, 4]) as tf.Tensor5D);
    return { video: x, files: ids.map((i) => d.train.names[i]) };
  };
  const perEpoch = (bs: number) => Math.floor(data.train.labels.length / bs);

  // ---- stage 1a: the teacher learns by masked pixel reconstruction (no teacher of its own)
  const teacher = new InternVideo2(cfg(DEMO.teacher), rng).train();
  const pixel = new PixelReconstruction(teacher, { mask_type: 'tube', mask_ratio: 0.75, decoder_depth: 1, decoder_embed_dim: 64, decoder_num_heads: 4, seed }, { draws: new RngDraws(rng) });
  const s1a = steps(DEMO.steps.pixels);
  log(`stage 1a    teacher InternVideo2 ${DEMO.teacher.depth}×${DEMO.teacher.embed_dim} (${(teacher.numParameters() / 1e6).toFixed(2)} M), masked pixel reconstruction, ${s1a} steps`);
  const r1a = await train(
    new ObjectiveTask('stage1-pixels', pixel, [['', teacher], ['pixel_decoder.', pixel.decoder]], perEpoch(DEMO.batch.pixels), (i) => {
      const b = videoBatch(data, DEMO.batch.pixels, i);
      return { batch: { video: b.video }, files: b.files, owned: [b.video] };
    }),
    { ...common, outputDir: join(dir, 'stage1_pixels'), totalSteps: s1a, schedule: warmupCosine({ base: DEMO.lr.pixels, final: 1e-5, totalSteps: s1a, warmupSteps: Math.ceil(s1a / 10) }), rng, betas: [0.9, 0.98], eps: 1e-6, weightDecay: 0.05, maxGradNorm: 3, saveEvery: s1a, logFreq: 5 },
  );
  stopIf('stage1_pixels', r1a, [pixel, teacher]);
  pixel.dispose();
  lap('stage1_pixels');

  // ---- stage 1b: a smaller student distilled from it (run_distill.py: whole-video attention mask, MLP heads)
  const student = new InternVideo2(
    cfg({ ...DEMO.student, clip_return_layer: 2, clip_student_decoder: 'MLP_Decoder', clip_teacher_embed_dim: DEMO.teacher.embed_dim, clip_teacher_final_dim: DEMO.teacher.clip_embed_dim }),
    rng,
  ).train();
  const distill = new UnmaskedTeacherDistillation(student, { clip: new EncoderTeacher(teacher, { clipReturnLayer: 2, clipReturnInterval: 1 }) }, { mask_type: 'attention', mask_ratio: 0.5, td_ratio: 1 }, { draws: new RngDraws(rng) });
  const s1b = steps(DEMO.steps.distill);
  log(`stage 1b    student InternVideo2 ${DEMO.student.depth}×${DEMO.student.embed_dim} (${(student.numParameters() / 1e6).toFixed(2)} M) distilled from the teacher, ${s1b} steps`);
  const r1b = await train(
    new ObjectiveTask('stage1-distill', distill, [['', student]], perEpoch(DEMO.batch.distill), (i) => {
      const b = videoBatch(data, DEMO.batch.distill, i);
      return { batch: { video: b.video }, files: b.files, owned: [b.video] };
    }),
    { ...common, outputDir: join(dir, 'stage1_distill'), totalSteps: s1b, schedule: warmupCosine({ base: DEMO.lr.distill, final: 1e-5, totalSteps: s1b, warmupSteps: Math.ceil(s1b / 10) }), rng, betas: [0.9, 0.98], eps: 1e-6, weightDecay: 0.05, maxGradNorm: 5, saveEvery: s1b, logFreq: 5 },
  );
  stopIf('stage1_distill', r1b, [student, teacher]);
  teacher.dispose();
  lap('stage1_distill');

  // ---- stage 2: the student (its stage-1 heads dropped, as the stage-2 loader does) with a BERT tower
  const vision = new InternVideo2(cfg(DEMO.student), rng).train();
  await copyMatching(student, vision);
  student.dispose();
  const tokenizer = trainBertTokenizer(data.train.captions.flat(), { vocabSize: 200, minFrequency: 1 });
  const s2 = steps(DEMO.steps.stage2);
  const hardFrom = Math.round(s2 * DEMO.stage2HardNegativesFrom);
  const task2 = new Stage2Task(vision, tokenizer, data, { sizes: DEMO.text, batchSize: DEMO.batch.stage2, seed, rng, videoMaskRatio: 0, kTest: 16, hardNegativesFrom: hardFrom });
  log(`stage 2     VTC + VTM + MLM, BERT ${DEMO.text.layers}×${DEMO.text.hidden} (fusion from layer ${DEMO.text.fusionLayer}) over a ${tokenizer.vocabulary().length}-piece WordPiece vocabulary built from the captions, ${s2} steps (VTM negatives random, then hard from step ${hardFrom})`);
  const r2 = await train(task2, {
    ...common, outputDir: join(dir, 'stage2'), totalSteps: s2, schedule: lambdaCosine({ base: DEMO.lr.stage2, totalSteps: s2, warmupSteps: Math.ceil(s2 / 20), minLrMulti: 0.01 }), rng, betas: [0.9, 0.98], weightDecay: 0.05, maxGradNorm: 3, saveEvery: s2, logFreq: 10, evalEvery: Math.max(1, Math.floor(s2 / 4)),
  });
  stopIf('stage2', r2, [task2.text, vision]);
  // both towers' sizes and the vocabulary beside the checkpoint: the playground (and any reader) rebuilds it from them
  writeStage2Manifest(join(dir, 'stage2'), { vision: DEMO.student, text: DEMO.text, tokenizer, run: { seed, steps: s2 } });
  lap('stage2');

  // ---- held-out retrieval and zero-shot classification
  const m = await task2.evaluate(data.test);
  lap('eval_stage2');
  task2.text.dispose();

  // ---- stage 3a: the decoder's own pre-training on text (the official recipe starts from a released LLM)
  const tok3 = stage3Tokenizer(data);
  const lm = stage3Decoder(DEMO.chat, tok3.vocabSize, seed + 3).train();
  const sl = steps(DEMO.steps.llm);
  log(`stage 3a    decoder ${DEMO.chat.llmLayers}×${DEMO.chat.llmHidden} pre-trained on the conversations as text (caption words in the video span), ${sl} steps`);
  const r3a = await train(new DecoderPretrainTask(lm, tok3.tokenizer, data, { batchSize: DEMO.batch.llm, seed, slots: DEMO.chat.queries }), {
    ...common, outputDir: join(dir, 'stage3_llm'), totalSteps: sl, schedule: lambdaCosine({ base: DEMO.lr.llm, totalSteps: sl, warmupSteps: Math.ceil(sl / 20), minLrMulti: 0.1 }), rng, betas: [0.9, 0.98], weightDecay: 0.02, maxGradNorm: 3, saveEvery: sl, logFreq: 10,
  });
  stopIf('stage3_llm', r3a, [lm, vision]);
  lap('stage3_llm');

  // ---- stage 3b: the stage-2 encoder frozen, Q-Former + projector + the decoder frozen with LoRA
  const s3 = steps(DEMO.steps.stage3);
  vision.eval();
  const task3 = Stage3Task.demo(vision, data, { sizes: DEMO.chat, batchSize: DEMO.batch.stage3, seed, decoder: { lm, tokenizer: tok3 } });
  log(`stage 3b    VideoChat2: Q-Former ${DEMO.chat.qformerLayers}×${DEMO.chat.qformerHidden} (${DEMO.chat.queries} queries) + projector + Mistral-type decoder ${DEMO.chat.llmLayers}×${DEMO.chat.llmHidden} with LoRA r ${DEMO.chat.loraR}, answer-only loss, ${s3} steps`);
  const r3 = await train(task3, {
    ...common, outputDir: join(dir, 'stage3'), totalSteps: s3, schedule: lambdaCosine({ base: DEMO.lr.stage3, totalSteps: s3, warmupSteps: Math.ceil(s3 / 20), minLrMulti: 0.25 }), rng, betas: [0.9, 0.999], weightDecay: 0.02, maxGradNorm: 3, saveEvery: s3, logFreq: 10,
  });
  stopIf('stage3', r3, [task3.model]);
  lap('stage3');
  await task3.saveForChat(join(dir, 'stage3'), DEMO.student);
  const qa = await task3.evaluate(data.test);
  lap('eval_stage3');
  task3.model.dispose();

  const seconds = (performance.now() - t0) / 1000;
  const rows: LogRow[] = [
    ...r2.rows.map((r) => prefixRow(r, 'stage2')),
    ...r3a.rows.map((r) => prefixRow({ ...r, step: r.step + s2 }, 'stage3_llm')),
    ...r3.rows.map((r) => prefixRow({ ...r, step: r.step + s2 + sl }, 'stage3')),
  ];
  const curves = await writeCurves(dir, rows, 'iv2 demo — stage 2, the decoder\'s pre-training, stage 3');
  const result: DemoResult = {
    t2v_r1: m.t2v_r1, v2t_r1: m.v2t_r1, t2v_r5: m.t2v_r5, v2t_r5: m.v2t_r5, zs_top1: m.zs_top1, qa_exact: qa.qa_exact,
    seconds, backend, timings, cpuTimings, curves, dir,
  };
  writeFileSync(join(dir, 'result.json'), `${JSON.stringify(result, null, 1)}\n`);
  log('');
  log(`held-out (${data.test.labels.length} clips, ${data.classes.length} classes, chance ${(1 / data.classes.length).toFixed(3)})`);
  log(`  text→video R@1 ${m.t2v_r1.toFixed(3)}  R@5 ${m.t2v_r5.toFixed(3)}   (ITM re-ranked; dual-encoder R@1 ${m.sim_t2v_r1.toFixed(3)})`);
  log(`  video→text R@1 ${m.v2t_r1.toFixed(3)}  R@5 ${m.v2t_r5.toFixed(3)}   (dual-encoder R@1 ${m.sim_v2t_r1.toFixed(3)})`);
  log(`  zero-shot classification top-1 ${m.zs_top1.toFixed(3)}  top-5 ${m.zs_top5.toFixed(3)}`);
  log(`  QA exact match ${qa.qa_exact.toFixed(3)}   (colour, shape and direction questions, greedy answers)`);
  log(`time        ${formatSeconds(seconds)} (${Object.entries(timings).map(([k, v]) => `${k} ${v.toFixed(0)} s`).join(', ')})`);
  log(`cpu         ${formatSeconds(Object.values(cpuTimings).reduce((a, b) => a + b, 0))} of CPU time used by this process (${Object.entries(cpuTimings).map(([k, v]) => `${k} ${v.toFixed(0)} s`).join(', ')})`);
  log(`curves      ${curves.svg}  ${curves.html}  (each stage's own under ${dir}/<stage>/)`);
  return result;
}

/** A row with its loss and metric names under a stage prefix (`stage2/loss`), for one page of curves. */
function prefixRow(r: LogRow, stage: string): LogRow {
  const out: LogRow = { step: r.step };
  for (const [k, v] of Object.entries(r)) if (k !== 'step') out[k.startsWith('eval/') ? `eval/${stage}/${k.slice(5)}` : k.startsWith('loss') ? `loss/${stage}${k.slice(4)}` : `${stage}/${k}`] = v;
  return out;
}

/** Copies every parameter the two models share by name (the stage-2 loader keeping the backbone and pool). */
async function copyMatching(from: InternVideo2, to: InternVideo2): Promise<void> {
  const src = new Map(from.parameters().map((p) => [p.name, p.variable]));
  for (const p of to.parameters()) {
    const v = src.get(p.name);
    if (v && v.shape.join() === p.variable.shape.join()) p.variable.assign(v);
  }
}
