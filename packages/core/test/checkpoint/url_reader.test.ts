import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { CheckpointFormatError, openCheckpoint, serializeSafetensors } from '../../src/index.js';

// Four 1 MiB tensors: reading one of them must not fetch the others.
const N = 1 << 18;
const tensors = Object.fromEntries(
  ['a', 'b', 'c', 'd'].map((k, i) => [k, { dtype: 'float32' as const, shape: [N], data: new Float32Array(N).fill(i + 0.5) }]),
);
const files: Record<string, Uint8Array> = {
  '/model.safetensors': serializeSafetensors(tensors),
  '/torch_state.pth': readFileSync(fileURLToPath(new URL('../golden/torch_state.pth', import.meta.url))),
};
let served = 0;
let server: Server;
let base = '';

beforeAll(async () => {
  server = createServer((req, res) => {
    const path = (req.url ?? '').replace(/^\/norange/, '');
    const body = files[path];
    if (!body) return void res.writeHead(404).end();
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    if (!m || req.url!.startsWith('/norange')) {
      served += body.byteLength;
      return void res.writeHead(200, { 'Content-Length': body.byteLength }).end(body);
    }
    const [a, b] = [Number(m[1]), Math.min(Number(m[2]), body.byteLength - 1)];
    served += b - a + 1;
    res.writeHead(206, { 'Content-Range': `bytes ${a}-${b}/${body.byteLength}`, 'Content-Length': b - a + 1 }).end(body.subarray(a, b + 1));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

test('a URL is read with range requests, tensor by tensor', async () => {
  served = 0;
  const ck = await openCheckpoint(`${base}/model.safetensors`);
  expect(ck.keys().sort()).toEqual(['a', 'b', 'c', 'd']);
  const c = await ck.get('c');
  expect(c.data[0]).toBe(2.5);
  expect(c.data[N - 1]).toBe(2.5);
  // One tensor plus the header, not the whole 4 MiB file.
  expect(served).toBeLessThan(N * 4 + 4096);
  expect(served).toBeGreaterThanOrEqual(N * 4);
  await ck.close();
});

test('a PyTorch zip checkpoint is read over HTTP ranges too', async () => {
  const ck = await openCheckpoint(`${base}/torch_state.pth`);
  expect(ck.keys()).toContain('pos_embed');
  expect((await ck.get('steps')).data).toEqual(new Int32Array([3, -7, 2 ** 31 - 1]));
});

test('a server without range support is read whole; a missing file is a typed error naming the URL', async () => {
  served = 0;
  const ck = await openCheckpoint(`${base}/norange/model.safetensors`);
  expect((await ck.get('d')).data[7]).toBe(3.5);
  expect(served).toBe(files['/model.safetensors'].byteLength);
  const err = await openCheckpoint(`${base}/missing.safetensors`).catch((e) => e);
  expect(err).toBeInstanceOf(CheckpointFormatError);
  expect(err.message).toContain(`${base}/missing.safetensors: HTTP 404`);
});
