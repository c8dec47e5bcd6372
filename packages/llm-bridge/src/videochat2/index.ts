export { assembleInputs, type AssembledInputs, type AssembleOptions } from './input_assembly.js';
export * from './videochat2_it_mistral.js';
