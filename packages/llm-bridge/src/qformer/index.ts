export {
  QFormerConfigSchema,
  type QFormerConfig,
  type QFormerConfigInput,
  QFormerConfigError,
  parseQFormerConfig,
  dropPathList,
  QFORMER_PRESETS,
} from './config.js';
export { QFormerEmbeddings, QFormerLayer, QFormerEncoder, QFormerBertModel, QFormerLMHeadModel, type QFormerModelInput } from './qformer.js';
export { QFormer, inferQFormerConfig, type EncodeImgOutput, type QFormerFromPretrainedOptions } from './videochat2_qformer.js';
