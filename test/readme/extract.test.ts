import { describe, expect, it } from 'vitest';
import { actraCommands, fencedBlocks } from './extract.js';

const sample = [
  '# Title',
  '',
  '```sh',
  'npm ci',
  'npm run demo',
  '```',
  '',
  '<!-- test: compile -->',
  '```ts',
  "import { Actra } from 'actra';",
  '```',
  '',
  '<!-- test: exit 1 -->',
  '',
  '```bash',
  '$ npx actra test examples/policies/refunds \\',
  '    --verbose',
  'npx actrax nope',
  '  npx actra hash examples/policies/refunds',
  '```',
  '',
  '<!-- test: compile -->',
  'Some text in between drops the marker.',
  '```ts',
  'const x = 1;',
  '```',
  '````md',
  '```sh',
  'npx actra inside a nested fence',
  '```',
  '````',
].join('\n');

describe('README extraction', () => {
  it('finds fenced blocks with their language, the line of their opening fence and their marker', () => {
    const blocks = fencedBlocks(sample);
    expect(blocks.map((b) => [b.lang, b.line, b.marker ?? null])).toEqual([
      ['sh', 3, null],
      ['ts', 9, 'compile'],
      ['bash', 15, 'exit 1'],
      ['ts', 24, null],
      ['md', 27, null],
    ]);
    expect(blocks[1]?.code).toBe("import { Actra } from 'actra';");
    expect(blocks[4]?.code).toBe('```sh\nnpx actra inside a nested fence\n```');
  });

  it('keeps only npx actra commands, joining continuations and dropping prompts', () => {
    const blocks = fencedBlocks(sample);
    expect(actraCommands(blocks[0]?.code ?? '')).toEqual([]);
    expect(actraCommands(blocks[2]?.code ?? '')).toEqual(['npx actra test examples/policies/refunds --verbose', 'npx actra hash examples/policies/refunds']);
  });
});
