import { closeSync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { maskedCrc32c } from './crc32c.js';

// Hand-encoded protobuf for the two messages TensorBoard needs (tensorflow/core/util/event.proto,
// tensorflow/core/framework/summary.proto):
//   Event   { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }
//   Summary { repeated Value value = 1; }   Value { string tag = 1; float simple_value = 2; }

class ProtoWriter {
  private parts: number[] = [];

  varint(v: number | bigint): this {
    let x = BigInt.asUintN(64, BigInt(v));
    while (x >= 0x80n) {
      this.parts.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.parts.push(Number(x));
    return this;
  }

  tag(field: number, wire: number): this {
    return this.varint((field << 3) | wire);
  }

  double(field: number, v: number): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v, true);
    this.tag(field, 1).parts.push(...b);
    return this;
  }

  float(field: number, v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.tag(field, 5).parts.push(...b);
    return this;
  }

  bytes(field: number, b: Uint8Array): this {
    this.tag(field, 2).varint(b.length).parts.push(...b);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

/** One serialized `Event`: a file-version record when `fileVersion` is given, else scalar summaries. */
export function encodeEvent(e: { wallTime: number; step?: number; fileVersion?: string; scalars?: Record<string, number> }): Uint8Array {
  const w = new ProtoWriter().double(1, e.wallTime);
  if (e.step !== undefined && e.step !== 0) w.tag(2, 0).varint(e.step);
  if (e.fileVersion !== undefined) w.string(3, e.fileVersion);
  if (e.scalars) {
    const summary = new ProtoWriter();
    for (const [tag, v] of Object.entries(e.scalars)) summary.bytes(1, new ProtoWriter().string(1, tag).float(2, v).finish());
    w.bytes(5, summary.finish());
  }
  return w.finish();
}

/** TFRecord framing: u64 length, masked CRC32C of the length bytes, data, masked CRC32C of the data (all LE). */
export function frameRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + 4 + data.length + 4);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(data.length), true);
  dv.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  dv.setUint32(12 + data.length, maskedCrc32c(data), true);
  return out;
}

/**
 * Writes TensorBoard event files (`events.out.tfevents.<time>.<host>`) with scalar summaries, so that
 * `tensorboard --logdir <dir>` shows the run. Records are appended and flushed as they come; a resumed run opens a
 * new file in the same folder and TensorBoard merges them by step.
 */
export class TensorBoardWriter {
  readonly file: string;
  private fd: number;

  constructor(logdir: string, opts: { now?: () => number } = {}) {
    mkdirSync(logdir, { recursive: true });
    const now = opts.now ?? (() => Date.now() / 1000);
    this.now = now;
    const t = now();
    this.file = join(logdir, `events.out.tfevents.${Math.floor(t)}.${hostname()}.${process.pid}`);
    this.fd = openSync(this.file, 'a');
    this.write(encodeEvent({ wallTime: t, fileVersion: 'brain.Event:2' }));
  }

  private readonly now: () => number;

  private write(event: Uint8Array): void {
    writeSync(this.fd, frameRecord(event));
  }

  /** Scalars of one step, e.g. `{ 'loss/total': 1.2, 'lr': 1e-4 }`; non-finite values are written as they are. */
  scalars(step: number, values: Record<string, number>): void {
    this.write(encodeEvent({ wallTime: this.now(), step, scalars: values }));
  }

  flush(): void {
    fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd < 0) return;
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = -1;
  }
}
