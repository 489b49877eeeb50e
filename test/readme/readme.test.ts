/**
 * Checks the README's code blocks as a new user would run them.
 *
 * Convention (see the README fragment on examples):
 * - every line of a ```sh (or ```bash / ```shell) block that starts with `npx actra` is run, from a
 *   scratch directory holding the repository's `examples/` and a `.actra-data/decisions.jsonl`
 *   recorded by the demo walkthrough, and must exit 0 — or the code given by a
 *   `<!-- test: exit N -->` marker right before the block;
 * - every ```ts block right after a `<!-- test: compile -->` marker is type-checked as its own
 *   module against the built package (`import ... from 'actra'`, `'actra/express'`, ...).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDemoWalkthrough, startDemo } from '../../examples/demo/server.js';
import { actraCommands, fencedBlocks } from './extract.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const readmePath = process.env.ACTRA_README ?? join(root, 'README.md');
const cli = join(root, 'dist/src/cli/main.js');

const readme = existsSync(readmePath) ? readFileSync(readmePath, 'utf8') : '';
const blocks = fencedBlocks(readme);
const shellBlocks = blocks.filter((b) => ['sh', 'bash', 'shell', 'console'].includes(b.lang) && actraCommands(b.code).length > 0 && b.marker !== 'ignore');
const tsBlocks = blocks.filter((b) => (b.lang === 'ts' || b.lang === 'typescript') && b.marker === 'compile');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/** Builds `dist/` when it is missing or older than the sources, so the CLI and the package types are current. */
function ensureBuilt(): void {
  const sources = Math.max(newestMtime(join(root, 'src')), existsSync(join(root, 'adapters')) ? newestMtime(join(root, 'adapters')) : 0);
  if (existsSync(cli) && statSync(cli).mtimeMs >= sources) return;
  spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'ignore' });
}

describe('README', () => {
  it('exists and shows npx actra commands to check', () => {
    expect(readme.length).toBeGreaterThan(0);
    expect(shellBlocks.length).toBeGreaterThan(0);
  });

  // the test above fails when there is nothing to run; this keeps vitest from also failing an empty suite
  describe.runIf(shellBlocks.length > 0)('shell commands', () => {
    let work: string;
    beforeAll(async () => {
      ensureBuilt();
      work = mkdtempSync(join(tmpdir(), 'actra-readme-'));
      symlinkSync(join(root, 'examples'), join(work, 'examples'), 'dir');
      // the demo's decision log, as `npm run demo` followed by its walkthrough leaves it
      const demo = await startDemo({ port: 0, dataDir: join(work, '.actra-data'), quiet: true });
      try {
        await runDemoWalkthrough(demo.url, demo.tokens, () => {});
      } finally {
        await demo.close();
      }
    }, 180_000);
    afterAll(() => {
      if (work) rmSync(work, { recursive: true, force: true });
    });

    for (const block of shellBlocks) {
      const expected = block.marker?.startsWith('exit ') ? Number(block.marker.slice(5)) : 0;
      for (const command of actraCommands(block.code)) {
        it(`README.md:${block.line} \`${command}\` exits ${expected}`, () => {
          const shell = command.replace(/^npx actra/, `"${process.execPath}" "${cli}"`);
          const result = spawnSync('sh', ['-c', shell], { cwd: work, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
          expect({ status: result.status, stderr: result.status === expected ? '' : result.stderr }).toEqual({ status: expected, stderr: '' });
        });
      }
    }
  });

  describe.runIf(tsBlocks.length > 0)('TypeScript snippets', () => {
    const dir = join(root, 'test/readme/.snippets');
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('type-check against the built package', () => {
      ensureBuilt();
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      const files = tsBlocks.map((block) => {
        const file = join(dir, `readme-${block.line}.ts`);
        writeFileSync(file, `// README.md:${block.line}\nexport {};\n${block.code}\n`);
        return file;
      });
      writeFileSync(
        join(dir, 'tsconfig.json'),
        JSON.stringify({ extends: '../../../tsconfig.json', compilerOptions: { noEmit: true, rootDir: '.', noUnusedLocals: false }, include: ['*.ts'] }),
      );
      let output = '';
      try {
        execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json')], { cwd: dir, encoding: 'utf8' });
      } catch (error) {
        output = String((error as { stdout?: string }).stdout ?? error);
      }
      expect(output).toBe('');
      expect(files.length).toBe(tsBlocks.length);
    }, 120_000);
  });
});
