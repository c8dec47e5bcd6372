// The VideoChat2 Mistral conversation: process_qa (it_dataset_mistral.py) and the forward's prompt split and
// answer masking, against fixtures/llm/videochat2-tiny (samples → conversations, ids, labels); the inference
// prompt of the official Mistral demo; chat templates through @huggingface/jinja.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadInstructionAnno } from '@iv2/data';
import { beforeAll, describe, expect, test } from 'vitest';
import { initBackend, Rng } from '@iv2/core';
import {
  ChatTemplateError,
  ConversationError,
  VideoChat2Conversation,
  applyChatTemplate,
  frameTimeMessage,
  processQa,
  splitPromptForVideo,
} from '../src/index.js';
import { fixtureCases } from '../../../test-utils/fixtures.js';
import { WordTokenizer, readIO, readJson, rows } from './llm_helpers.js';

const CASES = fixtureCases('llm', (dir) => {
  try {
    return 'samples' in readJson(dir);
  } catch {
    return false;
  }
});

describe.each(CASES)('$title conversation', (fc) => {
  const cfg = readJson(fc.dir);
  let io: Map<string, tf.Tensor>;
  beforeAll(async () => {
    await initBackend('cpu');
    io = await readIO(fc.dir);
  });

  test(`${fc.title}: process_qa gives the official conversations and instructions`, () => {
    cfg.samples.forEach((s: { qa: never[]; sec: string[] }, k: number) => {
      const msg = s.sec.length ? frameTimeMessage(s.sec) : '';
      const { conversation, instruction } = processQa(s.qa, { system: cfg.system, msg, returnQuestionInstruction: cfg.return_question_instruction });
      expect(conversation).toBe(cfg.conversations[k]);
      expect(instruction).toBe(cfg.instructions[k]);
    });
  });

  test(`${fc.title}: prompt split and answer masking as the official forward`, async () => {
    const tok = new WordTokenizer(cfg.llm_vocab);
    const labels = await rows(io.get('llm.labels')!);
    const nq = cfg.qf.num_query_token + cfg.qf.extra_num_query_token;
    cfg.conversations.forEach((c: string, k: number) => {
      const s = splitPromptForVideo(c, tok);
      expect(s.pBeforeIds).toEqual(Array.from(io.get(`sample${k}.p_before_ids`)!.dataSync()));
      expect(s.pAfterIds).toEqual(Array.from(io.get(`sample${k}.p_after_ids`)!.dataSync()));
      // In the assembled labels the p_after targets start after X, p_before and the video tokens.
      const off = 1 + s.pBeforeIds.length + nq;
      expect(labels[k].slice(off, off + s.pAfterTargets.length)).toEqual(s.pAfterTargets);
    });
  });
});

describe('conversation rules', () => {
  test('from the instruction annotations @iv2/data reads', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iv2-anno-'));
    const file = join(dir, 'anno.json');
    writeFileSync(file, JSON.stringify([{ video: 'a.mp4', QA: [{ i: 'Answer briefly.', q: 'Who is there?', a: 'A man.' }] }]));
    const [sample] = await loadInstructionAnno(file, { dataRoot: dir });
    const { conversation, instruction } = processQa(sample.qa, { msg: frameTimeMessage(['0.5', '1.5']) });
    expect(conversation).toBe('Answer briefly. [INST] <Video></Video> The video contains 2 frames sampled at 0.5, 1.5 seconds. [/INST] [INST] Who is there? [/INST] A man. </s>');
    expect(instruction).toBe('Answer briefly.');
  });

  test('shuffles with the given generator, keeps the order without one; system must end with a space', () => {
    const qa = [
      { q: 'a?', a: 'A.' },
      { q: 'b?', a: 'B.' },
      { q: 'c?', a: 'C.' },
    ];
    expect(processQa(qa).conversation).toBe('[INST] <Video></Video> [/INST] [INST] a? [/INST] A. </s> [INST] b? [/INST] B. </s> [INST] c? [/INST] C. </s>');
    const orders = new Set(Array.from({ length: 12 }, (_, s) => processQa(qa, { shuffle: new Rng(s) }).conversation));
    expect(orders.size).toBeGreaterThan(1);
    // A caption turn has no question; the image tokens come from the options.
    expect(processQa([{ q: '', a: 'A cat.' }], { startToken: '<Image>', endToken: '</Image>' }).conversation).toBe(
      '[INST] <Image></Image> [/INST] A cat. </s>',
    );
    expect(() => processQa(qa, { system: 'no space' })).toThrow(ConversationError);
    expect(() => processQa([])).toThrow(ConversationError);
  });

  test('a prompt without exactly one end token is refused', () => {
    const tok = new WordTokenizer(['<unk>', '<s>', '</s>']);
    expect(() => splitPromptForVideo('[INST] no video [/INST] x </s>', tok)).toThrow(/exactly one <\/Video>/);
  });

  test('the demo prompt: [INST] <Video><VideoHere></Video> [/INST] [INST] q [/INST], answers closed with </s>', () => {
    const conv = new VideoChat2Conversation();
    conv.ask('Describe the video in details.');
    conv.startAnswer();
    expect(conv.prompt()).toBe('[INST] <Video><VideoHere></Video> [/INST] [INST] Describe the video in details. [/INST]');
    conv.setAnswer('A man and a dog.');
    conv.ask('Where?');
    conv.startAnswer('Best Option:(');
    expect(conv.prompt()).toBe(
      '[INST] <Video><VideoHere></Video> [/INST] [INST] Describe the video in details. [/INST] A man and a dog.</s> [INST] Where? [/INST] Best Option:(',
    );
    expect(conv.segments()[0]).toBe('[INST] <Video>');
  });

  test('chat templates render with @huggingface/jinja; errors are typed', () => {
    // Mistral-7B-Instruct-v0.2's template (tokenizer_config.json).
    const mistral =
      "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}";
    const tok = { ...new WordTokenizer(['<unk>', '<s>', '</s>']), bosToken: '<s>', eosToken: '</s>', chatTemplate: mistral } as never;
    const text = applyChatTemplate(tok, [
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello.' },
      { role: 'user', content: 'What is in the video?' },
    ]);
    expect(text).toBe('<s>[INST] Hi [/INST]Hello.</s>[INST] What is in the video? [/INST]');
    expect(() => applyChatTemplate(tok, [{ role: 'assistant', content: 'x' }])).toThrow(/roles must alternate/);
    expect(() => applyChatTemplate(tok, [{ role: 'user', content: 'x' }], { chatTemplate: '{% for %}' })).toThrow(ChatTemplateError);
    expect(() => applyChatTemplate(new WordTokenizer(['<s>']) as never, [])).toThrow(/no chat_template/);
  });
});

