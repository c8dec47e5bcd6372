export { BertConfigSchema, type BertConfig, type BertConfigInput, BertConfigError, parseBertConfig, BERT_ARCHITECTURES } from './config.js';
export { BertInputError, TextCheckpointMismatchError, TextWeightsNotFoundError } from './errors.js';
export { Embedding as BertWordEmbedding, embeddingLookup } from './embedding.js';
export {
  BertEmbeddings,
  BertSelfAttention,
  BertSelfOutput,
  BertAttention,
  BertIntermediate,
  BertOutput,
  BertLayer,
  BertEncoder,
  BertModel,
  BertPredictionHeadTransform,
  BertLMPredictionHead,
  BertOnlyMLMHead,
  BertForMaskedLM,
  maskedLmLoss,
  extendedAttentionMask,
  invertAttentionMask,
  TIED_ALIASES,
  type BertMode,
  type BertModelInput,
  type BertModelOutput,
  type MaskedLMOutput,
  type FromPretrainedOptions as BertFromPretrainedOptions,
} from './xbert.js';
export {
  Stage2TextHeads,
  InternVideo2Stage2Text,
  STAGE2_TEXT_PRESETS,
  UnknownTextPresetError,
  parseStage2TextConfig,
  type Stage2HeadsConfig,
  type Stage2TextConfig,
  type Stage2TextConfigInput,
  type Stage2TextFromPretrainedOptions,
  type TextEncodeOutput,
} from './internvideo2_stage2.js';
export { type TextLoadReport, type PretrainedSource, inferBertConfig, findPrefix, loadTextWeights, openSource } from './load.js';
export {
  BertTokenizer,
  TokenizerConfigError,
  BERT_SPECIAL_TOKENS,
  bertTokenizerJson,
  parseVocabTxt,
  type BertTokenizerOptions,
  type CallOptions as BertCallOptions,
  type BatchEncoding,
} from './tokenization_bert.js';
export { buildWordPieceVocab, trainBertTokenizer, type WordPieceTrainerOptions } from './wordpiece_trainer.js';
export { loadDemoTokenizer, buildDemoVocab, corpusLines, DEMO_VOCAB_OPTIONS } from './demo_vocab.js';
