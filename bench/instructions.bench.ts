/**
 * Instruction and cache-miss counts per request, under valgrind's callgrind, of the servers of
 * `bench:http`: the same route bare, behind the hand-written admission and behind Actra.
 *
 * Where req/s on a shared machine move by 10–50 % from one run to the next, these counts repeat
 * within about 1 %: callgrind runs the server on a simulated CPU, with a 32 KB first-level
 * instruction cache and a 1 MB last-level cache. The server warms up first; counting is switched on
 * (`callgrind_control -i on`) only for the measured requests, which are sent one at a time.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import autocannon from 'autocannon';
import { categoryCosts, functionCosts, readPerfMap, type CategoryCosts } from './callgrind.js';
import { benchToken, BODY, printTable, start, type Framework, type Variant } from './http.bench.js';

const run = promisify(execFile);

/** Sends `amount` requests, one at a time. */
async function send(port: number, token: string, amount: number): Promise<void> {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/refunds/r1`,
    method: 'POST',
    connections: 1,
    amount,
    timeout: 60,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: BODY,
  });
  if (result.errors > 0 || result.non2xx > 0) throw new Error(`${result.errors} errors and ${result.non2xx} non-2xx answers`);
}

/**
 * With `ACTRA_CG_FUNCTIONS` (a regular expression over function names, e.g. `dist/(src|adapters)/`),
 * the servers also write V8's perf map (`--perf-basic-prof`), which names the JIT code in callgrind's
 * output, and the functions that match are listed per variant with their own and their inclusive
 * counts: a change of a few hundred instructions, lost in the whole-server totals, shows there.
 */
const FUNCTIONS = process.env['ACTRA_CG_FUNCTIONS'] === undefined ? undefined : new RegExp(process.env['ACTRA_CG_FUNCTIONS']);
/** With `ACTRA_CG_OUT=<dir>`, each variant's callgrind file (and perf map, with `ACTRA_CG_FUNCTIONS`) is kept there as `<framework>-<variant>.out` / `.map`. */
const KEEP = process.env['ACTRA_CG_OUT'];

async function measure(framework: Framework, variant: Variant, token: string, warmup: number, requests: number, dir: string): Promise<CategoryCosts> {
  const out = join(dir, `${framework}-${variant}.out`);
  const callgrind = ['valgrind', '-q', '--tool=callgrind', '--cache-sim=yes', '--I1=32768,8,64', '--D1=32768,8,64', '--LL=1048576,16,64', '--instr-atstart=no', `--callgrind-out-file=${out}`];
  // Optimisation on the main thread: the compiler's work is then counted, and set apart, the same way in every run.
  const nodeArgs = ['--no-concurrent-recompilation', ...(FUNCTIONS === undefined ? [] : ['--perf-basic-prof', `--logfile=${join(dir, 'v8.log')}`, '--no-logfile-per-isolate'])];
  const { child, port } = await start(framework, variant, callgrind, token, nodeArgs);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const pid = String(child.pid);
  try {
    await send(port, token, warmup);
    await run('callgrind_control', ['-i', 'on', pid]);
    await send(port, token, requests);
    await run('callgrind_control', ['-i', 'off', pid]);
  } finally {
    child.kill('SIGINT');
    await exited;
  }
  const text = readFileSync(out, 'utf8');
  const perfMap = `/tmp/perf-${pid}.map`;
  if (KEEP !== undefined && FUNCTIONS !== undefined) copyFileSync(perfMap, join(KEEP, `${framework}-${variant}.map`));
  if (KEEP !== undefined) copyFileSync(out, join(KEEP, `${framework}-${variant}.out`));
  if (FUNCTIONS !== undefined) printFunctions(`${framework} ${variant}`, text, perfMap, requests, FUNCTIONS);
  return categoryCosts(text);
}

/** The functions whose names match `pattern`, by inclusive instructions per request; removes the perf map. */
function printFunctions(title: string, text: string, perfMapFile: string, requests: number, pattern: RegExp): void {
  let map;
  try {
    map = readPerfMap(readFileSync(perfMapFile, 'utf8'));
  } finally {
    rmSync(perfMapFile, { force: true });
  }
  const { events, functions } = functionCosts(text, map);
  const ir = events.indexOf('Ir');
  const i1 = events.indexOf('I1mr');
  const per = (value: number | undefined, digits = 0) => ((value ?? 0) / requests).toFixed(digits);
  const rows = [...functions]
    .filter(([name]) => pattern.test(name))
    .sort((a, b) => (b[1].inclusive[ir] as number) - (a[1].inclusive[ir] as number))
    .slice(0, 25)
    .map(([name, cost]) => [name.replace(/file:\/\/\S*\/dist\//, ''), per(cost.self[ir]), per(cost.self[i1], 1), per(cost.inclusive[ir]), per(cost.inclusive[i1], 1)]);
  if (rows.length === 0) return;
  console.log(`\n${title}: functions matching ${pattern}, per request ("with calls" includes any compilation a call set off)`);
  printTable(['function', 'own instr.', 'own I1 misses', 'with calls', 'with calls, I1 misses'], rows);
}

function perRequest(costs: CategoryCosts, category: keyof CategoryCosts, event: string, requests: number): number {
  return (costs[category][event] ?? 0) / requests;
}

async function main(): Promise<void> {
  try {
    await run('valgrind', ['--version']);
  } catch {
    console.error('bench:instructions needs valgrind (Debian: apt-get install valgrind)');
    process.exit(1);
  }
  const frameworks = (process.env['ACTRA_BENCH_FRAMEWORKS']?.split(',') ?? ['fastify', 'hono', 'express']) as Framework[];
  const variants = (process.env['ACTRA_BENCH_VARIANTS']?.split(',') ?? ['bare', 'handwritten', 'actra-cached']) as Variant[];
  const warmup = Number(process.env['ACTRA_CG_WARMUP'] ?? 10_000);
  const requests = Number(process.env['ACTRA_CG_REQUESTS'] ?? 2_000);
  const token = await benchToken();
  const dir = mkdtempSync(join(tmpdir(), 'actra-callgrind-'));
  if (KEEP !== undefined) mkdirSync(KEEP, { recursive: true });
  console.log(`Instructions per request under callgrind: ${warmup} requests to warm up, then ${requests} counted, one at a time; I1 32 KB, LL 1 MB. "request" excludes V8's compiler and the garbage collector (shown apart).`);
  const rows: string[][] = [];
  try {
    for (const framework of frameworks) {
      const measured = new Map<Variant, CategoryCosts>();
      for (const variant of variants) measured.set(variant, await measure(framework, variant, token, warmup, requests, dir));
      const bare = measured.get('bare');
      for (const [variant, costs] of measured) {
        const cell = (event: string, digits = 0) => {
          const value = perRequest(costs, 'request', event, requests);
          if (bare === undefined || variant === 'bare') return value.toFixed(digits);
          const added = value - perRequest(bare, 'request', event, requests);
          return `${value.toFixed(digits)} (${added >= 0 ? '+' : ''}${added.toFixed(digits)})`;
        };
        rows.push([framework, variant, cell('Ir'), cell('I1mr'), cell('ILmr', 1), cell('DLmr', 1), perRequest(costs, 'compiler', 'Ir', requests).toFixed(0), perRequest(costs, 'gc', 'Ir', requests).toFixed(0)]);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  printTable(['framework', 'variant', 'instructions (vs bare)', 'I1 code misses', 'LL code misses', 'LL data read misses', 'compiler instr.', 'GC instr.'], rows);
}

await main();
