// The adapter's pure parts, without a guest: the expression language, filter
// conditions, hit conditions, memory references and the trace ring buffer.
import { describe, it, expect } from 'vitest';
import { evaluateExpression, type EvalEnv } from '../../src/adapter/expressions';
import { parseFilters, stopPredicate, postCondition } from '../../src/adapter/filters';
import { hitConditionMet, interpolate } from '../../src/adapter/breakpoints';
import { parseMemoryRef, formatMemoryRef } from '../../src/adapter/memory-refs';
import { TraceBuffer } from '../../src/adapter/trace-buffer';
import type { TraceRecord } from '../../src/common/trace';

const mem = new Map<bigint, number>([[0x1000n, 0x11], [0x1001n, 0x22], [0x1002n, 0x33], [0x1003n, 0x44], [0x2010n, 0x7f]]);
const env: EvalEnv = {
  register: (n) => ({ rax: 0x10n, rsp: 0x1000n, rcx: 3n, 'gs.base': 0x2000n } as Record<string, bigint>)[n],
  segmentBase: (s) => (s === 'gs' ? 0x2000n : 0n),
  symbol: (n) => (n === 'kmain' ? 0xffffffff80100000n : undefined),
  readMemory: (a, size) => {
    let v = 0n;
    for (let i = size - 1; i >= 0; i--) {
      const b = mem.get(a + BigInt(i));
      if (b === undefined) throw new Error(`cannot read ${size} bytes at 0x${a.toString(16)}`);
      v = (v << 8n) | BigInt(b);
    }
    return v;
  },
  defaultSize: 4,
};
const ev = (s: string): bigint => evaluateExpression(s, env).value;

describe('expressions', () => {
  it('computes with C precedence over 64-bit unsigned values', () => {
    expect(ev('rax + 8')).toBe(0x18n);
    expect(ev('1 + 2 * 3')).toBe(7n);
    expect(ev('(1 + 2) * 3')).toBe(9n);
    expect(ev('-1')).toBe(0xffffffffffffffffn);
    expect(ev('1 << 63 >> 63')).toBe(1n);
    expect(ev('rcx == 3 && rax != 0')).toBe(1n);
    expect(ev('!rcx || 0')).toBe(0n);
    expect(ev('1000h + 0b11 + 0o7')).toBe(0x100an);
    expect(ev('$rax + %rcx')).toBe(0x13n);
    expect(ev('kmain + 0x10')).toBe(0xffffffff80100010n);
  });

  it('reads memory operands with sizes and segment overrides', () => {
    expect(ev('[rsp]')).toBe(0x44332211n);
    expect(ev('word [rsp + 2]')).toBe(0x4433n);
    expect(ev('byte ptr [0x1001]')).toBe(0x22n);
    expect(ev('byte [gs:0x10]')).toBe(0x7fn);
    expect(ev('*rsp & 0xff')).toBe(0x11n);
    expect(evaluateExpression('dword [rsp]', env).memory).toEqual({ address: 0x1000n, size: 4 });
    expect(evaluateExpression('[rsp] + 1', env).memory).toBeUndefined();
    expect(evaluateExpression('kmain', env).symbol).toBe('kmain');
  });

  it('explains what is wrong', () => {
    expect(() => ev('foo')).toThrow(/unknown name "foo"/);
    expect(() => ev('1 +')).toThrow(/ends too early/);
    expect(() => ev('(1')).toThrow(/expected "\)"/);
    expect(() => ev('1 / 0')).toThrow(/division by zero/);
    expect(() => ev('[0x9999]')).toThrow(/cannot read 4 bytes at 0x9999/);
    expect(() => ev('12zz')).toThrow(/malformed number/);
    expect(() => ev('')).toThrow(/empty/);
  });
});

const rec = (r: Partial<TraceRecord> & { type: TraceRecord['type'] }): TraceRecord =>
  ({ cpu: 0, icount: 1, rip: '0x1000', ...r }) as TraceRecord;

describe('filter conditions', () => {
  it('turns ring, exception and vmexit conditions into predicates', () => {
    const { state, errors } = parseFilters(['shutdown'], [
      { filterId: 'ring', condition: '3->0' },
      { filterId: 'exception', condition: '#PF, 13 && rax == 1' },
      { filterId: 'vmexit', condition: '10, 0x30' },
    ], undefined);
    expect(errors.size).toBe(0);
    const p = stopPredicate(state)!;
    expect(p(rec({ type: 'ring', from: 3, to: 0, via: 'syscall' }))).toBe(true);
    expect(p(rec({ type: 'ring', from: 0, to: 3, via: 'iret' }))).toBe(false);
    expect(p(rec({ type: 'exception', vector: 14, name: '#PF' }))).toBe(true);
    expect(p(rec({ type: 'exception', vector: 13, name: '#GP' }))).toBe(true);
    expect(p(rec({ type: 'exception', vector: 6, name: '#UD' }))).toBe(false);
    expect(p(rec({ type: 'vmexit', reason: 'EPT_VIOLATION', reasonCode: 48, qualification: '0x0', guestRip: '0x0' }))).toBe(true);
    expect(p(rec({ type: 'vmexit', reason: 'HLT', reasonCode: 12, qualification: '0x0', guestRip: '0x0' }))).toBe(false);
    expect(p(rec({ type: 'mode', from: 'real', to: 'protected' }))).toBe(false);
    expect(postCondition(state, rec({ type: 'exception', vector: 14, name: '#PF' }))).toBe('rax == 1');
  });

  it('uses exit-reason names when the target has the VMX table', () => {
    const names = { byName: (n: string) => (n === 'CPUID' ? 10 : undefined), name: () => undefined };
    const { state, errors } = parseFilters([], [{ filterId: 'vmexit', condition: 'cpuid' }], names);
    expect(errors.size).toBe(0);
    expect(stopPredicate(state)!(rec({ type: 'vmexit', reason: 'CPUID', reasonCode: 10, qualification: '0x0', guestRip: '0x0' }))).toBe(true);
    expect(parseFilters([], [{ filterId: 'vmexit', condition: 'NOPE' }], names).errors.get('vmexit')).toMatch(/unknown exit reason "NOPE"/);
    // A backend without the table takes numbers only, and says so.
    expect(parseFilters([], [{ filterId: 'vmexit', condition: 'CPUID' }], undefined).errors.get('vmexit')).toMatch(/no exit-reason names.*use reason numbers/);
  });

  it('a filter without a condition matches every record of its type; none at all stops nothing', () => {
    expect(stopPredicate(parseFilters(['ring'], [], undefined).state)!(rec({ type: 'ring', from: 0, to: 3, via: 'iret' }))).toBe(true);
    expect(stopPredicate(parseFilters(['shutdown'], [], undefined).state)).toBeUndefined();
  });
});

describe('breakpoint helpers', () => {
  it('evaluates hit conditions and log messages', () => {
    expect(hitConditionMet('3', 3)).toBe(true);
    expect(hitConditionMet('>= 2', 1)).toBe(false);
    expect(hitConditionMet('% 2', 4)).toBe(true);
    expect(hitConditionMet('often', 1)).toBeUndefined();
    expect(interpolate('rax={rax} bad={nope}', (e) => { if (e === 'rax') return 255n; throw new Error('unknown'); })).toBe('rax=0xff bad=<unknown>');
  });

  it('parses and formats memory references', () => {
    expect(parseMemoryRef('0x1000', 16)).toEqual({ space: 'gva', address: 0x1010n });
    expect(parseMemoryRef('gpa:0x2000', -1)).toEqual({ space: 'gpa', address: 0x1fffn });
    expect(formatMemoryRef(0xffffffff80000000n)).toBe('0xffffffff80000000');
    expect(formatMemoryRef(0x10n, 'gpa')).toBe('gpa:0x10');
    expect(() => parseMemoryRef('main')).toThrow(/malformed memory reference/);
  });
});

describe('trace buffer', () => {
  it('keeps the newest records, pages by sequence number, batches events and counts VM exits', () => {
    const b = new TraceBuffer(4);
    for (let i = 0; i < 6; i++) b.push(rec({ type: 'ring', from: 0, to: 3, via: 'iret', icount: i }));
    expect(b.total).toBe(6);
    expect(b.first).toBe(2);
    const q = b.query(0, 10);
    expect(q.from).toBe(2);
    expect(q.records.map((r) => r.icount)).toEqual([2, 3, 4, 5]);
    expect(b.takeBatch()!.records).toHaveLength(6);
    expect(b.takeBatch()).toBeUndefined();
    b.push(rec({ type: 'vmexit', reason: 'CPUID', reasonCode: 10, qualification: '0x0', guestRip: '0x0', icount: 100 }));
    b.push(rec({ type: 'vmentry', launch: false, icount: 130 }));
    expect(b.exitStats()).toEqual({ total: 1, reasons: [{ reason: 'CPUID', reasonCode: 10, count: 1, vmmInstructions: 30 }] });
  });
});
