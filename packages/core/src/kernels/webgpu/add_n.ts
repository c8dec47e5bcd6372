import * as tf from '@tensorflow/tfjs-core';

type AddNArgs = { inputs: tf.TensorInfo[]; backend: { device: { limits: { maxStorageBuffersPerShaderStage: number } }; disposeData(id: object): void }; attrs: object };
let installed = false;

/**
 * tfjs-backend-webgpu 4.22 compiles `addN` of any number of inputs into one shader, whose storage buffers a device's
 * `maxStorageBuffersPerShaderStage` bounds (8 by default): past 7 inputs the pipeline is invalid and the sum comes
 * back as zeros without an error. Gradient clipping sums one squared norm per parameter that way, so every training
 * step on WebGPU clipped with a wrong norm. This wraps the kernel to sum in chunks that fit.
 */
export function installWebGPUAddN(): void {
  if (installed) return;
  const k = tf.getKernel('AddN', 'webgpu');
  if (!k) return;
  const addN = k.kernelFunc as unknown as (a: AddNArgs) => tf.TensorInfo;
  const kernelFunc = (a: AddNArgs): tf.TensorInfo => {
    const max = Math.max(2, a.backend.device.limits.maxStorageBuffersPerShaderStage - 1);
    let parts = Array.from(a.inputs);
    const temps: tf.TensorInfo[] = [];
    while (parts.length > max) {
      const next: tf.TensorInfo[] = [];
      for (let i = 0; i < parts.length; i += max) {
        const chunk = parts.slice(i, i + max);
        if (chunk.length === 1) next.push(chunk[0]);
        else {
          const s = addN({ ...a, inputs: chunk });
          temps.push(s);
          next.push(s);
        }
      }
      parts = next;
    }
    const out = addN({ ...a, inputs: parts });
    for (const t of temps) a.backend.disposeData(t.dataId);
    return out;
  };
  tf.unregisterKernel('AddN', 'webgpu');
  tf.registerKernel({ ...k, kernelFunc: kernelFunc as never });
  installed = true;
}
