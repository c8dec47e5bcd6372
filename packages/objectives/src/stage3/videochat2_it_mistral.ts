import type * as tf from '@tensorflow/tfjs-core';
import type { NamedParameter } from '@iv2/core';
import type { ConversationSample, VideoChat2ItMistral } from '@iv2/llm-bridge';
import { BatchShapeError } from '../errors.js';
import type { LossOutput, Objective } from '../objective.js';

/** A stage-3 batch: the vision encoder's tokens `[B, T, L, C]` or the clips `[B, 3, T, H, W]`, and the conversations. */
export interface Stage3Batch {
  visionTokens?: tf.Tensor;
  video?: tf.Tensor5D;
  /** `process_qa` conversations and the instruction the Q-Former reads, one per clip. */
  samples: ConversationSample[];
  useImage?: boolean;
}

/**
 * Stage 3 (instruction tuning): the answer-only causal-LM loss of `VideoChat2_it_mistral.forward` — labels −100 on
 * the BOS-valued first vector, the prompt, the soft video tokens, every `[INST] … [/INST]` span and the padding;
 * the answers and their `</s>` are learned. Trains the model's official trainable set (`trainableParameters`:
 * vision encoder unless `freeze_vit`, `vision_layernorm`, query tokens, Q-Former, LoRA, projector). Part: `loss`.
 */
export class VideoChat2Objective implements Objective<Stage3Batch, Stage3Batch> {
  readonly name = 'stage3';

  constructor(readonly model: VideoChat2ItMistral) {}

  parameters(): NamedParameter[] {
    return this.model.trainableParameters();
  }

  async prepare(batch: Stage3Batch): Promise<Stage3Batch> {
    const b = (batch.visionTokens ?? batch.video)?.shape[0];
    if (b === undefined) throw new BatchShapeError('visionTokens', 'pass the vision tokens or the video');
    if (b !== batch.samples.length) throw new BatchShapeError('samples', `${batch.samples.length} conversations for ${b} clips`);
    return batch;
  }

  loss(batch: Stage3Batch): LossOutput {
    const out = this.model.forward(batch);
    const { loss, logits, labels, inputsEmbeds, attentionMask, encoded } = out;
    // The tape keeps its own copies of what the backward pass needs.
    for (const t of [inputsEmbeds, attentionMask, encoded.visionEmbeds, encoded.queryOutput, encoded.projected]) t.dispose();
    return { total: loss, parts: { loss }, extras: { logits, labels } };
  }
}
