import { describe, expect, it } from 'vitest';
import { categoryCosts, categoryOf, selfCosts } from '../../bench/callgrind.js';

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
});
