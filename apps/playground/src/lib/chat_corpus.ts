import { SYNTHETIC_WORDS } from './synthetic.js';

/** Every word the synthetic QA annotations and the VideoChat2 prompt use: the tiny chat model's vocabulary. */
export const SYNTHETIC_QA_CORPUS = `[INST] <Video></Video> [/INST] Watch the video and answer the question. ${SYNTHETIC_WORDS}`;
