import { Rng } from '@iv2/core';

/**
 * Interleaves per-media-type loaders like the official `MetaLoader`: every batch comes from one loader (one media
 * type per batch), and the order of loaders is a seeded shuffle of `[k] × len(loader k)`.
 */
export async function* metaLoader<T>(
  loaders: Array<{ name: string; batches: number; iterate: () => AsyncIterable<T> }>,
  seed: number,
  epoch: number,
): AsyncGenerator<{ name: string; batch: T }> {
  const order: number[] = [];
  loaders.forEach((l, k) => {
    for (let b = 0; b < l.batches; b++) order.push(k);
  });
  new Rng((seed * 0x9e3779b1 + epoch + 7) >>> 0).shuffle(order);
  const its = loaders.map((l) => l.iterate()[Symbol.asyncIterator]());
  try {
    for (const k of order) {
      const r = await its[k].next();
      if (r.done) continue;
      yield { name: loaders[k].name, batch: r.value };
    }
  } finally {
    await Promise.all(its.map((it) => it.return?.()));
  }
}
