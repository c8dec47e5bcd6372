// The trainer as a library: what `iv2 train` runs, for scripts that bring their own task.
export { train, saveModel, loadModel, taskParameters, NonFiniteLossError, type TrainTask, type TrainBatch, type TrainOptions, type TrainResult } from './train/loop.js';
export { CheckpointManager, resolveCheckpoint, type CheckpointInfo, type CheckpointMeta } from './train/checkpoints.js';
export { TensorBoardWriter, encodeEvent, frameRecord } from './logging/tfevents.js';
export { crc32c, maskedCrc32c } from './logging/crc32c.js';
export { writeCurves, curvesSvg, curvesHtml, readLogRows, type LogRow } from './logging/curves.js';
export { Progress, formatSeconds, type ProgressOptions } from './progress.js';
export { TrainConfigSchema, trainConfigJsonSchema, type TrainConfig, type TrainConfigInput } from './config/schema.js';
export { loadTrainConfig, parseTrainConfig, applyOverrides, ConfigError } from './config/load.js';
