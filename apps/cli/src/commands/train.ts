import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { defineCommand } from 'citty';
import { type BackendName, initBackend, Rng } from '@iv2/core';
import { EncoderTeacher, PixelReconstruction, PrecomputedTeacher, RngDraws, UnmaskedTeacherDistillation } from '@iv2/objectives';
import { loadTrainConfig } from '../config/load.js';
import type { TrainConfig } from '../config/schema.js';
import { trainConfigJsonSchema } from '../config/schema.js';
import { loadClipSet, loadInstructionSet } from '../data/clips.js';
import { batchIndices, type ClipSet, type DemoData, gatherFrames } from '../demo/data.js';
import { Stage2Task } from '../demo/stage2.js';
import { Stage3Task } from '../demo/stage3.js';
import { buildStage3Task } from '../train/stage3.js';
import { getPreset } from '@iv2/encoder';
import { Progress } from '../progress.js';
import { buildLayerScale, buildSchedule, buildText, buildTokenizer, buildVision, TrainSetupError, writeRunConfig } from '../train/build.js';
import { train, type TrainTask } from '../train/loop.js';
import { ObjectiveTask } from '../train/objective_task.js';

async function loadSets(c: TrainConfig, which: 'train' | 'test', size: number, progress: Progress): Promise<ClipSet | undefined> {
  const list = which === 'train' ? c.data.train : c.evaluation.test;
  if (!list.length) return undefined;
  const sets: ClipSet[] = [];
  for (const [i, d] of list.entries()) {
    const field = `${which === 'train' ? 'data.train' : 'evaluation.test'}.${i}.format`;
    const o = { dataRoot: d.data_root, numFrames: c.data.num_frames, size, progress, label: `${which}[${i}]` };
    if (c.stage === 'stage3') {
      if (!['auto', 'instruction'].includes(d.format)) throw new TrainSetupError(field, `'${d.format}' is not stage-3 data (allowed: auto, instruction — JSON lists of {video, QA: [{i, q, a}]})`);
      sets.push(await loadInstructionSet(d.anno_path, o));
    } else {
      if (!['auto', 'ret', 'pt'].includes(d.format)) {
        throw new TrainSetupError(field, `'${d.format}' is not read by iv2 train yet (allowed: auto, ret, pt — JSON lists of {video, caption})`);
      }
      sets.push(await loadClipSet(d.anno_path, o));
    }
  }
  if (sets.length === 1) return sets[0];
  const frames = new Float32Array(sets.reduce((n, s) => n + s.frames.length, 0));
  let off = 0;
  for (const s of sets) (frames.set(s.frames, off), (off += s.frames.length));
  const names = sets.flatMap((s) => s.names);
  return { names, labels: names.map((_, i) => i), clips: [], frames, captions: sets.flatMap((s) => s.captions), qa: sets.flatMap((s) => s.qa) };
}

/** Builds the task of a config's stage over clips held in memory. */
async function buildTask(c: TrainConfig, data: DemoData, rng: Rng): Promise<{ task: TrainTask; layerScale?: (n: string) => number }> {
  const video = (bs: number) => (i: number) => {
    const ids = batchIndices(data.train.labels.length, bs, i, c.seed);
    const v = tf.tidy(() => tf.transpose(tf.tensor5d(gatherFrames(data.train, ids, data.clipElems), [ids.length, data.numFrames, 3, data.size, data.size]), [0, 2, 1, 3, 4]) as tf.Tensor5D);
    return { batch: { video: v }, files: ids.map((k) => data.train.names[k]), owned: [v] };
  };
  const bs = c.data.batch_size;
  const perEpoch = Math.floor(data.train.labels.length / bs);
  if (perEpoch < 1) throw new TrainSetupError('data.batch_size', `${bs} is larger than the ${data.train.labels.length} training clips`);
  const cr = c.criterion;
  if (c.stage === 'stage1') {
    const teacher = c.model.teacher!;
    if (teacher.kind === 'pixels') {
      const model = await buildVision(c, {}, c.seed);
      const obj = new PixelReconstruction(model, { mask_type: cr.mask_type === 'attention' ? 'tube' : cr.mask_type, mask_ratio: cr.mask_ratio, normlize_target: cr.norm_pix_loss, seed: c.seed }, { draws: new RngDraws(rng) });
      return { task: new ObjectiveTask('stage1', obj, [['', model], ['pixel_decoder.', obj.decoder]], perEpoch, video(bs)) };
    }
    const student = await buildVision(c, {}, c.seed);
    let clip;
    if (teacher.kind === 'encoder') {
      const t = await buildVision({ ...c, model: { ...c.model, vision_encoder: { preset: teacher.preset, pretrained: teacher.pretrained, ...teacher.config } } }, {}, c.seed + 7);
      clip = new EncoderTeacher(t, { clipReturnLayer: student.config.clip_return_layer, clipReturnInterval: teacher.clip_return_interval });
    } else {
      if (!teacher.features) throw new TrainSetupError('model.teacher.features', 'kind: features needs the features file');
      clip = await PrecomputedTeacher.open(teacher.features);
    }
    const obj = new UnmaskedTeacherDistillation(student, { clip }, { mask_type: cr.mask_type, mask_ratio: cr.mask_ratio, td_ratio: 1, clip_loss_ratio: [cr.loss_weight.clip, cr.loss_weight.clip_final] }, { draws: new RngDraws(rng) });
    return { task: new ObjectiveTask('stage1', obj, [['', student]], perEpoch, video(bs)), layerScale: buildLayerScale(c, student, '') };
  }
  if (c.stage === 'stage2') {
    const vision = await buildVision(c, {}, c.seed);
    const tokenizer = await buildTokenizer(c, data.train.captions.flat());
    writeRunConfig(c, tokenizer);
    const text = await buildText(c, vision, tokenizer.vocabulary().length);
    const task = new Stage2Task(vision, tokenizer, data, {
      sizes: { hidden: 0, layers: 0, fusionLayer: 0, heads: 0, intermediate: 0, embedDim: c.model.embed_dim, maxTxtL: c.data.max_txt_l },
      batchSize: bs, seed: c.seed, rng, videoMaskRatio: cr.video_mask_ratio, kTest: c.evaluation.k_test,
      text, lossWeight: { vtc: cr.loss_weight.vtc, vtm: cr.loss_weight.vtm, mlm: cr.loss_weight.mlm }, vtmHardNeg: cr.vtm_hard_neg, mlmProb: cr.mlm_masking_prob,
    });
    return { task, layerScale: buildLayerScale(c, vision, 'vision_encoder.') };
  }
  const vision = await buildVision(c, {}, c.seed);
  return { task: await buildStage3Task(c, vision, data) };
}

export async function runTrain(file: string, o: { sets?: string[]; resume?: string; quiet?: boolean } = {}) {
  const c = loadTrainConfig(file, o.sets ?? []);
  await initBackend(c.backend as BackendName);
  const progress = new Progress({ quiet: o.quiet });
  writeRunConfig(c);
  const probe = c.model.vision_encoder;
  const size = c.data.img_size ?? (probe.img_size as number | undefined) ?? 224;
  const trainSet = (await loadSets(c, 'train', size, progress))!;
  const testSet = await loadSets(c, 'test', size, progress);
  const data: DemoData = { classes: [], train: trainSet, test: testSet ?? trainSet, size, numFrames: c.data.num_frames, clipElems: c.data.num_frames * 3 * size * size };
  const rng = new Rng(c.seed + 1);
  const { task, layerScale } = await buildTask(c, data, rng);
  const accum = c.optimizer.gradient_accumulation_steps;
  const stepsPerEpoch = Math.max(1, Math.floor(task.batchesPerEpoch / accum));
  const totalSteps = c.scheduler.max_steps ?? Math.ceil(c.scheduler.epochs * stepsPerEpoch);
  const r = await train(task, {
    outputDir: c.output_dir, totalSteps, schedule: buildSchedule(c, totalSteps, stepsPerEpoch), rng,
    betas: c.optimizer.opt_betas, eps: c.optimizer.opt_eps, weightDecay: c.optimizer.weight_decay, layerScale,
    maxGradNorm: c.optimizer.max_grad_norm, accumulation: accum, freeze: c.freeze, logFreq: c.log_freq,
    saveEvery: c.save_ckpt_freq, keepLast: c.keep_last, evalEvery: testSet ? c.evaluation.every_n_steps : undefined,
    resume: o.resume, progress, log: (s) => progress.log(s),
  });
  if (task instanceof Stage3Task) {
    // what iv2 chat reads beside the checkpoints: the decoder folder, the peft adapter, videochat2.json
    const { preset: _p, pretrained: _w, ...args } = c.model.vision_encoder;
    await task.saveForChat(c.output_dir, { ...(_p ? getPreset(_p).config : {}), ...args });
  }
  if (r.curves) process.stderr.write(`curves: ${r.curves.svg} ${r.curves.html}\nlogs: ${join(c.output_dir, 'log.jsonl')}, tensorboard --logdir ${join(c.output_dir, 'tensorboard')}\n`);
  // said even with --quiet: the run did not finish
  if (r.interrupted) process.stderr.write(`stopped at step ${r.step} of ${totalSteps}; checkpoint ${r.lastCheckpoint}; continue with --resume ${c.output_dir}\n`);
  return r;
}

export const trainCmd = defineCommand({
  meta: { name: 'train', description: 'Train a stage of InternVideo2 from a YAML/JSON config' },
  args: {
    config: { type: 'positional', description: 'Config file (YAML or JSON; see configs/ and configs/train.schema.json)', required: false },
    resume: { type: 'string', description: 'Continue from a checkpoint folder or a run folder (its newest checkpoint)' },
    set: { type: 'string', description: 'Override a field: --set optimizer.lr=1e-4 (repeatable)' },
    schema: { type: 'boolean', description: 'Print the config’s JSON Schema and exit', default: false },
    quiet: { type: 'boolean', description: 'No progress output', default: false },
  },
  async run({ args, rawArgs }) {
    if (args.schema) {
      console.log(JSON.stringify(trainConfigJsonSchema(), null, 2));
      return;
    }
    if (!args.config) throw new TrainSetupError('config', 'pass a config file (see apps/cli/configs/)');
    const sets: string[] = [];
    rawArgs.forEach((a, i) => {
      if (a === '--set' && rawArgs[i + 1]) sets.push(rawArgs[i + 1]);
      else if (a.startsWith('--set=')) sets.push(a.slice(6));
    });
    const r = await runTrain(args.config, { sets, resume: args.resume, quiet: args.quiet });
    // stopped by SIGINT/SIGTERM after its checkpoint: 128 + SIGINT, so a script can tell it from a finished run
    if (r.interrupted) process.exitCode = 130;
  },
});
