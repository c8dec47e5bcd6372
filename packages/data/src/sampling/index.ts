export { frameIndices, clipFrameIndices, demoFrameIndices, FrameSamplingError } from './video_utils.js';
export type { FrameIndicesOptions, SampleType } from './video_utils.js';
export { tsnSparseIndices } from './mae_multi.js';
export type { TsnOptions } from './mae_multi.js';
export { kineticsSparseIndices } from './kinetics_sparse.js';
export { linspace, arange, roundHalfEven } from './numpy_compat.js';
