import { readFile } from 'node:fs/promises';
import type { z } from 'zod';
import { AnnotationError } from '../errors.js';

/** Reads a JSON annotation file and checks that it is a list. */
export async function readJsonList(file: string): Promise<unknown[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new AnnotationError(file, null, null, `cannot read the file (${(e as Error).message})`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new AnnotationError(file, null, null, `not valid JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(data)) throw new AnnotationError(file, null, null, 'the top level must be a JSON list of entries');
  return data;
}

/** Validates every entry; the first bad one raises an error naming its index and field. */
export function validateEntries<S extends z.ZodType>(file: string, list: unknown[], schema: S): Array<z.infer<S>> {
  return list.map((entry, i) => {
    const r = schema.safeParse(entry);
    if (r.success) return r.data;
    const issue = r.error.issues[0];
    const field = issue.path.length ? issue.path.map(String).join('.') : null;
    throw new AnnotationError(file, i, field, issue.message);
  });
}

/** `data_root_prefix + join(data_root, rel)`, as the official `load_anno` builds media paths. */
export function mediaPath(rel: string, dataRoot: string, prefix = ''): string {
  if (rel.startsWith('/') || dataRoot === '') return prefix + rel;
  return prefix + (dataRoot.endsWith('/') ? dataRoot + rel : `${dataRoot}/${rel}`);
}
