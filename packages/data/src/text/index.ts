export { preText, keepCaption } from './utils.js';
