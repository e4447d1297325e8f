// The Debug Console and the other evaluate contexts (hover, watch).
//
// Console commands (context "repl"):
//   x/<n><fmt><size> <expr>   memory, GDB style: fmt x d u o t c a s i, size b h w g
//   walk <expr>               the guest page walk of an address, level by level (two-stage under EPT)
//   ept <expr>                the EPT walk of a guest-physical address (current VMCS's EPT pointer)
//   map [gva|gpa]             the memory map (guest page tables, or the physical layout)
//   trace [n] [types]         the last n trace records (types: ring,exception,...)
//   exits                     VM-exit counts per reason
//   vmcs [field]              the current VMCS, or the fields whose names contain `field`
//   help
// Anything else is an expression (expressions.ts): rax + 8, [rsp+16], qword [gs:0x10].

import type { DebugProtocol } from '@vscode/debugprotocol';
import { formatTraceRecord, isTraceType, type TraceType } from '../common/trace';
import type { Target, VmcsField, WalkInfo } from '../targets/target';
import { evaluateExpression, type EvalResult } from './expressions';
import { makeEvalEnv } from './eval-env';
import { decodeBytes } from './disassembly';
import type { SourceMap } from './sources';
import type { TraceBuffer } from './trace-buffer';
import { formatMemoryRef } from './memory-refs';

export interface EvaluateHost {
  target: Target;
  cpu: number;
  sources: SourceMap;
  trace: TraceBuffer;
  running: boolean;
}

export const HELP = `vmscope Debug Console
  <expr>                 registers, symbols, numbers, C operators, memory: rax + 8, [rsp+16], qword [gs:0x10], dword ptr [rbp-4]
  x/<n><fmt><size> <e>   examine memory (fmt x d u o t c a s i; size b h w g), e.g. x/4xg rsp, x/8i rip
  walk <expr>            page walk of a guest virtual address (in VMX non-root with EPT: two-stage, with each EPT walk)
  ept <expr>             EPT walk of a guest-physical address through the current VMCS's EPT pointer
  map [gva|gpa]          memory map: guest page tables (default) or the physical layout
  trace [n] [types]      last n trace records (default 20), optionally only some types: trace 50 ring,exception
  exits                  VM exits per reason
  vmcs [field]           the current VMCS, or fields by name: vmcs GUEST_RIP, vmcs exit`;

const RUNNING_OK = new Set(['trace', 'exits', 'help']);

export function evaluate(host: EvaluateHost, args: DebugProtocol.EvaluateArguments): DebugProtocol.EvaluateResponse['body'] {
  const text = args.expression.trim();
  if (args.context === 'repl' || args.context === undefined) {
    const word = /^(\S+)/.exec(text)?.[1]?.toLowerCase() ?? '';
    const cmd = word.startsWith('x/') || word === 'x' ? 'x' : word;
    if (host.running && !RUNNING_OK.has(cmd)) throw new Error('the guest is running: pause it to look at its state');
    const rest = text.slice(word.length).trim();
    switch (cmd) {
      case 'help': case '?': return plain(HELP);
      case 'x': return plain(examine(host, word, rest));
      case 'walk': return plain(walk(host, rest));
      case 'ept': return plain(formatWalk(host.target.translate(host.cpu, 'gpa', value(host, rest))));
      case 'map': return plain(map(host, rest));
      case 'trace': return plain(trace(host, rest));
      case 'exits': return plain(exits(host));
      case 'vmcs': return plain(vmcs(host, rest));
    }
  }
  if (host.running) throw new Error('the guest is running: pause it to evaluate');
  const hover = args.context === 'hover';
  const expr = hover ? text.replace(/^[%$]/, '') : text;
  const r = evaluateExpression(expr, makeEvalEnv(host.target, host.cpu));
  return formatResult(host, r);
}

const plain = (result: string): DebugProtocol.EvaluateResponse['body'] => ({ result, variablesReference: 0 });

export function formatResult(host: EvaluateHost, r: EvalResult): DebugProtocol.EvaluateResponse['body'] {
  const v = r.value;
  const sym = r.symbol ? ` <${r.symbol}>` : host.sources.symbolName(v) && v >= 0x1000n ? ` <${host.sources.symbolName(v)}>` : '';
  const dec = v < 10n ? '' : ` (${v.toString()})`;
  const result = `0x${v.toString(16)}${dec}${sym}`;
  const addr = r.memory?.address ?? (readable(host, v) ? v : undefined);
  return {
    result,
    type: r.memory ? `u${r.memory.size * 8}` : 'u64',
    variablesReference: 0,
    ...(addr !== undefined ? { memoryReference: formatMemoryRef(addr) } : {}),
  };
}

function readable(host: EvaluateHost, a: bigint): boolean {
  return a >= 0x1000n && host.target.readMemory(host.cpu, 'gva', a, 1).data.length === 1;
}

function value(host: EvaluateHost, expr: string): bigint {
  if (!expr) throw new Error('expected an address expression');
  return evaluateExpression(expr, makeEvalEnv(host.target, host.cpu)).value;
}

const SIZE_LETTERS: Readonly<Record<string, number>> = { b: 1, h: 2, w: 4, g: 8 };

function examine(host: EvaluateHost, word: string, rest: string): string {
  const spec = word.length > 2 ? word.slice(2) : '';
  const m = /^(\d*)([a-z]*)$/i.exec(spec);
  if (!m) throw new Error(`x: cannot read "${spec}" (expected x/<count><format><size>, e.g. x/4xg)`);
  const count = m[1] ? Number(m[1]) : 1;
  if (count < 1 || count > 4096) throw new Error('x: count must be 1..4096');
  let fmt = 'x';
  let size = host.target.cpuInfo(host.cpu).bits === 64 ? 8 : 4;
  for (const ch of m[2]!.toLowerCase()) {
    if (ch in SIZE_LETTERS) size = SIZE_LETTERS[ch]!;
    else if ('xduotcasi'.includes(ch)) fmt = ch;
    else throw new Error(`x: unknown format or size letter "${ch}"`);
  }
  const addr = value(host, rest);
  const { target, cpu, sources } = host;
  const label = (a: bigint): string => { const s = sources.symbolName(a); return `0x${a.toString(16)}${s ? ` <${s}>` : ''}:`; };
  if (fmt === 'i') {
    const r = target.readMemory(cpu, 'gva', addr, count * 15);
    const insns = decodeBytes(r.data, addr, target.cpuInfo(cpu).bits, count);
    if (insns.length === 0) return `cannot read 0x${addr.toString(16)}`;
    const pc = target.pc(cpu);
    return insns.map((i) => `${i.address === pc ? '=> ' : '   '}${label(i.address)}  ${i.text}`).join('\n');
  }
  if (fmt === 's') {
    const r = target.readMemory(cpu, 'gva', addr, 256 * count);
    const out: string[] = [];
    let off = 0;
    for (let n = 0; n < count && off < r.data.length; n++) {
      const end = r.data.indexOf(0, off);
      const bytes = r.data.subarray(off, end < 0 ? r.data.length : end);
      out.push(`${label(addr + BigInt(off))}  ${JSON.stringify(new TextDecoder().decode(bytes))}`);
      off += bytes.length + 1;
    }
    return out.length ? out.join('\n') : `cannot read 0x${addr.toString(16)}`;
  }
  const r = target.readMemory(cpu, 'gva', addr, count * size);
  const items = Math.floor(r.data.length / size);
  const perLine = fmt === 'c' ? 8 : Math.max(1, 16 / size);
  const lines: string[] = [];
  for (let i = 0; i < items; i += perLine) {
    const cells: string[] = [];
    for (let j = i; j < Math.min(items, i + perLine); j++) {
      let v = 0n;
      for (let k = size - 1; k >= 0; k--) v = (v << 8n) | BigInt(r.data[j * size + k]!);
      cells.push(formatCell(v, fmt, size, sources));
    }
    lines.push(`${label(addr + BigInt(i * size))}  ${cells.join('  ')}`);
  }
  if (items < count) lines.push(`<unreadable from 0x${(addr + BigInt(items * size)).toString(16)}>`);
  return lines.join('\n');
}

function formatCell(v: bigint, fmt: string, size: number, sources: SourceMap): string {
  const signed = BigInt.asIntN(size * 8, v);
  switch (fmt) {
    case 'd': return signed.toString();
    case 'u': return v.toString();
    case 'o': return '0' + v.toString(8);
    case 't': return v.toString(2).padStart(size * 8, '0');
    case 'c': { const c = Number(v & 0xffn); return `${c} ${c >= 32 && c < 127 ? `'${String.fromCharCode(c)}'` : `'\\x${c.toString(16).padStart(2, '0')}'`}`; }
    case 'a': { const s = sources.symbolName(v); return `0x${v.toString(16)}${s ? ` <${s}>` : ''}`; }
    default: return '0x' + v.toString(16).padStart(size * 2, '0');
  }
}

function walk(host: EvaluateHost, rest: string): string {
  const a = value(host, rest);
  return formatWalk(host.target.translate(host.cpu, 'gva', a));
}

function formatWalk(w: WalkInfo, indent = ''): string {
  const ept = w.space === 'ept';
  const title = ept ? `EPT walk of GPA ${w.input}` : `walk ${w.input}${w.mode ? ` (${w.mode === 'none' ? 'paging off' : w.mode + ' paging'}${w.nested ? ', then EPT' : ''})` : ''}`;
  const lines = [indent + title];
  const width = Math.max(0, ...w.entries.map((e) => e.level.length));
  for (const e of w.entries) {
    lines.push(`${indent}  ${e.level.padEnd(width)}  @${e.entryAddress}  ${e.value}  ${e.flags.join(' ')}${e.leaf ? '  (maps the page)' : ''}`);
  }
  const space = ept ? 'HPA ' : w.nested ? 'GPA ' : '';
  if (w.output) lines.push(`${indent}  → ${space}${w.output}${w.pageSize ? ` (${pageSize(w.pageSize)} page)` : ''}`);
  if (!w.ok && w.fault) lines.push(`${indent}  fault: ${w.fault}`);
  else if (!w.ok) lines.push(`${indent}  fault: not mapped`);
  if (w.nested?.length) {
    lines.push(`${indent}  EPT walks (guest paging-structure accesses, then the final GPA):`);
    for (const n of w.nested) lines.push(formatWalk(n, indent + '    '));
  }
  return lines.join('\n');
}

function pageSize(n: number): string {
  return n >= 1 << 30 ? `${n / (1 << 30)} GiB` : n >= 1 << 20 ? `${n / (1 << 20)} MiB` : `${n / 1024} KiB`;
}

function map(host: EvaluateHost, rest: string): string {
  const space = rest.toLowerCase() || 'gva';
  if (space !== 'gva' && space !== 'gpa') throw new Error('map: expected "gva" or "gpa"');
  const regions = host.target.memoryMap(host.cpu, space);
  if (regions.length === 0) return 'nothing is mapped';
  return regions.map((r) => {
    const end = BigInt(r.end) - 1n;
    const parts = [`${r.start.padStart(18)}-0x${end.toString(16).padEnd(16)}`, r.perms];
    if (r.target !== undefined) parts.push(`→ ${r.target}`);
    parts.push(pageSize(r.pageSize) + ' pages');
    if (r.memoryType) parts.push(r.memoryType);
    if (r.kind) parts.push(r.kind);
    if (r.name) parts.push(r.name);
    return parts.join('  ');
  }).join('\n');
}

function trace(host: EvaluateHost, rest: string): string {
  let n = 20;
  let types: Set<TraceType> | undefined;
  for (const arg of rest.split(/\s+/).filter(Boolean)) {
    if (/^\d+$/.test(arg)) n = Math.min(10_000, Number(arg));
    else {
      const list = arg.split(',').map((s) => s.trim()).filter(Boolean);
      const bad = list.filter((t) => !isTraceType(t));
      if (bad.length) throw new Error(`trace: unknown record type ${bad.join(', ')}`);
      types = new Set(list as TraceType[]);
    }
  }
  const records = types ? host.trace.query(undefined, host.trace.total, types).records.slice(-n) : host.trace.last(n);
  return records.length ? records.map(formatTraceRecord).join('\n') : 'no trace records yet';
}

function exits(host: EvaluateHost): string {
  const s = host.trace.exitStats();
  if (s.total === 0) return 'no VM exits yet';
  return [`${s.total} VM exits`, ...s.reasons.map((r) => `  ${r.reason.padEnd(24)} (${r.reasonCode})  ${r.count}  ${r.vmmInstructions} instructions in the VMM`)].join('\n');
}

function vmcs(host: EvaluateHost, rest: string): string {
  const info = host.target.capabilities.vmx ? host.target.vmcs?.(host.cpu) : undefined;
  if (!info) return 'no current VMCS';
  const line = (f: VmcsField): string => `  ${f.name.padEnd(40)} ${f.encoding}  ${f.value}`;
  const want = rest.trim().toUpperCase();
  if (want) {
    // A group (guest, host, control(s), exit) or fields by name (exact, else substring) or encoding.
    const group = info.groups.find((g) => g.id.toUpperCase() === want || g.id.toUpperCase() + 'S' === want || g.label.toUpperCase() === want ||
      (want === 'EXIT' && g.id === 'exit-info'));
    if (group) return [`${group.label}:`, ...group.fields.map(line)].join('\n');
    const all = info.groups.flatMap((g) => g.fields);
    const enc = /^0X[0-9A-F]+$/.test(want) ? Number(want) : undefined;
    const exact = all.filter((f) => f.name === want || (enc !== undefined && Number(f.encoding) === enc));
    const found = exact.length ? exact : all.filter((f) => f.name.includes(want));
    if (found.length === 0) throw new Error(`vmcs: no field named like "${rest.trim()}"`);
    return found.map((f) => line(f).trimStart()).join('\n');
  }
  const state = [info.launched !== undefined && (info.launched ? 'launched' : 'clear'), info.nonRoot && 'guest running (non-root)'].filter(Boolean);
  return [`VMCS at ${info.address}${state.length ? ` (${state.join(', ')})` : ''}`, ...info.groups.flatMap((g) => [`${g.label}:`, ...g.fields.map(line)])].join('\n');
}
