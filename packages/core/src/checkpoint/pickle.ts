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
  /**
   * A tensor whose description cannot be built (a size that is not a list of counts, a storage that is not one, …)
   * fails the whole read unless this is set; then it is kept as a {@link BrokenTensor} and reported by name.
   */
  lenient?: boolean;
}

/** A tensor the pickle describes but that cannot be built; kept only in lenient reads, to be reported by name. */
export interface BrokenTensor {
  kind: 'broken-tensor';
  reason: string;
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
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  let p = start;
  let at = start;
  const fail = (msg: string): never => {
    throw new CheckpointFormatError(`${msg} (opcode at byte ${at})`, file);
  };
  const need = (n: number) => {
    if (!(p + n <= bytes.byteLength)) throw new PickleTruncatedError(`pickle truncated at byte ${p}`, file);
  };
  const u8 = () => (need(1), bytes[p++]);
  const u16 = () => (need(2), (p += 2), v.getUint16(p - 2, true));
  const u32 = () => (need(4), (p += 4), v.getUint32(p - 4, true));
  const str = (n: number) => {
    need(n);
    p += n;
    try {
      return utf8.decode(bytes.subarray(p - n, p));
    } catch {
      return fail('string is not valid UTF-8');
    }
  };
  const line = () => {
    const end = bytes.indexOf(0x0a, p);
    if (end < 0) throw new PickleTruncatedError(`pickle truncated at byte ${p}`, file);
    const n = end - p;
    const s = str(n);
    p = end + 1;
    return s;
  };
  // Items below the newest MARK belong to an enclosing construct: popping into them is a stack underflow, as in
  // CPython's unpickler.
  const fence = () => (marks.length ? marks[marks.length - 1] : 0);
  const pop = (): unknown => {
    if (stack.length <= fence()) fail('pickle stack underflow');
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length <= fence()) fail('pickle stack underflow');
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const m = marks.pop();
    if (m === undefined) fail('pickle MARK missing');
    return stack.splice(m!);
  };
  const tuple = (items: unknown[]) => Object.freeze(items);
  const isTuple = (x: unknown): x is readonly unknown[] => Array.isArray(x) && Object.isFrozen(x);
  const isList = (x: unknown): x is unknown[] => Array.isArray(x) && !Object.isFrozen(x);
  const resolveGlobal = (mod: unknown, name: unknown): Global => {
    if (typeof mod !== 'string' || typeof name !== 'string') return fail('global named by something that is not a string');
    const full = `${mod}.${name}`;
    if (REBUILD.has(full) || STORAGE.test(full) || INERT_GLOBALS.has(full) || extra.has(full)) return { kind: 'global', name: full };
    throw new UnsafePickleError(file, full, at);
  };
  /** A tensor that cannot be built: the read fails, or (lenient) the tensor is kept aside to be reported. */
  const broken = (reason: string): BrokenTensor => {
    if (!opts.lenient) fail(`tensor cannot be built: ${reason}`);
    return { kind: 'broken-tensor', reason: `${reason} (opcode at byte ${at})` };
  };
  const counts = (x: unknown): number[] | null => {
    // torch.Size(...) arrives as an inert object holding its tuple.
    const list = x && (x as OpaqueObject).kind === 'opaque' && (x as OpaqueObject).className === 'torch.Size' ? (x as OpaqueObject).args[0] : x;
    if (!Array.isArray(list) || !list.every((n) => Number.isSafeInteger(n) && n >= 0)) return null;
    return [...list] as number[];
  };
  const rebuildTensor = (args: readonly unknown[]): TensorRef | BrokenTensor => {
    if (args.length < 4) return broken(`_rebuild_tensor takes (storage, offset, size, stride), got ${args.length} arguments`);
    const [storage, offset, size, stride] = args;
    if (!storage || (storage as StorageRef).kind !== 'storage') return broken('its storage is not a storage');
    if (!Number.isSafeInteger(offset) || (offset as number) < 0) return broken(`storage offset ${describe(offset)} is not a count`);
    const shape = counts(size);
    if (!shape) return broken(`size ${describe(size)} is not a list of counts`);
    const strides = counts(stride);
    if (!strides || strides.length !== shape.length) return broken(`stride ${describe(stride)} is not a list of ${shape.length} counts`);
    return { kind: 'tensor', storage: storage as StorageRef, offset: offset as number, shape, stride: strides };
  };
  const call = (fn: unknown, args: unknown): unknown => {
    if (!fn || (fn as Global).kind !== 'global') return fail('pickle calls something that is not an allowed global');
    if (!isTuple(args)) return fail('call arguments are not a tuple');
    const name = (fn as Global).name;
    if (name === 'collections.OrderedDict') {
      // torch.save writes OrderedDict() and then SETITEMS; arguments would be items this reader does not build.
      if (args.length) return fail(`collections.OrderedDict called with ${args.length} argument(s)`);
      return new Map();
    }
    if (name === 'torch._utils._rebuild_tensor_v2' || name === 'torch._utils._rebuild_tensor') return rebuildTensor(args);
    if (name === 'torch._utils._rebuild_parameter' || name === 'torch._utils._rebuild_parameter_with_state') {
      const t = args[0] as TensorRef | BrokenTensor | undefined;
      if (t && (t.kind === 'tensor' || t.kind === 'broken-tensor')) return t;
      return broken('a Parameter built from something that is not a tensor');
    }
    return { kind: 'opaque', className: name, args: [...args] } satisfies OpaqueObject;
  };
  const setItems = (d: unknown, items: unknown[]) => {
    if (!(d instanceof Map)) return fail('pickle sets items on something that is not a dict');
    if (items.length % 2) return fail('odd number of items for a dict');
    for (let i = 0; i < items.length; i += 2) d.set(items[i], items[i + 1]);
  };
  const appendTo = (list: unknown, items: unknown[]) => {
    if (!isList(list)) return fail('pickle appends to something that is not a list');
    list.push(...items);
  };
  for (;;) {
    at = p;
    const op = u8();
    switch (op) {
      case 0x80: { const proto = u8(); if (proto > 5) fail(`unsupported pickle protocol ${proto}`); break; } // PROTO
      case 0x95: need(8); p += 8; break; // FRAME
      case 0x2e: return { value: pop(), end: p }; // STOP
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x29: stack.push(tuple([])); break; // EMPTY_TUPLE
      case 0x8f: stack.push(new Set()); break; // EMPTY_SET
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
      case 0x54: { const n = v.getInt32((need(4), (p += 4) - 4), true); if (n < 0) fail('negative byte count'); stack.push(str(n)); break; } // BINSTRING
      case 0x85: stack.push(tuple([pop()])); break; // TUPLE1
      case 0x86: { const b = pop(); const a = pop(); stack.push(tuple([a, b])); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); const a = pop(); stack.push(tuple([a, b, c])); break; } // TUPLE3
      case 0x74: stack.push(tuple(popMark())); break; // TUPLE
      case 0x6c: stack.push(popMark()); break; // LIST
      case 0x91: stack.push(tuple(popMark())); break; // FROZENSET (kept as its items)
      case 0x64: { const d = new Map(); setItems(d, popMark()); stack.push(d); break; } // DICT
      case 0x61: { const x = pop(); appendTo(top(), [x]); break; } // APPEND
      case 0x65: { const items = popMark(); appendTo(top(), items); break; } // APPENDS
      case 0x90: { // ADDITEMS
        const items = popMark();
        const set = top();
        if (!(set instanceof Set)) fail('pickle adds items to something that is not a set');
        for (const x of items) (set as Set<unknown>).add(x);
        break;
      }
      case 0x73: { const val = pop(); const k = pop(); setItems(top(), [k, val]); break; } // SETITEM
      case 0x75: { const items = popMark(); setItems(top(), items); break; } // SETITEMS
      case 0x63: { const mod = line(); const name = line(); stack.push(resolveGlobal(mod, name)); break; } // GLOBAL
      case 0x93: { const name = pop(); const mod = pop(); stack.push(resolveGlobal(mod, name)); break; } // STACK_GLOBAL
      case 0x69: { const mod = line(); const name = line(); const g = resolveGlobal(mod, name); stack.push(call(g, tuple(popMark()))); break; } // INST
      case 0x6f: { const items = popMark(); if (!items.length) fail('OBJ without a class'); stack.push(call(items[0], tuple(items.slice(1)))); break; } // OBJ
      case 0x52: { const args = pop(); const fn = pop(); stack.push(call(fn, args)); break; } // REDUCE
      case 0x81: { const args = pop(); const cls = pop(); stack.push(call(cls, args)); break; } // NEWOBJ
      case 0x62: { // BUILD
        const state = pop();
        const obj = top() as OpaqueObject | TensorRef | BrokenTensor | Map<unknown, unknown>;
        if (obj instanceof Map) break; // an OrderedDict's attributes (the state dict's _metadata): not needed
        const kind = obj && typeof obj === 'object' ? (obj as { kind?: unknown }).kind : undefined;
        if (kind === 'opaque') (obj as OpaqueObject).state = state;
        else if (kind !== 'tensor' && kind !== 'broken-tensor') fail('BUILD on an object that takes no state'); // tensors' backward hooks are ignored
        break;
      }
      case 0x51: stack.push(persistentLoad(pop())); break; // BINPERSID
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x68: case 0x6a: { // BINGET, LONG_BINGET
        const i = op === 0x68 ? u8() : u32();
        if (!memo.has(i)) fail(`memo entry ${i} was never stored`);
        stack.push(memo.get(i));
        break;
      }
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: stack.push(top()); break; // DUP
      default:
        fail(`unsupported pickle opcode 0x${op.toString(16)}`);
    }
  }
}

function describe(x: unknown): string {
  try {
    const s = JSON.stringify(x, (_, v) => (typeof v === 'bigint' ? String(v) : v instanceof Map ? '<dict>' : v));
    return s === undefined ? String(x) : s.length > 60 ? `${s.slice(0, 60)}…` : s;
  } catch {
    return String(x);
  }
}
