/** Where the CLI writes: two sinks, so commands run in-process in tests and on the real streams in the bin. */

/**
 * Output sinks of the CLI. Each call writes one chunk; a chunk that does not end with a newline
 * is written as a whole line.
 */
export interface CliIo {
  stdout(s: string): void;
  stderr(s: string): void;
  /** Whether stderr is a terminal (progress output); defaults to `process.stderr.isTTY`. */
  readonly stderrIsTTY?: boolean;
}

/** Ends a chunk with exactly the newline it may lack. */
export function asLine(s: string): string {
  return s.endsWith('\n') ? s : `${s}\n`;
}

/** The process's own stdout and stderr. */
export function processIo(): CliIo {
  return {
    stdout: function writeStdout(s) {
      process.stdout.write(asLine(s));
    },
    stderr: function writeStderr(s) {
      process.stderr.write(asLine(s));
    },
    stderrIsTTY: process.stderr.isTTY === true,
  };
}
