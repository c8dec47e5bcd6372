// The whole stack from files: a Hugging Face Mistral folder written here (config.json, two bf16 safetensors shards
// with their index, generation_config.json with an eos list, a SentencePiece tokenizer.json, tokenizer_config.json
// with the chat template), the InternVideo2 encoder with the fixture's weights, the Q-Former connector, LoRA;
// then a chat about fixtures/media/example1.mp4, decoded with ffmpeg. Memory stays flat over 200 generated tokens:
// the tensor count does not move and every byte of growth is the KV cache's (a 64-column block at a time).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { f32ToBf16, initBackend, Rng, saveSafetensors } from '@iv2/core';
import { frameIndices, openVideo } from '@iv2/data';
import { VideoEncoder, preprocessFrames } from '@iv2/encoder';
import {
  HfTokenizer,
  LlamaForCausalLM,
  ModelFolderError,
  PeftModelForCausalLM,
  ModelTooLargeError,
  VideoChat2ItMistral,
  applyChatTemplate,
  decoderConfig,
  generate,
  loadCausalLM,
  loraConfig,
  VIDEOCHAT2_TARGET_MODULES,
} from '../src/index.js';
import { FIXTURES, MEDIA } from '../../../test-utils/fixtures.js';
import { BACKENDS, readJson } from './llm_helpers.js';
import { mistralStyleTokenizer } from './llm_tokenizer_fixture.js';

const CORPUS =
  '[INST] <Video></Video> [/INST] What is the man doing with the dog? He throws a toy in the snowy yard and the dog runs after it. Describe the video.';

/** Writes the folder; returns the float32 weights it was made from. */
async function writeMistralFolder(dir: string, vocabSize: number): Promise<Map<string, { shape: number[]; data: Float32Array }>> {
  const config = {
    architectures: ['MistralForCausalLM'], model_type: 'mistral', vocab_size: vocabSize, hidden_size: 64, intermediate_size: 128,
    num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 512, rms_norm_eps: 1e-5,
    rope_theta: 1000000.0, sliding_window: null, tie_word_embeddings: false, bos_token_id: 1, eos_token_id: 2, torch_dtype: 'bfloat16',
    hidden_act: 'silu', transformers_version: '4.40.1',
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  writeFileSync(join(dir, 'generation_config.json'), JSON.stringify({ bos_token_id: 1, eos_token_id: [2, 7], transformers_version: '4.40.1' }));
  const lm = new LlamaForCausalLM(decoderConfig('mistral', config), new Rng(11));
  const sd = await lm.stateDict();
  lm.dispose();
  const weights = new Map([...sd].map(([k, t]) => [k, { shape: t.shape, data: t.data as Float32Array }]));
  // Two shards, as save_pretrained(max_shard_size=…) splits them: embeddings + layer 0, then the rest.
  const keys = [...weights.keys()];
  const shardOf = (k: string) => (k.startsWith('model.layers.0.') || k.startsWith('model.embed_tokens') ? 1 : 2);
  const weightMap: Record<string, string> = {};
  let total = 0;
  for (const s of [1, 2]) {
    const file = `model-0000${s}-of-00002.safetensors`;
    const mine = keys.filter((k) => shardOf(k) === s);
    for (const k of mine) {
      weightMap[k] = file;
      total += weights.get(k)!.data.length * 2;
    }
    await saveSafetensors(
      join(dir, file),
      mine.map((k) => [k, { dtype: 'BF16' as const, shape: weights.get(k)!.shape }]),
      (k) => ({ dtype: 'float32', shape: weights.get(k)!.shape, data: weights.get(k)!.data, storeAs: 'BF16' }),
      { format: 'pt' },
    );
  }
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2));
  const { tokenizer, config: tokConfig } = mistralStyleTokenizer(CORPUS);
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tokenizer));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(tokConfig, null, 2));
  return weights;
}

const bf16 = (x: number) => new Float32Array(new Uint32Array([f32ToBf16(x) << 16]).buffer)[0];

describe.each(BACKENDS)('a Hugging Face folder through the whole stack (%s)', (BACKEND) => {
  const dir = mkdtempSync(join(tmpdir(), 'iv2-hf-mistral-'));
  let weights: Map<string, { shape: number[]; data: Float32Array }>;
  let video: tf.Tensor5D;
  beforeAll(async () => {
    await initBackend(BACKEND);
    const vocab = Object.keys((mistralStyleTokenizer(CORPUS).tokenizer.model as { vocab: object }).vocab).length;
    weights = await writeMistralFolder(dir, vocab);
    // Four frames of the official demo clip, sampled as the official `middle` sampler does, at the encoder's 56².
    const v = await openVideo(join(MEDIA, 'example1.mp4'));
    const frames = await v.readFrames(frameIndices({ numFrames: 4, numVideoFrames: v.info.numFrames, sample: 'middle' }));
    await v.close?.();
    video = preprocessFrames(frames, { size: 56 });
  });
  afterAll(() => video?.dispose());

  test('loadCausalLM reads the sharded bf16 folder: every weight widened exactly, eos list from generation_config.json', async () => {
    const { model, config, generationConfig, loadReport } = await loadCausalLM(dir);
    expect(model.constructor.name).toBe('MistralForCausalLM');
    expect(config.slidingWindow).toBeNull();
    expect(loadReport.loaded.length).toBe(weights.size);
    expect(generationConfig.eosTokenId).toEqual([2, 7]);
    const sd = await model.stateDict();
    let worst = 0;
    for (const [k, w] of weights) {
      const got = sd.get(k)!.data as Float32Array;
      for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - bf16(w.data[i])));
    }
    expect(worst).toBe(0);
    // An eos id from the list stops a row: make the greedy third token an eos id.
    const free = await generate(model, { inputIds: [[1, 300, 301]] }, { maxNewTokens: 5 });
    const third = free.sequences[0][2];
    const stopped = await generate(model, { inputIds: [[1, 300, 301]] }, { maxNewTokens: 5, eosTokenId: [99999, third] });
    expect(stopped.sequences[0]).toEqual(free.sequences[0].slice(0, free.sequences[0].indexOf(third) + 1));
    expect(stopped.stoppedBy[0]).toBe('eos');
    model.dispose();
  });

  test('too little memory, a missing file or a broken config: typed errors that say what is wrong', async () => {
    await expect(loadCausalLM(dir, { maxBytes: 1e5 })).rejects.toThrow(ModelTooLargeError);
    await expect(loadCausalLM(dir, { maxBytes: 1e5 })).rejects.toThrow(/needs 0\.\d+ GiB/);
    const empty = mkdtempSync(join(tmpdir(), 'iv2-hf-empty-'));
    await expect(loadCausalLM(empty)).rejects.toThrow(ModelFolderError);
    writeFileSync(join(empty, 'config.json'), JSON.stringify({ model_type: 'gpt2' }));
    await expect(loadCausalLM(empty)).rejects.toThrow(/model_type "gpt2"/);
    writeFileSync(join(empty, 'config.json'), JSON.stringify({ model_type: 'llama', hidden_size: 8, num_attention_heads: 2, num_hidden_layers: 1, intermediate_size: 8, vocab_size: 8 }));
    await expect(loadCausalLM(empty)).rejects.toThrow(/no model\.safetensors/);
  });

  test('chat with example1.mp4: encoder → Q-Former → projector → LoRA Mistral, streamed, flat memory over 200 tokens', async () => {
    const { model: decoder, config, generationConfig } = await loadCausalLM(dir);
    const tokenizer = await HfTokenizer.fromPretrained(dir);
    const c = readJson(join(FIXTURES, 'encoder/iv2-tiny'));
    const encoder = await VideoEncoder.fromPretrained(join(FIXTURES, 'encoder/iv2-tiny/weights.safetensors'), {
      config: { img_size: c.img_size, patch_size: c.patch_size, embed_dim: c.embed_dim, num_heads: c.num_heads, mlp_ratio: c.mlp_ratio, depth: c.depth, qk_normalization: c.qk_normalization, attn_pool_num_heads: c.attn_pool_num_heads, clip_embed_dim: c.clip_embed_dim, num_frames: c.num_frames, tubelet_size: c.tubelet_size, sep_image_video_pos_embed: c.sep_image_video_pos_embed, clip_teacher_embed_dim: c.clip_teacher_embed_dim, clip_teacher_final_dim: c.clip_teacher_final_dim, clip_return_layer: c.clip_return_layer, clip_student_return_interval: c.clip_student_return_interval },
    });
    const model = new VideoChat2ItMistral({
      qformer: { vocab_size: 64, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 64, encoder_width: 64, num_query_token: 4, extra_num_query_token: 4, qformer_text_input: false },
      llm: config,
      decoder,
      generationConfig,
      lora: loraConfig({ r: 4, loraAlpha: 8, targetModules: VIDEOCHAT2_TARGET_MODULES }),
      tokenizer,
      visionEncoder: encoder.model,
    });
    model.eval();
    // Inference with the adapters folded into the decoder's weights (half the matrix products per token).
    (model.mistral_model as PeftModelForCausalLM).merge();
    // The prompt the chat builds is the demo's, and the folder's own chat template renders the same turn.
    const chat = model.startChat({ video });
    expect(applyChatTemplate(tokenizer, [{ role: 'user', content: 'Describe the video.' }])).toBe('<s>[INST] Describe the video. [/INST]');
    const perColumn = config.numHiddenLayers * 2 * config.numKeyValueHeads * config.headDim * 4;
    const seen: Array<{ tensors: number; bytes: number; cache: number }> = [];
    const it = chat.ask('Describe the video.', { maxNewTokens: 200, eosTokenId: [] });
    let steps = 0;
    let answer = '';
    for (;;) {
      const r = await it.next();
      if (r.done) {
        answer = r.value;
        break;
      }
      steps++;
      seen.push({ tensors: tf.memory().numTensors, bytes: tf.memory().numBytes, cache: r.value.cacheBytes });
    }
    expect(steps).toBe(200);
    expect(chat.conversation.prompt()).toMatch(/^\[INST\] <Video><VideoHere><\/Video> \[\/INST\] \[INST\] Describe the video\. \[\/INST\] .*<\/s>$/s);
    expect(answer.length).toBeGreaterThan(0);
    // From the second step on: the same tensors, and every byte of growth is the KV cache's, which grows by
    // 64-column blocks.
    for (let t = 1; t < seen.length; t++) {
      expect(seen[t].tensors).toBe(seen[1].tensors);
      expect(seen[t].bytes - seen[t].cache).toBe(seen[1].bytes - seen[1].cache);
    }
    const sizes = [...new Set(seen.slice(1).map((s) => s.cache))];
    // Storage (k and v of every layer) plus the one-hot write column: 64-column multiples.
    expect(sizes.every((c) => c % (64 * (perColumn + 4)) === 0)).toBe(true);
    expect(sizes.length).toBeLessThanOrEqual(5);
    expect(seen.at(-1)!.cache).toBeGreaterThanOrEqual(200 * perColumn);
    // A second turn keeps the history; it stops at an id of the folder's eos list or after 8 tokens.
    const before = tf.memory().numTensors;
    const second = await chat.answer('What is the man doing with the dog?', { maxNewTokens: 8 });
    expect(typeof second).toBe('string');
    expect(chat.conversation.prompt().split('[INST]').length - 1).toBe(3);
    expect(tf.memory().numTensors).toBe(before);
    console.log(`${BACKEND} chat: 200 tokens, ${seen[1].tensors} tensors throughout, cache ${seen[1].cache} → ${seen.at(-1)!.cache} bytes, nothing else grows`);
    chat.dispose();
    model.dispose();
    // SwiftShader runs every WebGPU step on the CPU: 200 steps take 10–15 minutes there on our shared machine.
  }, 1_800_000);
});
