/** Extracts the README's checked code blocks: fenced blocks, their `<!-- test: ... -->` markers, and `npx actra` commands. */

/** One fenced block with the marker comment that precedes it, if any. */
export interface Block {
  readonly lang: string;
  readonly code: string;
  readonly line: number;
  readonly marker?: string;
}

/** Splits Markdown into fenced blocks; a `<!-- test: ... -->` comment right before a block is its marker. */
export function fencedBlocks(markdown: string): Block[] {
  const lines = markdown.split(/\r?\n/);
  const blocks: Block[] = [];
  let marker: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i] as string;
    const comment = /^\s*<!--\s*test:\s*(.+?)\s*-->\s*$/.exec(text);
    if (comment) {
      marker = comment[1];
      continue;
    }
    const open = /^(\s*)(`{3,}|~{3,})\s*([\w+-]*)/.exec(text);
    if (open) {
      const fence = open[2] as string;
      const body: string[] = [];
      const start = i + 1; // 1-based line of the opening fence
      for (i++; i < lines.length && !(lines[i] as string).trim().startsWith(fence); i++) body.push(lines[i] as string);
      blocks.push({ lang: (open[3] ?? '').toLowerCase(), code: body.join('\n'), line: start, ...(marker === undefined ? {} : { marker }) });
      marker = undefined;
      continue;
    }
    if (text.trim() !== '') marker = undefined;
  }
  return blocks;
}

/** The `npx actra ...` commands of a shell block, with `\` continuations joined and `$ ` prompts removed. */
export function actraCommands(code: string): string[] {
  const joined = code.replace(/[ \t]*\\\r?\n\s*/g, ' ');
  return joined
    .split('\n')
    .map((l) => l.trim().replace(/^\$\s+/, ''))
    .filter((l) => /^npx actra(\s|$)/.test(l));
}

