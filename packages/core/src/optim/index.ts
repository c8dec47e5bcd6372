export { AdamW, gradsByName, type AdamWOptions, type AdamWState } from './adamw.js';
export { paramGroups, layerDecayScale, type ParamGroup } from './param_groups.js';
export { clipCoefficient, clipGradNorm, clipGradNormAsync } from './clip_grad_norm.js';
export { warmupCosine, lambdaCosine, constant, stepDecay, type Schedule } from './schedules.js';
export { GradAccumulator } from './grad_accumulator.js';
export { saveTrainingState, loadTrainingState, type TrainingState } from './training_state.js';
