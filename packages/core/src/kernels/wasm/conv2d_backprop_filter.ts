import * as tf from '@tensorflow/tfjs-core';

/**
 * Conv2DBackpropFilter (the filter gradient of `conv2d`) on the wasm backend, which lacks it; PatchConv3d needs it
 * to train its patch embedding. One matrix product per filter tap on XNNPACK: dW[i, j] = x_tapᵀ · dy over the
 * B·OH·OW output positions, where x_tap is the strided view of the padded input under tap (i, j). tfjs's
 * Conv3DBackpropFilterV2 over a depth of one would also do, but on wasm it returned wrong values once the heap
 * had been used by other kernels. tfjs's conv2d gradient never asks for dilations above 1.
 */
export function conv2dBackpropFilterWasm({ inputs, attrs }: { inputs: tf.NamedTensorMap; attrs: Record<string, unknown> }): tf.Tensor {
  let { x, dy } = inputs as { x: tf.Tensor4D; dy: tf.Tensor4D };
  const filterShape = attrs.filterShape as [number, number, number, number];
  if (((attrs.dataFormat as string | undefined) ?? 'NHWC') === 'NCHW') {
    x = tf.transpose(x, [0, 2, 3, 1]);
    dy = tf.transpose(dy, [0, 2, 3, 1]);
  }
  const info = tf.backend_util.computeConv2DInfo(
    x.shape, filterShape, attrs.strides as [number, number], 1, attrs.pad as 'same', attrs.dimRoundingMode as 'floor' | undefined,
  );
  const { top, bottom, left, right } = info.padInfo;
  const xp = top || bottom || left || right ? tf.pad(x, [[0, 0], [Math.max(top, 0), Math.max(bottom, 0)], [Math.max(left, 0), Math.max(right, 0)], [0, 0]]) : x;
  const [kh, kw, cin, cout] = filterShape;
  const { batchSize: b, outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw } = info;
  const m = b * oh * ow;
  const dy2 = tf.reshape(dy, [m, cout]);
  const taps: tf.Tensor[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const tap = tf.stridedSlice(xp, [0, i, j, 0], [b, i + (oh - 1) * sh + 1, j + (ow - 1) * sw + 1, cin], [1, sh, sw, 1]);
      taps.push(tf.matMul(tf.reshape(tap, [m, cin]), dy2, true, false));
    }
  }
  return tf.reshape(tf.stack(taps), filterShape);
}
