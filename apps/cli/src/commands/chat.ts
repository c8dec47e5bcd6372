import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import * as tf from '@tensorflow/tfjs-core';
import { defineCommand } from 'citty';
import { type BackendName, initBackend, loadStateDict, openCheckpoint } from '@iv2/core';
import { frameIndices, openVideo } from '@iv2/data';
import { InternVideo2, parseConfig, preprocessFrames } from '@iv2/encoder';
import { HfTokenizer, inferQFormerConfig, loadAdapter, loadCausalLM, loraConfig, PeftModelForCausalLM, VideoChat2ItMistral } from '@iv2/llm-bridge';
import { modelFileOf } from '../export/layout.js';
import { TrainSetupError } from '../train/build.js';

/** peft's adapter_config.json as a LoRA config (r, lora_alpha, lora_dropout, target_modules). */
function adapterConfig(dir: string) {
  const j = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8'));
  return loraConfig({ r: j.r, loraAlpha: j.lora_alpha, loraDropout: j.lora_dropout ?? 0, targetModules: j.target_modules });
}

export interface ChatSetup {
  model: VideoChat2ItMistral;
  video: tf.Tensor5D;
}

/**
 * Builds VideoChat2 for chatting: the decoder from a Hugging Face folder, the optional peft adapter, and the vision
 * encoder, Q-Former and projector from a stage-3 checkpoint (official keys). Sizes come from `videochat2.json` beside
 * the checkpoint (written by `iv2 demo`) or from `--config`.
 */
export async function setupChat(o: { video: string; weights: string; llm?: string; adapter?: string; config?: string; frames?: number; size?: number }): Promise<ChatSetup> {
  const { model, frames, size } = await loadVideoChat2(o);
  const v = await openVideo(o.video);
  try {
    const idx = frameIndices({ numFrames: frames, numVideoFrames: v.info.numFrames, sample: 'middle' });
    const video = preprocessFrames(await v.readFrames(idx, { width: size, height: size }), { size });
    return { model, video };
  } finally {
    await v.close();
  }
}

/** The stage-3 model of a run or demo folder (or a checkpoint with `llm` / `adapter` / `config` given), in eval mode. */
export async function loadVideoChat2(o: { weights: string; llm?: string; adapter?: string; config?: string; frames?: number; size?: number }): Promise<{ model: VideoChat2ItMistral; frames: number; size: number }> {
  const isDir = existsSync(o.weights) && statSync(o.weights).isDirectory();
  const side = isDir ? join(o.weights, 'videochat2.json') : undefined;
  const meta = o.config ? JSON.parse(o.config) : side && existsSync(side) ? JSON.parse(readFileSync(side, 'utf8')) : undefined;
  if (!meta?.vision_encoder) throw new TrainSetupError('config', 'pass --config with {"vision_encoder": {…official arguments}} (or a folder with videochat2.json)');
  const llmDir = o.llm ?? (isDir ? join(o.weights, 'llm') : undefined);
  if (!llmDir || !existsSync(join(llmDir, 'config.json'))) throw new TrainSetupError('llm', `${llmDir ?? '(none)'}: not a Hugging Face model folder (config.json, *.safetensors, tokenizer.json)`);
  const adapterDir = o.adapter ?? (isDir && existsSync(join(o.weights, 'adapter', 'adapter_config.json')) ? join(o.weights, 'adapter') : undefined);
  const tokenizer = await HfTokenizer.fromPretrained(llmDir);
  const lm = await loadCausalLM(llmDir);
  const src = await openCheckpoint(modelFileOf(o.weights));
  try {
    const vision = new InternVideo2(parseConfig(meta.vision_encoder));
    const qformer = { ...inferQFormerConfig(src, ''), ...meta.qformer, encoder_width: vision.config.embed_dim };
    const model = new VideoChat2ItMistral({
      // The adapter's own config (r, alpha, targets) is read by loadAdapter; this only makes the peft wrapper.
      qformer, llm: lm.config, decoder: lm.model, lora: adapterDir ? adapterConfig(adapterDir) : null, tokenizer, visionEncoder: vision,
      visionReturnLayer: meta.vision_return_layer ?? -2, generationConfig: lm.generationConfig,
    });
    if (adapterDir && model.mistral_model instanceof PeftModelForCausalLM) await loadAdapter(model.mistral_model, adapterDir);
    // vision encoder, vision_layernorm, query tokens, Q-Former, projector: every key the checkpoint has for them
    const keep = src.keys().filter((k) => !k.startsWith('mistral_model.'));
    await loadStateDict(model, { keys: () => keep, has: (k: string) => keep.includes(k), info: (k: string) => src.info(k), get: (k: string) => src.get(k) }, { strict: false });
    model.eval();
    return { model, frames: o.frames ?? meta.num_frames ?? vision.config.num_frames, size: o.size ?? meta.img_size ?? vision.config.img_size };
  } finally {
    await src.close?.();
  }
}

export const chatCmd = defineCommand({
  meta: { name: 'chat', description: 'Chat about a video with a stage-3 (VideoChat2) model: streaming answers, or one answer with --prompt' },
  args: {
    video: { type: 'positional', description: 'Video file', required: true },
    weights: { type: 'string', description: 'Stage-3 checkpoint, checkpoint folder or run folder (e.g. <demo dir>/stage3)', required: true },
    llm: { type: 'string', description: 'Hugging Face folder of the decoder (default: <weights>/llm)' },
    adapter: { type: 'string', description: 'peft adapter folder (default: <weights>/adapter when present)' },
    config: { type: 'string', description: 'JSON {"vision_encoder": {…}, "qformer": {…}} when the folder has no videochat2.json' },
    prompt: { type: 'string', description: 'Ask this, print the answer, exit' },
    'max-new-tokens': { type: 'string', description: 'Answer length bound', default: '64' },
    backend: { type: 'string', description: 'auto | cpu | wasm | webgpu | tensorflow', default: 'auto' },
  },
  async run({ args }) {
    await initBackend(args.backend as BackendName);
    const { model, video } = await setupChat({ video: args.video, weights: args.weights, llm: args.llm, adapter: args.adapter, config: args.config });
    const chat = model.startChat({ video });
    video.dispose();
    const ask = async (q: string) => {
      let printed = '';
      for await (const s of chat.ask(q, { maxNewTokens: Number(args['max-new-tokens']) })) {
        const text = (s as { text?: string[] }).text?.[0];
        if (typeof text === 'string' && text.startsWith(printed)) {
          process.stdout.write(text.slice(printed.length));
          printed = text;
        }
      }
      process.stdout.write('\n');
    };
    try {
      if (args.prompt) {
        await ask(args.prompt);
        return;
      }
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      for (;;) {
        const q = (await rl.question('you> ').catch(() => '')).trim();
        if (!q || q === '/exit') break;
        process.stdout.write('iv2> ');
        await ask(q);
      }
      rl.close();
    } finally {
      chat.dispose();
      model.dispose();
    }
  },
});
