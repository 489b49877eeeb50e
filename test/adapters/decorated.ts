/**
 * Loads `controllers.ts` with its TC39 decorators lowered by TypeScript: the test transformer
 * (Oxc) keeps decorator syntax as is, while `tsc` (the build) lowers it.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

const here = dirname(fileURLToPath(import.meta.url));

let loaded: Promise<typeof import('./controllers.js')> | undefined;

export function loadControllers(): Promise<typeof import('./controllers.js')> {
  loaded ??= load();
  return loaded;
}

async function load(): Promise<typeof import('./controllers.js')> {
  const source = readFileSync(join(here, 'controllers.ts'), 'utf8');
  const { outputText } = ts.transpileModule(source, { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext } });
  const rewritten = outputText.replace(/from '(\.\.?\/[^']+)\.js'/g, (_m, rel: string) => `from '${resolve(here, rel)}.ts'`);
  const dir = mkdtempSync(join(tmpdir(), 'actra-controllers-'));
  const file = join(dir, 'controllers.mjs');
  writeFileSync(file, rewritten);
  try {
    return (await import(/* @vite-ignore */ pathToFileURL(file).href)) as typeof import('./controllers.js');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
