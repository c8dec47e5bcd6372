// The conformance runner: the same code runs in Node (test/conformance/conformance.test.ts) and in headless
// Chromium (apps/playground/test/conformance.browser.test.ts, which evaluates this file's text in the page), so it
// is self-contained plain JavaScript that receives tfjs and @iv2/core as arguments.

/**
 * Runs every case of cases.json on the current backend. For each case: the op's output against the float64
 * reference, the vector-Jacobian product with the case's `dy` against PyTorch's float64 autograd, and the tensor
 * count before and after. Errors are max |Δ| / max(1, |ref|).
 */
export async function runConformance(tf, core, cases) {
  const call = (op, t, a) => {
    switch (op) {
      case 'rmsNorm': return core.rmsNorm(t.x, t.weight, a.eps);
      case 'layerNorm': return core.layerNorm(t.x, t.weight, t.bias, a.eps);
      case 'gelu': return core.gelu(t.x, a.approximate);
      case 'linear': return core.linear(t.x, t.weight, t.bias);
      case 'attention': return core.attention(t.q, t.k, t.v, { scale: a.scale, mask: t.mask, causal: a.causal });
      case 'l2Normalize': return core.l2Normalize(t.x, a.axis, a.eps);
      case 'softCrossEntropy': return core.softCrossEntropy(t.logits, t.targets);
      case 'gatherTokens': return core.gatherTokens(t.x, t.index);
      case 'scatterTokens': return core.scatterTokens(t.updates, t.index, a.n);
      case 'interpolateLinear1d': return core.interpolateLinear1d(t.x, a.size, a.axis);
      case 'interpolateBicubic2d': return core.interpolateBicubic2d(t.x, a.size);
      // tfjs's own conv2d, as PatchConv3d runs it: its filter gradient is a kernel iv2 adds on wasm.
      case 'conv2d': return tf.conv2d(t.x, t.filter, a.strides, a.pad);
      default: throw new Error(`no op '${op}'`);
    }
  };
  const relErr = (got, ref) => {
    let m = 0;
    for (let i = 0; i < ref.length; i++) m = Math.max(m, Math.abs(got[i] - ref[i]) / Math.max(1, Math.abs(ref[i])));
    return got.length === ref.length ? m : Infinity;
  };
  const results = [];
  for (const c of cases) {
    const r = { name: c.name, op: c.op, tol: c.tol, outErr: NaN, gradErr: {}, leaked: 0, error: null, failures: [] };
    const before = tf.memory().numTensors;
    try {
      const ins = {};
      for (const [k, v] of Object.entries(c.inputs)) ins[k] = tf.tensor(v.data, v.shape, v.dtype);
      const out = call(c.op, ins, c.attrs);
      if (out.shape.join() !== c.output.shape.join()) throw new Error(`output shape [${out.shape}] vs [${c.output.shape}]`);
      r.outErr = relErr(await out.data(), c.output.data);
      out.dispose();
      const keys = Object.keys(c.grads);
      if (keys.length) {
        const dy = tf.tensor(c.dy.data, c.dy.shape);
        const f = (...xs) => {
          const t = { ...ins };
          keys.forEach((k, i) => (t[k] = xs[i]));
          return call(c.op, t, c.attrs);
        };
        const gs = tf.grads(f)(keys.map((k) => ins[k]), dy);
        for (let i = 0; i < keys.length; i++) {
          r.gradErr[keys[i]] = relErr(await gs[i].data(), c.grads[keys[i]].data);
        }
        tf.dispose([dy, ...gs]);
      }
      tf.dispose(Object.values(ins));
    } catch (e) {
      r.error = String(e && e.message ? e.message : e);
    }
    r.leaked = tf.memory().numTensors - before;
    // Everything a test asserts, as readable lines: an empty list means the case passed.
    r.failures = [
      ...(r.error ? [`error: ${r.error}`] : []),
      ...(!(r.outErr <= c.tol) ? [`output error ${r.outErr} > ${c.tol}`] : []),
      ...Object.entries(r.gradErr).filter(([, e]) => !(e <= c.tol)).map(([k, e]) => `d/d${k} error ${e} > ${c.tol}`),
      ...(r.leaked ? [`${r.leaked} tensor(s) leaked by forward + backward`] : []),
    ];
    results.push(r);
  }
  return results;
}
