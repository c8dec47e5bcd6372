// `node --import ./ts_register.mjs`: installs ts_loader.mjs.
import { register } from 'node:module';

register('./ts_loader.mjs', import.meta.url);
