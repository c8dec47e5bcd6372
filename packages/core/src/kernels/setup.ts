import { registerGradients } from '../gradients/register.js';
import { registerKernels } from './register.js';

// Imported by every op that runs an iv2 kernel, so using an op is enough to have its kernels and gradients.
registerKernels();
registerGradients();
