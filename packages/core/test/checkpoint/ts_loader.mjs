// Node module hooks that let a plain `node` child process import this package's TypeScript sources (types are
// stripped with the workspace's TypeScript), so that a test can run, and kill, a real writer in another process.
import { readFile } from 'node:fs/promises';
import ts from 'typescript';

export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (e) {
    if (/^\.{1,2}\//.test(specifier) && specifier.endsWith('.js')) return next(specifier.replace(/\.js$/, '.ts'), context);
    throw e;
  }
}

export async function load(url, context, next) {
  if (!url.endsWith('.ts')) return next(url, context);
  const source = ts.transpileModule(await readFile(new URL(url), 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: false },
  }).outputText;
  return { format: 'module', source, shortCircuit: true };
}
