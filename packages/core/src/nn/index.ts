export type { NamedParameter } from './parameter.js';
export { type ParamLayout, fromTorchLayout, toTorchLayout, torchShapeToTfjs, tfjsShapeToTorch } from './layout.js';
export { Module, ModuleList, type ParameterInfo } from './module.js';
export { Linear, LayerNorm, RMSNorm, GELU, Dropout, DropPath, type LinearOptions } from './layers.js';
export { PatchConv3d } from './patch_conv3d.js';
export { truncNormal, xavierUniform, torchDefaultUniform, defaultRng, seedDefaultRng } from './init.js';
export { StateDictMismatchError } from './errors.js';
export {
  loadStateDict,
  type LoadStateDictOptions,
  type LoadReport,
  type StateDictInput,
} from './load_state_dict.js';
