import { MISTRAL_INSTRUCT_CHAT_TEMPLATE, wordMergeTokenizer, type WordTokenizerFiles } from '@iv2/llm-bridge';

/**
 * The tokenizer the tiny chat model generated in the page speaks: one token per word of `corpus`, in the Mistral
 * layout, with Mistral-7B-Instruct-v0.2's chat template (built as a real LLM folder's files would be).
 */
export function smallMistralTokenizer(corpus: string): WordTokenizerFiles {
  return wordMergeTokenizer(corpus, { chatTemplate: MISTRAL_INSTRUCT_CHAT_TEMPLATE });
}
