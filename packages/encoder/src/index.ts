export {
  InternVideo2ConfigSchema,
  type InternVideo2Config,
  type InternVideo2ConfigInput,
  EncoderConfigError,
  parseConfig,
  gridOf,
  mlpHidden,
  clipReturnBlocks,
  maeReturnBlocks,
} from './config.js';
export { PRESETS, ARCHITECTURES, getPreset, UnknownPresetError, type Preset } from './presets.js';
export { InternVideo2, type ForwardOptions, type ForwardOutput } from './internvideo2/internvideo2.js';
export { get3dSincosPosEmbed, interpolatePosEmbed, type PosEmbedResize } from './internvideo2/pos_embed.js';
export { parameterShapes, countParameters } from './internvideo2/shapes.js';
export { loadWeights, detectPrefix, inferCheckpointFrames, CheckpointMismatchError, AmbiguousFramesError, type WeightsReport } from './load.js';
export { preprocessFrames, IMAGENET_MEAN, IMAGENET_STD, type PreprocessOptions } from './preprocess.js';
export { VideoEncoder, type CreateOptions, type FromPretrainedOptions, type EncodeOptions } from './video_encoder.js';
export { extractFeatures, MissingDecoderError, type ExtractFeaturesOptions, type WindowFeatures } from './extract_features.js';
export { Block, Mlp, LayerScale, type BlockOptions } from './internvideo2/block.js';
export { AttentionPoolingBlock, CrossAttention } from './internvideo2/attention_pooling_block.js';
export { LinearDecoder, MlpDecoder, type Decoder, type ClipNormType } from './internvideo2/decoders.js';
