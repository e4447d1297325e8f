// The block JIT: once a block has run JIT_THRESHOLD times, its instructions
// are fused into one JavaScript function — inline code for the forms emit.ts
// covers, a call to the instruction's closure for everything else. Inside the
// function RIP is only written where it can be observed (before an access
// that may fault, before a closure call, at the end), and the lazy-flag
// record is only written for flags that are still live (dead-flag
// elimination over iced's per-instruction flag masks).
//
// Precision on faults: before every instruction that may fault, `k` holds its
// index and c.rip its address, so the run loop sees the same state as with
// the closures: instructions before it retired, this one not.

import type { Cpu } from '../cpu';
import type { Handler } from '../registry';
import type { AddrFn } from '../operands';
import { getCF, cond, materialize } from '../flags';
import { CpuFault, GP } from '../fault';
import { ARITH_FLAGS, type InlineInsn } from './emit';

export const JIT_THRESHOLD = 16;

export interface JitPart {
  inline: InlineInsn | undefined;
  /** iced RflagsBits read and modified (arithmetic bits only). */
  read: number;
  mod: number;
}

export type JitFn = (c: Cpu) => void;

/** Builds the fused function of a block (32- or 64-bit code). */
export function buildJit(handlers: Handler[], lens: Uint8Array, parts: JitPart[], bits: 32 | 64): JitFn {
  const n = handlers.length;
  // Backward liveness of the arithmetic flags; everything is live at the block's end and before anything
  // that may fault or runs a closure (the closure may read any flag; a fault pushes RFLAGS).
  const liveAfter = new Array<number>(n);
  let live = ARITH_FLAGS;
  for (let i = n - 1; i >= 0; i--) {
    liveAfter[i] = live;
    const p = parts[i]!;
    if (!p.inline || p.inline.mayFault) live = ARITH_FLAGS;
    else live = (live & ~p.mod) | p.read;
  }
  const offs: number[] = [0];
  for (let i = 0; i < n; i++) offs.push(offs[i]! + lens[i]!);

  const addrs: AddrFn[] = [];
  let src = 'const rl=c.rl,rh=c.rh;const r0=c.rip;let k=0;try{';
  for (let i = 0; i < n; i++) {
    const p = parts[i]!;
    const last = i === n - 1;
    const at = `c.rip=r0+${offs[i]};c.nextRip=r0+${offs[i + 1]};`;
    if (p.inline) {
      let slot = 'undefined';
      if (p.inline.addr) { slot = `A[${addrs.length}]`; addrs.push(p.inline.addr); }
      const code = p.inline.code(liveAfter[i]!).split('A_SLOT').join(slot)
        .split('$NEXT$').join(`(r0+${offs[i + 1]})`).split('$AT$').join(`r0+${offs[i]}`);
      if (p.inline.setsRip) {
        src += `k=${i};${code}`;
        continue;
      }
      if (p.inline.mayFault) {
        // A write may hit a code page (self-modifying code): stop after it so the next fetch re-decodes.
        src += `k=${i};${at}${code}`;
        if (!last) src += `if(c.exitBlock){c.rip=r0+${offs[i + 1]};c.icount+=${i + 1};return;}`;
      } else {
        src += code;
      }
      if (last) src += `c.rip=r0+${offs[n]};`;
    } else {
      src += `k=${i};${at}h[${i}](c);c.rip=c.nextRip;`;
      if (!last) src += `if(c.exitBlock){c.icount+=${i + 1};return;}`;
    }
  }
  src += `}catch(e){c.icount+=k;throw e;}c.icount+=${n};`;
  if (bits === 32) src += 'if(c.rip>=4294967296)c.rip-=4294967296;';
  const factory = new Function('h', 'A', 'getCF', 'cond', 'materialize', 'GP0', `return function jitBlock(c){${src}};`) as
    (h: Handler[], A: AddrFn[], g: typeof getCF, cd: typeof cond, m: typeof materialize, gp0: () => CpuFault) => JitFn;
  return factory(handlers, addrs, getCF, cond, materialize, gp0);
}

function gp0(): CpuFault { return new CpuFault(GP, 0); }
