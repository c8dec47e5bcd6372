// Stage-3 training through the public API the objectives build on: a video through a trainable vision encoder
// (freeze_vit off), the Q-Former, projector and LoRA decoder; gradients reach every trainable tensor, the answer
// loss falls under AdamW, frozen weights stay put, and steps leak nothing.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, expect, test } from 'vitest';
import { AdamW, initBackend, paramGroups } from '@iv2/core';
import { VideoEncoder } from '@iv2/encoder';
import { VideoChat2ItMistral, decoderConfig, loraConfig, processQa, VIDEOCHAT2_TARGET_MODULES } from '../src/index.js';
import { WordTokenizer } from './llm_helpers.js';

const WORDS = ['<unk>', '<s>', '</s>', '[INST]', '[/INST]', 'What', 'is', 'here?', 'A', 'dog.', 'Where?', 'Snow.'];

function build(freezeVit: boolean) {
  const encoder = VideoEncoder.create({
    config: { img_size: 28, patch_size: 14, embed_dim: 32, num_heads: 2, mlp_ratio: 2, depth: 2, num_frames: 2, tubelet_size: 1, attn_pool_num_heads: 2, clip_embed_dim: 16, clip_teacher_embed_dim: 16, clip_teacher_final_dim: 8, clip_return_layer: 1 },
    seed: 1,
  });
  return new VideoChat2ItMistral({
    qformer: { vocab_size: 16, hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 32, encoder_width: 32, num_query_token: 2, extra_num_query_token: 2, qformer_text_input: false, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0, drop_path_rate: 0 },
    llm: decoderConfig('mistral', { vocab_size: WORDS.length, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, sliding_window: null }),
    lora: loraConfig({ r: 2, loraAlpha: 4, loraDropout: 0, targetModules: VIDEOCHAT2_TARGET_MODULES }),
    maxTxtLen: 64,
    freezeVit,
    freezeQformer: false,
    tokenizer: new WordTokenizer(WORDS),
    visionEncoder: encoder.model,
    seed: 2,
  });
}

beforeAll(async () => {
  await initBackend('cpu');
});

test('freeze_vit decides whether the vision encoder trains; its keys come first after the query tokens', () => {
  const frozen = build(true);
  const open = build(false);
  const names = (m: VideoChat2ItMistral) => m.trainableParameters().map((p) => p.name);
  expect(names(frozen).some((n) => n.startsWith('vision_encoder.') || n.startsWith('vision_layernorm.'))).toBe(false);
  const n = names(open);
  expect(n.slice(0, 3)).toEqual(['query_tokens', 'extra_query_tokens', expect.stringMatching(/^vision_encoder\./)]);
  expect(n.at(-1)).toBe('mistral_proj.bias');
  expect(n.filter((x) => x.startsWith('mistral_model.')).every((x) => x.includes('.lora_'))).toBe(true);
  frozen.dispose();
  open.dispose();
});

test('five AdamW steps on the answer loss: every trainable tensor gets a gradient, the loss falls, no leaks', async () => {
  const model = build(false);
  model.train();
  const video = tf.randomNormal([2, 3, 2, 28, 28], 0, 1, 'float32', 3) as tf.Tensor5D;
  const samples = [
    processQa([{ q: 'What is here?', a: 'A dog.' }]),
    processQa([{ q: 'Where?', a: 'Snow.' }, { q: 'What is here?', a: 'A dog.' }]),
  ];
  const params = model.trainableParameters();
  const frozen = model.lm.model.layers.at(0).self_attn.q_proj.weight;
  const frozenBefore = await frozen.data();
  const opt = new AdamW(paramGroups(params, { weightDecay: 0.02 }), { lr: 1e-2 });
  const losses: number[] = [];
  let tensorsAfterFirst = 0;
  for (let step = 0; step < 5; step++) {
    const { value, grads } = tf.variableGrads(() => model.forward({ video, samples }).loss, params.map((p) => p.variable));
    if (step === 0) {
      // The encoder's parts after block x_vis_return_idx (its last block, pooling, alignment heads) get no gradient,
      // as in torch; everything else does.
      for (const p of params.filter((q) => !q.name.startsWith('vision_encoder.'))) expect(grads[p.variable.name], p.name).toBeDefined();
      // The vision encoder and the projector both receive gradient from the answers.
      const gVis = grads[params.find((p) => p.name.startsWith('vision_encoder.blocks.0.'))!.variable.name];
      expect(tf.any(tf.notEqual(gVis, 0)).dataSync()[0]).toBe(1);
    }
    losses.push((await value.data())[0]);
    opt.apply(new Map(params.map((p) => [p.name, grads[p.variable.name]])));
    tf.dispose([value, ...Object.values(grads)]);
    if (step === 1) tensorsAfterFirst = tf.memory().numTensors;
    if (step > 1) expect(tf.memory().numTensors).toBe(tensorsAfterFirst);
  }
  console.log('stage-3 loss over 5 AdamW steps', losses);
  expect(losses[4]).toBeLessThan(losses[0]);
  expect([...(await frozen.data())]).toEqual([...frozenBefore]);
  video.dispose();
  model.dispose();
});
