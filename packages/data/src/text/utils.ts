/**
 * Caption pre-processing of the official `pre_text` (`multi_modality/dataset/utils.py`): lower-case, delete
 * , . ' ! ? " ( ) * # : ; ~, turn "-" and "/" into spaces and "<person>" into "person", collapse runs of two or
 * more whitespace characters into one space, strip a trailing newline and surrounding spaces, optionally keep the
 * first `maxL` words.
 */
export function preText(text: string, maxL?: number): string {
  if (typeof text !== 'string') throw new TypeError(`preText expects a string, got ${typeof text}`);
  let t = text.toLowerCase().replace(/[,.'!?"()*#:;~]/g, '');
  t = t.replaceAll('-', ' ').replaceAll('/', ' ').replaceAll('<person>', 'person');
  t = t.replace(PY_WS_RUN, ' ');
  t = t.replace(/\n+$/, '').replace(/^ +| +$/g, '');
  if (maxL) {
    const words = t.split(' ');
    if (words.length > maxL) t = words.slice(0, maxL).join(' ');
  }
  return t;
}

// Python's `\s` for str patterns is `str.isspace()`, which differs from JavaScript's `\s` (it adds \x1c–\x1f and
// \x85, and lacks \ufeff).
const PY_WS = '\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_WS_RUN = new RegExp(`[${PY_WS}]{2,}`, 'g');

/** Official load-time filter: captions with fewer than 2 words are dropped unless `jump_filter`. */
export function keepCaption(caption: string): boolean {
  return caption.split(' ').length >= 2;
}
