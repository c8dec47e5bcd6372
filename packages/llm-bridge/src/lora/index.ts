export * from './layer.js';
export * from './config.js';
export * from './peft_model.js';
export * from './save_and_load.js';
