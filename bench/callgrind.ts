/**
 * Reading valgrind's callgrind output: the cost of a server's requests split into the requests' own
 * work, V8's optimising compiler and the garbage collector.
 *
 * A server under callgrind is some fifty times slower than under load, so V8's compiler is still at
 * work long after the server has warmed up, and a collection may or may not fall in the measured
 * window. Both are counted apart: the `request` share is what the requests themselves run.
 */

/** Where an instruction was spent. */
export type Category = 'request' | 'compiler' | 'gc';

/** Event totals (`Ir`, `I1mr`, `ILmr`, …) per category, summed over the measured window. */
export type CategoryCosts = Readonly<Record<Category, Readonly<Record<string, number>>>>;

const COMPILER = /v8::internal::compiler::|v8::internal::maglev::|v8::internal::wasm::|Turboshaft|turboshaft|OptimizedCompilationJob|PipelineCompilationJob|v8::internal::Zone::/;
const GC = /v8::internal::(Scavenger|Scavenge|Heap::|HeapObject::Size|MarkCompact|MinorMarkCompact|ConcurrentMarking|IncrementalMarking|MarkingVisitor|MarkingBarrier|Sweeper|Evacuat|RememberedSet|SlotSet|RecordMigratedSlot|PagedSpace|LargeObjectSpace|MemoryAllocator|GlobalHandles|IterateObjectCache|RootScavengeVisitor)|heap::base::|cppgc::/;

/** The category of a function, by its (demangled) name; JIT code, named by address, counts as the request's. */
export function categoryOf(name: string): Category {
  if (COMPILER.test(name)) return 'compiler';
  if (GC.test(name)) return 'gc';
  return 'request';
}

/** One piece of JIT code in a V8 perf map (`--perf-basic-prof` writes `/tmp/perf-<pid>.map`). */
export interface PerfEntry {
  readonly start: number;
  readonly size: number;
  readonly name: string;
}

/** The entries of a V8 perf map (lines `<start hex> <size hex> <name>`), by start address. */
export function readPerfMap(text: string): readonly PerfEntry[] {
  const entries: PerfEntry[] = [];
  for (const line of text.split('\n')) {
    const match = /^([0-9a-f]+) ([0-9a-f]+) (.+)$/.exec(line);
    if (match !== null) entries.push({ start: parseInt(match[1] as string, 16), size: parseInt(match[2] as string, 16), name: match[3] as string });
  }
  return entries.sort(function byStart(a, b) {
    return a.start - b.start;
  });
}

/**
 * The name of a callgrind function: callgrind names code it has no symbol for (V8's JIT code) by
 * its address (`0x…`); with a perf map, that is the name of the JIT code holding the address.
 */
export function jitName(name: string, map: readonly PerfEntry[]): string {
  const match = /^0x([0-9a-f]+)/.exec(name);
  if (match === null || map.length === 0) return name;
  const address = parseInt(match[1] as string, 16);
  let low = 0;
  let high = map.length - 1;
  let found = -1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    if ((map[middle] as PerfEntry).start <= address) {
      found = middle;
      low = middle + 1;
    } else {
      high = middle - 1;
    }
  }
  const entry = map[found];
  return entry !== undefined && address < entry.start + entry.size ? entry.name : name;
}

/** A callgrind output read per function: self costs, and each call's inclusive cost by caller and callee. */
interface Parsed {
  readonly events: readonly string[];
  readonly self: Map<string, number[]>;
  readonly calls: Map<string, Map<string, number[]>>;
}

/**
 * Reads a callgrind output file. Call lines (`calls=`) are followed by the inclusive cost of the
 * call, which belongs to the callee: it is kept apart, per caller and callee, not in the caller's
 * self cost. `rename` maps callgrind's names (a perf map's names for JIT code, say); the parts of
 * one renamed function are summed.
 * @throws Error when the text has no `events:` line.
 */
function parse(text: string, rename: (name: string) => string): Parsed {
  const names = new Map<string, string>();
  const self = new Map<string, number[]>();
  const calls = new Map<string, Map<string, number[]>>();
  let events: string[] | undefined;
  let current: number[] | undefined;
  let caller = '';
  let callee = '';
  let callCost = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('events:')) {
      events = line.slice('events:'.length).trim().split(/\s+/);
      continue;
    }
    const fn = /^(c?)fn=\((\d+)\)(?: (.*))?$/.exec(line);
    if (fn !== null) {
      const [, called, id, given] = fn as unknown as [string, string, string, string | undefined];
      if (given !== undefined) names.set(id, rename(given));
      const name = names.get(id) ?? `(${id})`;
      if (called === '') {
        caller = name;
        current = entry(self, name, events);
      } else {
        callee = name;
      }
      continue;
    }
    if (line.startsWith('calls=')) {
      callCost = true;
      continue;
    }
    if (!/^[0-9+*-]/.test(line)) continue;
    const target = callCost ? callTarget(calls, caller, callee, events) : current;
    callCost = false;
    if (target === undefined) continue;
    const fields = line.trim().split(/\s+/);
    for (let index = 1; index < fields.length; index++) target[index - 1] = (target[index - 1] as number) + Number(fields[index]);
  }
  if (events === undefined) throw new Error('not a callgrind output: no "events:" line');
  return { events, self, calls };
}

/** Where a call's cost goes: nowhere for a call within one function (two parts of one renamed function). */
function callTarget(calls: Map<string, Map<string, number[]>>, caller: string, callee: string, events: readonly string[] | undefined): number[] | undefined {
  if (caller === callee) return undefined;
  let byCallee = calls.get(caller);
  if (byCallee === undefined) {
    byCallee = new Map();
    calls.set(caller, byCallee);
  }
  return entry(byCallee, callee, events);
}

function same(name: string): string {
  return name;
}

/**
 * Each function's self cost, per event, from a callgrind output file. Call lines (`calls=`) are
 * followed by the inclusive cost of the call, which belongs to the callee and is skipped here.
 * @throws Error when the text has no `events:` line.
 */
export function selfCosts(text: string): { readonly events: readonly string[]; readonly functions: ReadonlyMap<string, readonly number[]> } {
  const { events, self } = parse(text, same);
  return { events, functions: self };
}

/** A function's cost per event: its own, and with what it calls (other functions') added. */
export interface FunctionCost {
  readonly self: readonly number[];
  readonly inclusive: readonly number[];
}

/**
 * Per function, its self and inclusive costs, JIT code named through `map`. A function's
 * inclusive cost is its self cost plus the inclusive cost of its calls to other functions (a
 * recursive call through another function is counted again).
 * @throws Error when the text has no `events:` line.
 */
export function functionCosts(text: string, map: readonly PerfEntry[]): { readonly events: readonly string[]; readonly functions: ReadonlyMap<string, FunctionCost> } {
  const { events, self, calls } = parse(text, function named(name) {
    return jitName(name, map);
  });
  const functions = new Map<string, FunctionCost>();
  for (const name of new Set([...self.keys(), ...calls.keys()])) {
    const own = self.get(name) ?? new Array<number>(events.length).fill(0);
    const inclusive = [...own];
    for (const cost of calls.get(name)?.values() ?? []) cost.forEach((value, index) => (inclusive[index] = (inclusive[index] as number) + value));
    functions.set(name, { self: own, inclusive });
  }
  return { events, functions };
}

function entry(functions: Map<string, number[]>, name: string, events: readonly string[] | undefined): number[] {
  let costs = functions.get(name);
  if (costs === undefined) {
    costs = new Array<number>(events?.length ?? 0).fill(0);
    functions.set(name, costs);
  }
  return costs;
}

/** The events of a callgrind output file summed per category. */
export function categoryCosts(text: string): CategoryCosts {
  const { events, functions } = selfCosts(text);
  const sums: Record<Category, Record<string, number>> = { request: {}, compiler: {}, gc: {} };
  for (const category of Object.keys(sums) as Category[]) for (const event of events) sums[category][event] = 0;
  for (const [name, costs] of functions) {
    const sum = sums[categoryOf(name)];
    events.forEach(function add(event, index) {
      sum[event] = (sum[event] as number) + (costs[index] ?? 0);
    });
  }
  return sums;
}
