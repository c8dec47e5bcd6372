// The text half of VideoChat2_it_mistral.forward (models/videochat_mistra/videochat2_it_mistral.py): the prompt is
// split at the end token, both halves tokenized without special tokens, and the answer targets are found by
// re-tokenizing the `" [/INST] "`-separated pieces, exactly as the official loop does.
import { ConversationError, HUMAN_END, HUMAN_START } from './it_dataset_mistral.js';
import type { TextTokenizer } from './tokenizer.js';

export const IGNORE_INDEX = -100;

export interface SplitPrompt {
  /** Ids of the text before the end token (`[INST] <Video>`, with any system/instruction before it). */
  pBeforeIds: number[];
  /** Ids from the end token on (`</Video> … [/INST] … </s>`). */
  pAfterIds: number[];
  /** `pAfterIds` with −100 on everything but the answers and their `</s>`. */
  pAfterTargets: number[];
}

/** Splits one training prompt around the video and masks its targets (`use_image` picks `</Image>`). */
export function splitPromptForVideo(prompt: string, tokenizer: TextTokenizer, endToken = '</Video>'): SplitPrompt {
  const parts = prompt.split(endToken);
  if (parts.length !== 2) throw new ConversationError(`expected exactly one ${endToken}, found ${parts.length - 1}`, 'prompt');
  const pBefore = parts[0];
  const pAfter = endToken + parts[1];
  const len = (t: string) => tokenizer.encode(t, { addSpecialTokens: false }).length;
  const pBeforeIds = tokenizer.encode(pBefore, { addSpecialTokens: false });
  const pAfterIds = tokenizer.encode(pAfter, { addSpecialTokens: false });
  const sep1 = `${HUMAN_START} `;
  const sep2 = ` ${HUMAN_END} `;
  const raw = pAfter.split(sep2);
  for (let i = 0; i < raw.length - 1; i++) raw[i] += sep2;
  const targets = [...pAfterIds];
  // The first piece holds the system part and the first question; the last only an answer.
  let cur = len(raw[0].trimEnd());
  for (let i = 0; i < cur && i < targets.length; i++) targets[i] = IGNORE_INDEX;
  for (const text of raw.slice(1, -1)) {
    const total = len(text.trimEnd());
    const ans = len(text.split(sep1)[0].trimEnd());
    for (let i = cur + ans; i < cur + total && i < targets.length; i++) targets[i] = IGNORE_INDEX;
    cur += total;
  }
  cur += len(raw[raw.length - 1].trimEnd());
  if (cur !== targets.length) {
    throw new ConversationError(`the pieces tokenize to ${cur} ids but the prompt to ${targets.length} (the official assertion)`, 'prompt');
  }
  return { pBeforeIds, pAfterIds, pAfterTargets: targets };
}

/**
 * The inference conversation of the VideoChat2 Mistral demo (`get_prompt` with roles [INST]/[/INST], sep ""):
 * `[INST] <Video><VideoHere></Video> [/INST] [INST] question [/INST]`, each answer followed by `</s>`.
 */
export class VideoChat2Conversation {
  readonly messages: Array<[string, string | null]> = [];

  constructor(
    readonly system = '',
    readonly placeholder = '<VideoHere>',
    startToken = '<Video>',
    endToken = '</Video>',
  ) {
    this.messages.push([HUMAN_START, `${startToken}${placeholder}${endToken} ${HUMAN_END}`]);
  }

  ask(question: string): void {
    this.messages.push([HUMAN_START, question]);
  }

  /** Opens the assistant turn (with an answer prompt such as "Best Option:(" when given). */
  startAnswer(answerPrompt: string | null = null): void {
    this.messages.push([HUMAN_END, answerPrompt]);
  }

  /** Records the generated answer (the demo appends `</s>`). */
  setAnswer(text: string): void {
    this.messages[this.messages.length - 1][1] = `${text}</s>`;
  }

  /** `get_prompt`, or `get_prompt2` when the last message is an answer prompt. */
  prompt(): string {
    let ret = this.system;
    this.messages.forEach(([role, message], i) => {
      const last = i === this.messages.length - 1;
      if (last && role === HUMAN_END && message) ret += `${role} ${message}`;
      else if (message) ret += `${role} ${message} `;
      else ret += role;
    });
    return ret;
  }

  /** The prompt cut at the video placeholder: [before, after]. */
  segments(): [string, string] {
    const s = this.prompt().split(this.placeholder);
    if (s.length !== 2) throw new ConversationError(`expected one ${this.placeholder} in the prompt, found ${s.length - 1}`);
    return [s[0], s[1]];
  }
}
