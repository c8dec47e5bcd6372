import { defineCommand } from 'citty';
import { type BackendName, describeBackend, initBackend } from '@iv2/core';

export const info = defineCommand({
  meta: { name: 'info', description: 'Start a TensorFlow.js backend and describe it (adapter, features, limits)' },
  args: {
    backend: { type: 'string', description: 'auto | cpu | wasm | webgpu | tensorflow', default: 'auto' },
    json: { type: 'boolean', description: 'Print JSON', default: false },
  },
  async run({ args }) {
    await initBackend(args.backend as BackendName);
    const d = await describeBackend();
    if (args.json) {
      console.log(JSON.stringify(d, null, 2));
      return;
    }
    console.log(`backend    ${d.backend}`);
    console.log(`tfjs       ${d.tfjs}`);
    console.log(`runtime    ${d.runtime}`);
    if (d.wasm) console.log(`wasm       simd=${d.wasm.simd} threads=${d.wasm.threads}`);
    if (d.adapter) {
      const a = d.adapter;
      console.log(`adapter    ${a.vendor} ${a.architecture} ${a.device || a.description}${a.isFallbackAdapter ? ' (fallback)' : ''}`);
      console.log(`features   ${d.features?.join(', ') || '(none)'}`);
      for (const [k, v] of Object.entries(d.limits ?? {})) console.log(`limit      ${k} = ${v}`);
    }
  },
});
