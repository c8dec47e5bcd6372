/**
 * The JSON that a safetensors header may hold, read as strictly as `serde_json` reads it (RFC 8259, no BOM, no
 * lone surrogates, nothing after the value) and stricter where JavaScript's `JSON.parse` would hide a difference:
 * numbers keep their source text (an integer past 2^53 is never rounded), and a repeated key is refused instead
 * of the last one silently winning.
 */

/** A number as written in the source; `text` is checked against the JSON grammar. */
export class JsonNumber {
  constructor(readonly text: string) {}
  /** The value when the text is a plain unsigned integer (`0` or `[1-9][0-9]*`), else null. */
  unsignedInteger(): bigint | null {
    return /^(0|[1-9][0-9]*)$/.test(this.text) ? BigInt(this.text) : null;
  }
}

export type JsonValue = null | boolean | string | JsonNumber | JsonValue[] | Map<string, JsonValue>;

/** Thrown with the byte-free position in the text; the caller wraps it into a checkpoint error. */
export class StrictJsonError extends Error {}

const MAX_DEPTH = 64;

export function parseStrictJson(text: string): JsonValue {
  let p = 0;
  const fail = (msg: string): never => {
    throw new StrictJsonError(`${msg} at character ${p}`);
  };
  const ws = () => {
    while (p < text.length) {
      const c = text.charCodeAt(p);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) p++;
      else break;
    }
  };
  const hex4 = (): number => {
    const h = text.slice(p, p + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(h)) fail('bad \\u escape');
    p += 4;
    return parseInt(h, 16);
  };
  const string = (): string => {
    p++; // opening quote
    let out = '';
    let run = p;
    for (;;) {
      if (p >= text.length) fail('unterminated string');
      const c = text.charCodeAt(p);
      if (c === 0x22) {
        out += text.slice(run, p);
        p++;
        return out;
      }
      if (c < 0x20) fail('control character in string');
      if (c >= 0xd800 && c <= 0xdfff) {
        // The text came from strict UTF-8 decoding, so surrogates here are always paired.
        p += 2;
        continue;
      }
      if (c !== 0x5c) {
        p++;
        continue;
      }
      out += text.slice(run, p);
      p++;
      const e = text[p++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          const u = hex4();
          if (u >= 0xdc00 && u <= 0xdfff) fail('lone trailing surrogate in \\u escape');
          if (u >= 0xd800 && u <= 0xdbff) {
            if (text.slice(p, p + 2) !== '\\u') fail('lone leading surrogate in \\u escape');
            p += 2;
            const lo = hex4();
            if (lo < 0xdc00 || lo > 0xdfff) fail('lone leading surrogate in \\u escape');
            out += String.fromCharCode(u, lo);
          } else out += String.fromCharCode(u);
          break;
        }
        default:
          fail('invalid escape');
      }
      run = p;
    }
  };
  const number = (): JsonNumber => {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(p, p + 400));
    if (!m || m[0].length === 0 || m[0] === '-') fail('invalid number');
    // "01": a leading zero followed by a digit is not one number.
    if (/^-?0[0-9]/.test(text.slice(p, p + 3))) fail('leading zero in number');
    p += m![0].length;
    // serde_json reads every number as u64, i64 or f64: one beyond f64's range is an error even where it is ignored.
    if (!Number.isFinite(Number(m![0]))) fail('number out of range');
    return new JsonNumber(m![0]);
  };
  const value = (depth: number): JsonValue => {
    ws();
    if (p >= text.length) fail('unexpected end');
    const c = text[p];
    if (c === '{') {
      if (depth >= MAX_DEPTH) fail('nesting too deep');
      p++;
      const obj = new Map<string, JsonValue>();
      ws();
      if (text[p] === '}') {
        p++;
        return obj;
      }
      for (;;) {
        ws();
        if (text[p] !== '"') fail('expected a key');
        const k = string();
        if (obj.has(k)) fail(`key ${JSON.stringify(k)} appears twice`);
        ws();
        if (text[p++] !== ':') fail('expected ":"');
        obj.set(k, value(depth + 1));
        ws();
        const d = text[p++];
        if (d === '}') return obj;
        if (d !== ',') fail('expected "," or "}"');
      }
    }
    if (c === '[') {
      if (depth >= MAX_DEPTH) fail('nesting too deep');
      p++;
      const arr: JsonValue[] = [];
      ws();
      if (text[p] === ']') {
        p++;
        return arr;
      }
      for (;;) {
        arr.push(value(depth + 1));
        ws();
        const d = text[p++];
        if (d === ']') return arr;
        if (d !== ',') fail('expected "," or "]"');
      }
    }
    if (c === '"') return string();
    if (c === '-' || (c >= '0' && c <= '9')) return number();
    for (const [word, v] of [['true', true], ['false', false], ['null', null]] as const) {
      if (text.startsWith(word, p)) {
        p += word.length;
        return v;
      }
    }
    return fail('unexpected character');
  };
  const v = value(0);
  ws();
  if (p !== text.length) fail('trailing characters');
  return v;
}
