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

/**
 * Each function's self cost, per event, from a callgrind output file. Call lines (`calls=`) are
 * followed by the inclusive cost of the call, which belongs to the callee and is skipped here.
 * @throws Error when the text has no `events:` line.
 */
export function selfCosts(text: string): { readonly events: readonly string[]; readonly functions: ReadonlyMap<string, readonly number[]> } {
  const names = new Map<string, string>();
  const functions = new Map<string, number[]>();
  let events: string[] | undefined;
  let current: number[] | undefined;
  let callCost = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('events:')) {
      events = line.slice('events:'.length).trim().split(/\s+/);
      continue;
    }
    const fn = /^(c?)fn=\((\d+)\)(?: (.*))?$/.exec(line);
    if (fn !== null) {
      const [, called, id, given] = fn as unknown as [string, string, string, string | undefined];
      if (given !== undefined) names.set(id, given);
      if (called === '') current = entry(functions, names.get(id) ?? `(${id})`, events);
      continue;
    }
    if (line.startsWith('calls=')) {
      callCost = true;
      continue;
    }
    if (!/^[0-9+*-]/.test(line)) continue;
    if (callCost) {
      callCost = false;
      continue;
    }
    if (current === undefined) continue;
    const fields = line.trim().split(/\s+/);
    for (let index = 1; index < fields.length; index++) current[index - 1] = (current[index - 1] as number) + Number(fields[index]);
  }
  if (events === undefined) throw new Error('not a callgrind output: no "events:" line');
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
