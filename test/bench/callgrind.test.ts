import { describe, expect, it } from 'vitest';
import { categoryCosts, categoryOf, functionCosts, jitName, readPerfMap, selfCosts } from '../../bench/callgrind.js';

/** A callgrind output in its compressed form: names given once by id, a call's inclusive cost after `calls=`. */
const OUTPUT = `version: 1
creator: callgrind-3.19.0
pid: 4242
cmd:  node server.js
part: 1

positions: line
events: Ir I1mr ILmr

summary: 1710 17 3

ob=(1) /usr/bin/node
fl=(1) ???
fn=(1) 0x000000000a1b2c3d
0 100 2 1
+4 50 1
cfn=(2) v8::internal::compiler::GraphReducer::ReduceTop()
calls=3 0
0 1000 9 1
fn=(2)
0 1000 9 1
fn=(3) v8::internal::Scavenger::ScavengePage(v8::internal::MemoryChunk*)
0 300 3
fn=(1)
* 10
fn=(4) Builtins_KeyedLoadIC_Megamorphic
0 250 2 1
`;

describe('callgrind output', () => {
  it("sums each function's self cost, leaving a call's inclusive cost to the callee", () => {
    const { events, functions } = selfCosts(OUTPUT);
    expect(events).toEqual(['Ir', 'I1mr', 'ILmr']);
    expect(functions.get('0x000000000a1b2c3d')).toEqual([160, 3, 1]);
    expect(functions.get('v8::internal::compiler::GraphReducer::ReduceTop()')).toEqual([1000, 9, 1]);
    expect(functions.get('v8::internal::Scavenger::ScavengePage(v8::internal::MemoryChunk*)')).toEqual([300, 3, 0]);
    expect(functions.get('Builtins_KeyedLoadIC_Megamorphic')).toEqual([250, 2, 1]);
  });

  it("sets V8's compiler and the garbage collector apart from the requests' own work", () => {
    expect(categoryOf('v8::internal::compiler::Scheduler::ScheduleLate()')).toBe('compiler');
    expect(categoryOf('v8::internal::maglev::MaglevGraphBuilder::Build()')).toBe('compiler');
    expect(categoryOf('v8::internal::Scavenger::Process(v8::JobDelegate*)')).toBe('gc');
    expect(categoryOf('heap::base::ActiveSystemPages::Add(unsigned long, unsigned long, unsigned long)')).toBe('gc');
    expect(categoryOf('llhttp__internal_execute')).toBe('request');
    expect(categoryOf('0x0000000012345678')).toBe('request');
    expect(categoryCosts(OUTPUT)).toEqual({
      request: { Ir: 410, I1mr: 5, ILmr: 2 },
      compiler: { Ir: 1000, I1mr: 9, ILmr: 1 },
      gc: { Ir: 300, I1mr: 3, ILmr: 0 },
    });
  });

  it('refuses a file that is not callgrind output', () => {
    expect(() => selfCosts('hello\n1 2 3\n')).toThrow('no "events:" line');
  });

  it('names JIT code through a V8 perf map, and adds to a function what it calls in other functions', () => {
    const map = readPerfMap('0a1b2c00 400 JS:*admit file:///app/dist/src/http/handle.js:1:1\n0a1b0000 100 JS:~other :1:1\nnot a line\n');
    expect(map.map((e) => e.name)).toEqual(['JS:~other :1:1', 'JS:*admit file:///app/dist/src/http/handle.js:1:1']);
    expect(jitName('0x000000000a1b2c3d', map)).toBe('JS:*admit file:///app/dist/src/http/handle.js:1:1');
    expect(jitName('0x000000000a1b3000', map)).toBe('0x000000000a1b3000');
    expect(jitName('0x0000000000000001', map)).toBe('0x0000000000000001');
    expect(jitName('Builtins_LoadIC', map)).toBe('Builtins_LoadIC');
    // Two parts of one JIT function (two addresses in its range): one function, and a call from one part to the other is no call.
    const text = `${OUTPUT}fn=(5) 0x000000000a1b2d00
0 40 1 0
cfn=(1)
calls=1 0
0 7 0 0
cfn=(4)
calls=2 0
0 30 1 0
`;
    const { events, functions } = functionCosts(text, map);
    expect(events).toEqual(['Ir', 'I1mr', 'ILmr']);
    const admit = functions.get('JS:*admit file:///app/dist/src/http/handle.js:1:1');
    expect(admit).toEqual({ self: [200, 4, 1], inclusive: [1230, 14, 2] });
    expect(functions.get('Builtins_KeyedLoadIC_Megamorphic')).toEqual({ self: [250, 2, 1], inclusive: [250, 2, 1] });
    // Without a perf map, the addresses stay apart.
    expect(functionCosts(text, []).functions.get('0x000000000a1b2c3d')).toEqual({ self: [160, 3, 1], inclusive: [1160, 12, 2] });
  });
});
