export * from './errors.js';
export { type Draws, RngDraws, ReplayDraws } from './draws.js';
export { type LossOutput, type Objective, type WeightedObjective, combine, prefixed } from './objective.js';
export { attentionGuidedMask, randomMask, tubeMask, withCls, gatherVisible } from './stage1/masking.js';
export {
  type ClipTeacher,
  type MaeTeacher,
  type ClipTeacherOutput,
  type MaeTeacherOutput,
  type TeacherContext,
  type EncoderTeacherOptions,
  EncoderTeacher,
  FixedTeacher,
  PrecomputedTeacher,
  teacherReturnIndex,
  serializeTeacherFeatures,
} from './stage1/teachers.js';
export {
  Stage1ConfigSchema,
  type Stage1Config,
  type Stage1ConfigInput,
  parseStage1Config,
  type Stage1Batch,
  type Stage1Prepared,
  UnmaskedTeacherDistillation,
  alignLoss,
} from './stage1/engine_for_pretraining.js';
export {
  type RetrievalMetrics,
  type MatchScorer,
  type RetrievalEvaluationOptions,
  type RetrievalEvaluation,
  rankOfGroundTruth,
  itmEval,
  retrievalEvaluation,
} from './evaluation/retrieval_utils.js';
export { KINETICS_TEMPLATES_ACTION_CLIP, promptTexts, zeroShotClassification, type ZeroShotOptions, type ZeroShotResult } from './evaluation/zero_shot.js';
export { ProbeHead, trainProbe, evaluateProbe, type ProbeTrainOptions } from './evaluation/linear_probing.js';
export { Trainer, defaultGroups, setTrainable, type TrainerOptions, type StepResult } from './recipes/train_step.js';
export { idMask, getSim, vtcLoss, vtmNegatives, crossEntropy, mlmMask, type VtmNegatives, type MlmTokens } from './stage2/criterions.js';
export {
  Stage2ConfigSchema,
  type Stage2Config,
  type Stage2ConfigInput,
  parseStage2Config,
  type Stage2Batch,
  type Stage2Prepared,
  Stage2VisualObjective,
} from './stage2/internvideo2_stage2_visual.js';
export { type RetrievalFeatures, extractRetrievalFeatures, stage2MatchScorer, evaluateStage2Retrieval } from './evaluation/stage2_retrieval.js';
export {
  PixelReconstructionConfigSchema,
  type PixelReconstructionConfig,
  type PixelReconstructionConfigInput,
  PixelReconstruction,
  PixelDecoder,
  patchPixels,
  sinusoidTable,
  type PixelBatch,
  type PixelPrepared,
} from './stage1/pixel_reconstruction.js';
export { detach } from './detach.js';
export { VideoChat2Objective, type Stage3Batch } from './stage3/videochat2_it_mistral.js';
export {
  Stage1OptimSchema,
  Stage2OptimSchema,
  type Stage1Optim,
  type Stage2Optim,
  OPTIM_PRESETS,
  type TrainerSettings,
  stage1Trainer,
  stage2Trainer,
  presetTrainer,
} from './recipes/config.js';
