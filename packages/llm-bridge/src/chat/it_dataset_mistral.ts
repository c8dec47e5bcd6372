// The VideoChat2 Mistral prompt of dataset/it_dataset_mistral.py (`ITImgTrainDataset_mistral.process_qa`,
// `ITVidTrainDataset_mistral.__getitem__`'s frame-time message), from the QA records @iv2/data reads.
import type { Rng } from '@iv2/core';

export interface QaTurn {
  /** Instruction (only the first turn's is used, as the system message). */
  i?: string;
  q: string;
  a: string;
}

export interface ProcessQaOptions {
  /** Must end with a space when not empty (the official assertion). */
  system?: string;
  startToken?: string;
  endToken?: string;
  /** The official default shuffles the turns; pass an Rng to do so (Fisher–Yates), none to keep the order. */
  shuffle?: Rng | null;
  /** `ITVidTrainDataset_mistral`'s second message (see {@link frameTimeMessage}); "" without add_second_msg. */
  msg?: string;
  returnQuestionInstruction?: boolean;
}

export const HUMAN_START = '[INST]';
export const HUMAN_END = '[/INST]';
export const ASSIST_END = '</s>';

export class ConversationError extends Error {
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(field ? `${field}: ${message}` : message);
    this.name = 'ConversationError';
  }
}

/** " The video contains N frames sampled at s0, s1, … seconds. " (add_second_msg; `sec` as the loader formats them). */
export function frameTimeMessage(sec: string[]): string {
  return ` The video contains ${sec.length} frames sampled at ${sec.join(', ')} seconds. `;
}

/**
 * `process_qa`: `system + instruction + "[INST] <Video></Video>" + msg + " [/INST]"`, then per turn
 * `" [INST] q [/INST]"` (when q is not empty) and `" a </s>"`; returns the stripped conversation and instruction.
 */
export function processQa(qa: QaTurn[], opts: ProcessQaOptions = {}): { conversation: string; instruction: string } {
  if (!qa.length) throw new ConversationError('no QA turns', 'qa');
  const system = opts.system ?? '';
  if (system && !system.endsWith(' ')) throw new ConversationError("should end with ' '", 'system');
  const turns = [...qa];
  if (opts.shuffle && turns.length > 1) {
    for (let i = turns.length - 1; i > 0; i--) {
      const j = opts.shuffle.int(0, i + 1);
      [turns[i], turns[j]] = [turns[j], turns[i]];
    }
  }
  let instruction = turns[0].i ? `${turns[0].i} ` : '';
  let conversation = system + instruction;
  conversation += `${HUMAN_START} ${opts.startToken ?? '<Video>'}${opts.endToken ?? '</Video>'}${(opts.msg ?? '').trimEnd()} ${HUMAN_END}`;
  for (const t of turns) {
    if (t.q !== '') conversation += ` ${HUMAN_START} ${t.q} ${HUMAN_END}`;
    conversation += ` ${t.a} ${ASSIST_END}`;
  }
  if (opts.returnQuestionInstruction && instruction) instruction += turns[0].q;
  return { conversation: conversation.trim(), instruction: instruction.trim() };
}
