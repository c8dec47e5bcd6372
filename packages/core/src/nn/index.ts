export type { NamedParameter } from './parameter.js';
