export { registerGradients, GRADIENTS } from './register.js';
