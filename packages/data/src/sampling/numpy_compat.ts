/** The few numpy behaviours the official samplers rely on, reproduced bit for bit in float64. */

/** `np.linspace(start, stop, num)` (endpoint=True): `i * step + start`, last element forced to `stop`. */
export function linspace(start: number, stop: number, num: number): number[] {
  const div = num - 1;
  const out: number[] = [];
  if (num <= 0) return out;
  if (div === 0) return [start];
  const delta = stop - start;
  const step = delta / div;
  for (let i = 0; i < num; i++) out.push(step === 0 ? (i / div) * delta + start : i * step + start);
  out[num - 1] = stop;
  return out;
}

/** `np.arange(start, stop, step)` for floats: length ⌈(stop−start)/step⌉, values `start + i·(start+step−start)`. */
export function arange(start: number, stop: number, step: number): number[] {
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const delta = start + step - start;
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(start + i * delta);
  return out;
}

/** `np.around` / Python 3 `round`: round half to even. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  // Math.round rounds .5 up; correct the ties that land on an odd integer.
  if (Math.abs(x % 1) === 0.5 && r % 2 !== 0) return r - 1;
  return r;
}

/** `.astype(int)` on floats: truncation toward zero. */
export function truncInt(x: number): number {
  return Math.trunc(x);
}
