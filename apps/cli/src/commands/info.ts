import { defineCommand } from 'citty';
import * as tf from '@tensorflow/tfjs-core';

export const info = defineCommand({
  meta: { name: 'info', description: 'Print the runtime and the TensorFlow.js backend iv2 would use' },
  args: {
    backend: { type: 'string', description: 'auto | cpu | wasm | webgpu | tensorflow', default: 'auto' },
    json: { type: 'boolean', description: 'Print JSON', default: false },
  },
  async run({ args }) {
    const report = {
      node: process.versions.node,
      platform: `${process.platform}-${process.arch}`,
      tfjs: tf.version_core,
      backend: args.backend,
    };
    if (args.json) console.log(JSON.stringify(report, null, 2));
    else for (const [k, v] of Object.entries(report)) console.log(`${k.padEnd(10)} ${v}`);
  },
});
