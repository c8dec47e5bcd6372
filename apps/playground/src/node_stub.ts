// Node built-ins imported by code the page never runs (the synthetic generator's ffmpeg encoder and file writer):
// the build resolves them here so that the bundle loads in a browser.
const unavailable = (name: string) => () => {
  throw new Error(`${name} is not available in the browser`);
};
export const mkdir = unavailable('fs.mkdir');
export const writeFile = unavailable('fs.writeFile');
export const join = (...parts: string[]) => parts.join('/');
export const spawn = unavailable('child_process.spawn');
export const spawnSync = unavailable('child_process.spawnSync');
export const createRequire = unavailable('module.createRequire');
export default {};
