import { CheckpointFormatError, UnsafePickleError } from './errors.js';

/** A storage named by a persistent id: `('storage', torch.FloatStorage, key, location, numel)`. */
export interface StorageRef {
  kind: 'storage';
  storageType: string;
  key: string;
  numel: number;
  /** Legacy-format storage views: where the view starts inside storage `key`, in elements. */
  elementOffset?: number;
}

/** What `torch._utils._rebuild_tensor_v2` would build, kept as a description. */
export interface TensorRef {
  kind: 'tensor';
  storage: StorageRef;
  offset: number;
  shape: number[];
  stride: number[];
}

/** An instance of an allowed but unused class (argparse.Namespace, …): its state is kept as data, never run. */
export interface OpaqueObject {
  kind: 'opaque';
  className: string;
  args: unknown[];
  state?: unknown;
}

/** Globals a PyTorch checkpoint needs to rebuild tensors and containers. */
const REBUILD = new Set([
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_tensor',
  'torch._utils._rebuild_parameter',
  'torch._utils._rebuild_parameter_with_state',
  'collections.OrderedDict',
]);
const STORAGE = /^torch\.(Float|Double|Half|BFloat16|Long|Int|Short|Char|Byte|Bool)Storage$/;
/** Configuration objects that official checkpoints carry beside the weights; kept opaque. */
export const INERT_GLOBALS: ReadonlySet<string> = new Set([
  'argparse.Namespace',
  'torch.Size',
  'torch.device',
  'numpy.core.multiarray.scalar',
  'numpy.dtype',
  'numpy.core.multiarray._reconstruct',
  'numpy.ndarray',
  // numpy scalars pickled with protocol 2 carry their bytes through _codecs.encode; never called here.
  '_codecs.encode',
]);

export interface UnpickleOptions {
  /**
   * More classes to keep as inert placeholders (e.g. a training script's config class saved beside the weights):
   * they are never imported or called; their arguments and state are kept as data.
   */
  inertGlobals?: Iterable<string>;
}

interface Global {
  kind: 'global';
  name: string;
}

/** The bytes end before the pickle's STOP: a caller reading a window of a file may retry with a larger one. */
export class PickleTruncatedError extends CheckpointFormatError {}

/**
 * A pickle reader that builds only dicts, lists, tuples, scalars, tensor descriptions and opaque placeholders.
 * Any other global (os.system, builtins.eval, subprocess.Popen, …) raises {@link UnsafePickleError} naming it.
 */
export function unpickle(bytes: Uint8Array, file: string, persistentLoad: (pid: unknown) => unknown, opts: UnpickleOptions = {}): unknown {
  return unpickleAt(bytes, 0, file, persistentLoad, opts).value;
}

/**
 * Reads one pickle starting at byte `start` (legacy torch.save files are several pickles back to back); `end` is the
 * byte after its STOP. Byte offsets in errors count from the start of `bytes`.
 */
export function unpickleAt(
  bytes: Uint8Array,
  start: number,
  file: string,
  persistentLoad: (pid: unknown) => unknown,
  opts: UnpickleOptions = {},
): { value: unknown; end: number } {
  const extra = new Set(opts.inertGlobals ?? []);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const td = new TextDecoder();
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  let p = start;
  const need = (n: number) => {
    if (p + n > bytes.byteLength) throw new PickleTruncatedError(`pickle truncated at byte ${p}`, file);
  };
  const u8 = () => (need(1), bytes[p++]);
  const u16 = () => (need(2), (p += 2), v.getUint16(p - 2, true));
  const u32 = () => (need(4), (p += 4), v.getUint32(p - 4, true));
  const str = (n: number) => (need(n), (p += n), td.decode(bytes.subarray(p - n, p)));
  const line = () => {
    const end = bytes.indexOf(0x0a, p);
    if (end < 0) throw new PickleTruncatedError(`pickle truncated at byte ${p}`, file);
    const s = td.decode(bytes.subarray(p, end));
    p = end + 1;
    return s;
  };
  const popMark = (): unknown[] => {
    const m = marks.pop();
    if (m === undefined) throw new CheckpointFormatError(`pickle MARK missing at byte ${p}`, file);
    return stack.splice(m);
  };
  const resolveGlobal = (name: string, at: number): Global => {
    if (REBUILD.has(name) || STORAGE.test(name) || INERT_GLOBALS.has(name) || extra.has(name)) return { kind: 'global', name };
    throw new UnsafePickleError(file, name, at);
  };
  const call = (fn: unknown, args: unknown[], at: number): unknown => {
    if (!fn || (fn as Global).kind !== 'global') throw new CheckpointFormatError(`pickle calls a non-global at byte ${at}`, file);
    const name = (fn as Global).name;
    if (name === 'collections.OrderedDict') return new Map();
    if (name === 'torch._utils._rebuild_tensor_v2' || name === 'torch._utils._rebuild_tensor') {
      const [storage, offset, size, stride] = args as [StorageRef, number, number[], number[]];
      return { kind: 'tensor', storage, offset, shape: [...size], stride: [...stride] } satisfies TensorRef;
    }
    if (name === 'torch._utils._rebuild_parameter' || name === 'torch._utils._rebuild_parameter_with_state') return args[0];
    return { kind: 'opaque', className: name, args } satisfies OpaqueObject;
  };
  const setItem = (d: unknown, k: unknown, val: unknown) => {
    if (d instanceof Map) d.set(k, val);
    else if (d && typeof d === 'object' && !Array.isArray(d)) (d as Record<string, unknown>)[String(k)] = val;
    else throw new CheckpointFormatError(`pickle sets an item on a non-dict at byte ${p}`, file);
  };
  for (;;) {
    const at = p;
    const op = u8();
    switch (op) {
      case 0x80: u8(); break; // PROTO
      case 0x95: p += 8; break; // FRAME
      case 0x2e: return { value: stack.pop(), end: p }; // STOP
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x29: stack.push([]); break; // EMPTY_TUPLE
      case 0x8f: stack.push([]); break; // EMPTY_SET
      case 0x28: marks.push(stack.length); break; // MARK
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x4a: need(4); stack.push(v.getInt32(p, true)); p += 4; break; // BININT
      case 0x8a: { // LONG1
        const n = u8();
        need(n);
        let x = 0n;
        for (let i = n - 1; i >= 0; i--) x = (x << 8n) | BigInt(bytes[p + i]);
        if (n && bytes[p + n - 1] & 0x80) x -= 1n << BigInt(8 * n);
        p += n;
        // Beyond 2^53 (the legacy format's magic number) the exact value is kept as a bigint.
        stack.push(x >= BigInt(Number.MIN_SAFE_INTEGER) && x <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(x) : x);
        break;
      }
      case 0x47: need(8); stack.push(v.getFloat64(p, false)); p += 8; break; // BINFLOAT
      case 0x58: stack.push(str(u32())); break; // BINUNICODE
      case 0x8c: stack.push(str(u8())); break; // SHORT_BINUNICODE
      case 0x8d: { need(8); const n = Number(v.getBigUint64(p, true)); p += 8; stack.push(str(n)); break; } // BINUNICODE8
      case 0x43: { const n = u8(); need(n); stack.push(bytes.slice(p, p + n)); p += n; break; } // SHORT_BINBYTES
      case 0x42: { const n = u32(); need(n); stack.push(bytes.slice(p, p + n)); p += n; break; } // BINBYTES
      case 0x55: { const n = u8(); stack.push(str(n)); break; } // SHORT_BINSTRING
      case 0x54: { const n = u32(); stack.push(str(n)); break; } // BINSTRING
      case 0x85: stack.push([stack.pop()]); break; // TUPLE1
      case 0x86: { const b = stack.pop(); const a = stack.pop(); stack.push([a, b]); break; } // TUPLE2
      case 0x87: { const c = stack.pop(); const b = stack.pop(); const a = stack.pop(); stack.push([a, b, c]); break; } // TUPLE3
      case 0x74: stack.push(popMark()); break; // TUPLE
      case 0x6c: stack.push(popMark()); break; // LIST
      case 0x91: stack.push(popMark()); break; // FROZENSET
      case 0x64: { const items = popMark(); const d = new Map(); for (let i = 0; i < items.length; i += 2) d.set(items[i], items[i + 1]); stack.push(d); break; } // DICT
      case 0x61: { const x = stack.pop(); (stack[stack.length - 1] as unknown[]).push(x); break; } // APPEND
      case 0x65: { const items = popMark(); (stack[stack.length - 1] as unknown[]).push(...items); break; } // APPENDS
      case 0x90: { const items = popMark(); (stack[stack.length - 1] as unknown[]).push(...items); break; } // ADDITEMS
      case 0x73: { const val = stack.pop(); const k = stack.pop(); setItem(stack[stack.length - 1], k, val); break; } // SETITEM
      case 0x75: { const items = popMark(); const d = stack[stack.length - 1]; for (let i = 0; i < items.length; i += 2) setItem(d, items[i], items[i + 1]); break; } // SETITEMS
      case 0x63: { const mod = line(); const name = line(); stack.push(resolveGlobal(`${mod}.${name}`, at)); break; } // GLOBAL
      case 0x93: { const name = stack.pop() as string; const mod = stack.pop() as string; stack.push(resolveGlobal(`${mod}.${name}`, at)); break; } // STACK_GLOBAL
      case 0x69: { const mod = line(); const name = line(); const g = resolveGlobal(`${mod}.${name}`, at); stack.push(call(g, popMark(), at)); break; } // INST
      case 0x6f: { const items = popMark(); stack.push(call(items[0], items.slice(1), at)); break; } // OBJ
      case 0x52: { const args = stack.pop() as unknown[]; const fn = stack.pop(); stack.push(call(fn, args, at)); break; } // REDUCE
      case 0x81: { const args = stack.pop() as unknown[]; const cls = stack.pop(); stack.push(call(cls, args, at)); break; } // NEWOBJ
      case 0x62: { // BUILD
        const state = stack.pop();
        const obj = stack[stack.length - 1] as OpaqueObject | Map<unknown, unknown>;
        if (obj && (obj as OpaqueObject).kind === 'opaque') (obj as OpaqueObject).state = state;
        break; // tensors' BUILD states (backward hooks) and OrderedDict metadata are ignored
      }
      case 0x51: stack.push(persistentLoad(stack.pop())); break; // BINPERSID
      case 0x71: memo.set(u8(), stack[stack.length - 1]); break; // BINPUT
      case 0x72: memo.set(u32(), stack[stack.length - 1]); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, stack[stack.length - 1]); break; // MEMOIZE
      case 0x68: stack.push(memo.get(u8())); break; // BINGET
      case 0x6a: stack.push(memo.get(u32())); break; // LONG_BINGET
      case 0x30: stack.pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: stack.push(stack[stack.length - 1]); break; // DUP
      default:
        throw new CheckpointFormatError(`unsupported pickle opcode 0x${op.toString(16)} at byte ${at}`, file);
    }
  }
}
