export * from './tokenizer.js';
export * from './chat_template.js';
export * from './it_dataset_mistral.js';
export { splitPromptForVideo, VideoChat2Conversation, type SplitPrompt } from './videochat2_prompt.js';
export * from './word_tokenizer.js';
