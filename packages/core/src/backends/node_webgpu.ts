import { BackendUnavailableError } from './errors.js';

/** Debian's chromium ships this software Vulkan driver; Dawn runs on it where no GPU is present. */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

export interface NodeGpuSetup {
  /** The `GPU` object now at `navigator.gpu`. */
  gpu: { requestAdapter(): Promise<unknown> };
  /** `true` when running on the SwiftShader CPU driver. */
  software: boolean;
}

let setup: Promise<NodeGpuSetup> | null = null;

async function hasGpuDevice(): Promise<boolean> {
  const fs = await import('node:fs');
  if (fs.existsSync('/dev/nvidia0')) return true;
  try {
    return fs.readdirSync('/dev/dri').some((f) => f.startsWith('renderD'));
  } catch {
    return false;
  }
}

/**
 * Exposes Dawn (the `webgpu` package) as `navigator.gpu` in Node. On a Linux machine without a GPU device, points
 * the Vulkan loader at SwiftShader first (it reads the variable when Dawn starts, so this must come before).
 */
export function setupNodeWebGPU(): Promise<NodeGpuSetup> {
  setup ??= (async () => {
    let mod: { create(flags: string[]): GPU; globals: Record<string, unknown> }; // eslint-disable-line
    try {
      mod = (await import(/* @vite-ignore */ 'webgpu' as string)) as typeof mod;
    } catch {
      throw new BackendUnavailableError('webgpu', "install the 'webgpu' package (npm i webgpu) to use WebGPU in Node");
    }
    const fs = await import('node:fs');
    let software = false;
    const flags: string[] = [];
    if (process.platform === 'linux' && !process.env.VK_ICD_FILENAMES && !(await hasGpuDevice())) {
      if (!fs.existsSync(SWIFTSHADER_ICD)) {
        throw new BackendUnavailableError(
          'webgpu',
          `no GPU device and no software Vulkan driver: install Debian's chromium package (it ships ${SWIFTSHADER_ICD})`,
        );
      }
      process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
      software = true;
    }
    if (process.env.VK_ICD_FILENAMES?.includes('swiftshader')) software = true;
    if (process.platform === 'linux') {
      flags.push('backend=vulkan');
      if (!process.env.XDG_RUNTIME_DIR) {
        const { mkdtempSync } = fs;
        const { tmpdir } = await import('node:os');
        const { join } = await import('node:path');
        process.env.XDG_RUNTIME_DIR = mkdtempSync(join(tmpdir(), 'iv2-xdg-'));
      }
    }
    Object.assign(globalThis, mod.globals);
    const gpu = mod.create(flags);
    const g = globalThis as { navigator?: { gpu?: GPU } };
    if (!g.navigator) (globalThis as Record<string, unknown>).navigator = {};
    Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
    const adapter = await gpu.requestAdapter();
    if (!adapter) throw new BackendUnavailableError('webgpu', 'Dawn found no WebGPU adapter (check the Vulkan driver)');
    return { gpu, software };
  })();
  setup.catch(() => (setup = null));
  return setup;
}
