// Helpers for the adapter tests: the real dist/adapter.js over stdio
// (@vscode/debugadapter-testsupport's DebugClient), and small guest programs
// assembled with GNU as into ELF64 images (entered in 64-bit long mode with
// the first 4 GiB identity-mapped, RSP = 0x7fff0), with DWARF lines.
//
// The DAP round-trip benchmark (bench/, later) hooks in here: startSession()
// plus launchStopped() give it a stopped guest over real stdio, and it will
// time stepIn → stopped → stackTrace → scopes → variables round trips.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';

export const ADAPTER = join(__dirname, '../../dist/adapter.js');
export const ROOT = join(__dirname, '../..');

export async function startSession(): Promise<DebugClient> {
  const dc = new DebugClient('node', ADAPTER, 'vmscope');
  dc.defaultTimeout = 15_000;
  await dc.start();
  return dc;
}

export interface Guest {
  elf: string;
  source: string;
  /** 1-based line of the first source line containing `needle`. */
  line(needle: string): number;
  /** Address of a symbol (from nm). */
  symbol(name: string): bigint;
}

/** Assembles Intel-syntax 64-bit code into an ELF64 linked at 1 MiB (code) with .data after it. */
export function buildGuest(name: string, body: string): Guest {
  const dir = mkdtempSync(join(tmpdir(), `vmscope-dap-${name}-`));
  const source = join(dir, `${name}.S`);
  const text = `.intel_syntax noprefix\n.code64\n.globl _start\n.text\n${body}\n`;
  writeFileSync(source, text);
  const obj = join(dir, `${name}.o`);
  const elf = join(dir, `${name}.elf`);
  execFileSync('as', ['--64', '-g', '-o', obj, source], { stdio: 'pipe' });
  execFileSync('ld', ['-m', 'elf_x86_64', '-Ttext', '0x100000', '-Tdata', '0x180000', '-e', '_start', '-o', elf, obj], { stdio: 'pipe' });
  const nm = execFileSync('nm', [elf], { encoding: 'utf8' });
  const lines = text.split('\n');
  return {
    elf, source,
    line(needle) {
      const i = lines.findIndex((l) => l.includes(needle));
      if (i < 0) throw new Error(`"${needle}" not in ${name}.S`);
      return i + 1;
    },
    symbol(sym) {
      const row = nm.split('\n').find((l) => l.trim().endsWith(' ' + sym));
      if (!row) throw new Error(`no symbol ${sym} in ${name}.elf`);
      return BigInt('0x' + row.trim().split(/\s+/)[0]);
    },
  };
}

/**
 * A 64 KiB real-mode ROM (flat image ending at the reset vector, entered at
 * F000:FFF0) from 16-bit Intel-syntax code placed at 0xF0000, plus an ELF of
 * it for symbols and lines (launch attribute "symbols"). The body must end
 * with the reset vector: `.org 0xfff0` then a far jump.
 */
export function buildRom(name: string, body: string): Guest & { rom: string } {
  const dir = mkdtempSync(join(tmpdir(), `vmscope-dap-${name}-`));
  const source = join(dir, `${name}.S`);
  const text = `.intel_syntax noprefix\n.code16\n.globl _start\n.text\n_start:\n${body}\n.org 0x10000\n`;
  writeFileSync(source, text);
  const obj = join(dir, `${name}.o`);
  const elf = join(dir, `${name}.elf`);
  const rom = join(dir, `${name}.bin`);
  execFileSync('as', ['--32', '-g', '-o', obj, source], { stdio: 'pipe' });
  execFileSync('ld', ['-m', 'elf_i386', '-Ttext', '0xf0000', '-e', '_start', '-o', elf, obj], { stdio: 'pipe' });
  execFileSync('ld', ['-m', 'elf_i386', '-Ttext', '0xf0000', '-e', '_start', '--oformat', 'binary', '-o', rom, obj], { stdio: 'pipe' });
  const nm = execFileSync('nm', [elf], { encoding: 'utf8' });
  const lines = text.split('\n');
  return {
    elf, rom, source,
    line(needle) { return lines.findIndex((l) => l.includes(needle)) + 1; },
    symbol(sym) {
      const row = nm.split('\n').find((l) => l.trim().endsWith(' ' + sym));
      if (!row) throw new Error(`no symbol ${sym} in ${name}.elf`);
      return BigInt('0x' + row.trim().split(/\s+/)[0]);
    },
  };
}

/** initialize + launch + configurationDone, and the first stopped event. */
export async function launchStopped(dc: DebugClient, args: Record<string, unknown>, configure?: () => Promise<unknown>): Promise<DebugProtocol.StoppedEvent> {
  const stopped = dc.waitForEvent('stopped') as Promise<DebugProtocol.StoppedEvent>;
  await Promise.all([
    dc.waitForEvent('initialized').then(async () => { if (configure) await configure(); return dc.configurationDoneRequest(); }),
    dc.launch({ stopOnEntry: true, memory: 16, ...args }),
  ]);
  return stopped;
}

export async function pc(dc: DebugClient, threadId = 1): Promise<bigint> {
  const st = await dc.stackTraceRequest({ threadId });
  return BigInt(st.body.stackFrames[0]!.instructionPointerReference!);
}

export async function evalRepl(dc: DebugClient, expression: string): Promise<string> {
  const r = await dc.evaluateRequest({ expression, context: 'repl' });
  return r.body.result;
}

/** Sends a request and returns the error message of its (expected) error response. */
export async function errorOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('the request succeeded but an error response was expected');
}

export async function stepInstruction(dc: DebugClient, kind: 'stepIn' | 'next' | 'stepOut' = 'stepIn'): Promise<DebugProtocol.StoppedEvent> {
  const stopped = dc.waitForEvent('stopped') as Promise<DebugProtocol.StoppedEvent>;
  if (kind === 'stepIn') await dc.stepInRequest({ threadId: 1, granularity: 'instruction' });
  else if (kind === 'next') await dc.nextRequest({ threadId: 1, granularity: 'instruction' });
  else await dc.stepOutRequest({ threadId: 1, granularity: 'instruction' });
  return stopped;
}

export async function continueToStop(dc: DebugClient): Promise<DebugProtocol.StoppedEvent> {
  const stopped = dc.waitForEvent('stopped') as Promise<DebugProtocol.StoppedEvent>;
  await dc.continueRequest({ threadId: 1 });
  return stopped;
}

/** A register value from the General scope. */
export async function register(dc: DebugClient, name: string): Promise<bigint> {
  const r = await dc.evaluateRequest({ expression: name, context: 'watch' });
  return BigInt(r.body.result.split(' ')[0]!);
}
