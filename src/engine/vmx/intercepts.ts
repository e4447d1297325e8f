// Which instructions and events exit in VMX non-root operation, and with
// what exit information (SDM vol. 3, "Instructions That Cause VM Exits
// Conditionally", "Exceptions", "Exit Qualification for ...").
//
// Three ways in, all one runtime check of cpu.vmx.nonRoot:
// - sysIntercept.hook (exec/sys-common.ts): the system-instruction handlers
//   call it after the faults that have priority over VM exits (CPL, #UD,
//   I/O permission). CPUID, HLT, INVD, INVLPG, RDPMC, RDTSC(P), WBINVD,
//   XSETBV, RDMSR/WRMSR (MSR bitmaps), I/O (unconditional or bitmaps), MOV
//   CR/CLTS/LMSW (guest/host masks and read shadows, CR3 targets, CR8 and the
//   TPR shadow), descriptor-table instructions. For a MOV CR the VM does not
//   exit for, the hook performs the access itself (read shadows, host-owned
//   bits kept) and reports it handled.
// - handlerWrap (registry.ts) wraps at compile time the instructions whose
//   exit precedes the handler's own checks (MOV DR, PAUSE, MONITOR, MWAIT),
//   that need #UD in non-root (RDTSCP without "enable RDTSCP"), IRET
//   (virtual-NMI unblocking), and stashes instruction information for the
//   exits that report it (INS/OUTS, IN/OUT immediate form, LMSW, descriptor
//   tables).
// - vmxHooks.fault/event/tripleFault (state.ts): the exception bitmap with
//   the #PF error-code mask/match, INT3/INTO as software exceptions, the
//   single-step #DB, triple fault (exit 2); every event delivered in non-root
//   operation is noted for the IDT-vectoring information of an exit during
//   its delivery.
//
// Choices (documented):
// - MONITOR/MWAIT are #UD on this CPU (CPUID does not advertise them), but
//   with "MONITOR exiting"/"MWAIT exiting" they exit at CPL 0 instead, as on
//   a processor that has them.
// - GETSEC is #UD (CR4.SMXE is not supported), so exit 11 cannot happen; RSM
//   is #UD outside SMM, so exit 17 cannot happen (see exec/vmx-insns.ts).
// - A #DB single-step exit reports BS in the qualification and leaves DR6
//   as it was before the trap.

import { Code, Mnemonic, OpKind, type Instruction } from 'iced-x86';
import type { Cpu } from '../x86/cpu';
import { CpuFault, UD, GP } from '../x86/fault';
import { HAS_ERROR_CODE } from '../x86/vectors';
import { EventKind } from '../x86/interrupts';
import { CS, FS, GS, RCX, RDI, RSI, ES, regInfo } from '../x86/regs';
import { setReg32, setReg64, addressSize, type AddrFn } from '../x86/operands';
import { handlerWrap, type Ctx, type Handler } from '../x86/registry';
import { sysIntercept, SysEvent, memSegment } from '../x86/exec/sys-common';
import { writeCr0, writeCr4, readCr } from '../x86/exec/control-regs';
import type { Vmcs } from './vmcs';
import * as F from './enc';
import {
  PROC_HLT, PROC_INVLPG, PROC_MWAIT, PROC_RDPMC, PROC_RDTSC, PROC_CR3_LOAD, PROC_CR3_STORE, PROC_CR8_LOAD,
  PROC_CR8_STORE, PROC_TPR_SHADOW, PROC_MOV_DR, PROC_UNCOND_IO, PROC_IO_BITMAPS, PROC_MSR_BITMAPS, PROC_MONITOR,
  PROC_PAUSE, PROC2_DESC_TABLE, PROC2_RDTSCP, PROC2_WBINVD, PIN_VIRTUAL_NMIS,
} from './capabilities';
import { vmExit } from './exit';
import type { InsExitInfo, VmExitSignal } from './state';
import { memoryInfo } from './insn-info';
import { linearToSigned, loOf, hiOf, signedToLinear } from './numbers';

export const EXIT = {
  EXCEPTION_NMI: 0, TRIPLE_FAULT: 2, CPUID: 10, HLT: 12, INVD: 13, INVLPG: 14, RDPMC: 15, RDTSC: 16,
  CR_ACCESS: 28, DR_ACCESS: 29, IO: 30, RDMSR: 31, WRMSR: 32, MWAIT: 36, MONITOR: 39, PAUSE: 40,
  TPR_BELOW_THRESHOLD: 43, GDTR_IDTR: 46, LDTR_TR: 47, RDTSCP: 51, WBINVD: 54, XSETBV: 55,
} as const;

const DB = 1, PF = 14;

/** Length of the instruction being executed (nextRip - rip, 16-bit code wraps). */
export function instrLen(c: Cpu): number {
  const d = c.nextRip - c.rip;
  return c.bits === 16 ? d & 0xffff : d;
}

// ---------------------------------------------------------------------------
// Exceptions and events
// ---------------------------------------------------------------------------

/** The exception bitmap's verdict, with the #PF error-code mask/match rule. */
export function exceptionExits(c: Cpu, vector: number, errorCode: number): boolean {
  const v = c.vmx;
  if (vector > 31 || vector === 2) return false;
  const bit = (v.excBitmap >>> vector) & 1;
  if (vector === PF) {
    const match = ((errorCode & v.pfMask) >>> 0) === (v.pfMatch >>> 0);
    return match ? bit === 1 : bit === 0;
  }
  return bit === 1;
}

/** VM-exit interruption information for a hardware exception. */
function hwExceptionInfo(c: Cpu, vector: number, errorCode: number): number {
  const hasErr = errorCode >= 0 && HAS_ERROR_CODE.has(vector) && (c.cr0 & 1) !== 0;
  return vector | (3 << 8) | (hasErr ? 1 << 11 : 0) | (1 << 31);
}

/** A fault in non-root operation: exit 0 when the exception bitmap says so. */
export function faultHook(c: Cpu, e: CpuFault): boolean {
  if (!exceptionExits(c, e.vector, e.errorCode)) return false;
  c.events.exception(c, e.vector, e.errorCode, e.vector === PF ? e.cr2 : undefined);
  const qual = e.vector === PF ? linearToSigned(e.cr2) : e.vector === DB ? c.dr[6]! & 0x600f : 0;
  vmExit(c, EXIT.EXCEPTION_NMI, {
    qualLo: loOf(qual), qualHi: hiOf(qual),
    intrInfo: hwExceptionInfo(c, e.vector, e.errorCode),
    intrError: e.errorCode >= 0 ? e.errorCode : 0,
  });
  return true;
}

/** INT3 (CC) and INTO (CE) are software exceptions; INT n (CD nn), even INT 3, is a software interrupt. */
function isSoftwareException(c: Cpu): boolean {
  const r = c.nextRip - 1;
  const la = c.bits === 64 ? signedToLinear(r) : (c.segBase[CS]! + (c.bits === 16 ? r & 0xffff : r >>> 0)) % 0x1_0000_0000;
  const b = c.mem.read8(c.fetchPhys(la));
  return b === 0xcc || b === 0xce;
}

/** Every event delivered in non-root operation (installed as vmxHooks.event). */
export function eventHook(c: Cpu, vector: number, kind: number, errorCode: number): boolean {
  const v = c.vmx;
  if (v.injecting) return false; // VM entry's injected event: noted by entry.ts, the bitmap does not apply
  let type = 3, len = 0;
  switch (kind) {
    case EventKind.Trap:
      if (vector === DB && exceptionExits(c, DB, -1)) {
        c.dr[6] = (c.dr[6]! & ~0x4000) >>> 0;
        vmExit(c, EXIT.EXCEPTION_NMI, { qualLo: 0x4000, intrInfo: DB | (3 << 8) | (1 << 31) });
        return true;
      }
      break;
    case EventKind.Software:
      len = instrLen(c);
      if ((vector === 3 || vector === 4) && isSoftwareException(c)) {
        type = 6;
        if (exceptionExits(c, vector, -1)) {
          vmExit(c, EXIT.EXCEPTION_NMI, { intrInfo: vector | (6 << 8) | (1 << 31), instrLen: len });
          return true;
        }
      } else {
        type = 4;
      }
      break;
    case EventKind.PrivSoftware:
      type = 5;
      len = instrLen(c);
      if (exceptionExits(c, DB, -1)) {
        vmExit(c, EXIT.EXCEPTION_NMI, { intrInfo: DB | (5 << 8) | (1 << 31), instrLen: len });
        return true;
      }
      break;
    case EventKind.External: type = 0; break;
    case EventKind.Nmi: type = 2; break;
    default: break;
  }
  const g = v.vectoring;
  g.valid = true;
  g.vector = vector;
  g.type = type;
  g.errorCode = type === 3 && errorCode >= 0 && HAS_ERROR_CODE.has(vector) && (c.cr0 & 1) ? errorCode : -1;
  g.length = len;
  return false;
}

export function signalHook(c: Cpu, s: VmExitSignal): void {
  vmExit(c, s.reason, {
    qualLo: s.qualLo, qualHi: s.qualHi,
    ...(s.gpa >= 0 ? { gpa: s.gpa } : {}),
    ...(s.gla >= 0 ? { gla: s.gla } : {}),
  });
}

export function tripleFaultHook(c: Cpu): void {
  vmExit(c, EXIT.TRIPLE_FAULT);
}

// ---------------------------------------------------------------------------
// System instructions (sysIntercept.hook)
// ---------------------------------------------------------------------------

function exitInsn(c: Cpu, reason: number, qualLo = 0, qualHi = 0, extra: { info?: number; gla?: number } = {}): true {
  vmExit(c, reason, {
    qualLo, qualHi, instrLen: instrLen(c),
    ...(extra.info !== undefined ? { instrInfo: extra.info } : {}),
    ...(extra.gla !== undefined ? { gla: extra.gla } : {}),
  });
  return true;
}

/** The MSR bitmaps' verdict for RDMSR/WRMSR of ECX. */
function msrExits(c: Cpu, write: boolean): boolean {
  const v = c.vmx;
  if (!(v.proc & PROC_MSR_BITMAPS)) return true;
  let msr = c.rl[RCX]! >>> 0;
  let base = v.current!.getNum(F.MSR_BITMAP) + (write ? 2048 : 0);
  if (msr >= 0xc0000000 && msr <= 0xc0001fff) { msr -= 0xc0000000; base += 1024; }
  else if (msr > 0x1fff) return true;
  return ((c.mem.read8(base + (msr >>> 3)) >> (msr & 7)) & 1) === 1;
}

/** Unconditional I/O exiting or the I/O bitmaps (an access wrapping past 0xFFFF always exits). */
function ioExits(c: Cpu, port: number, size: number): boolean {
  const v = c.vmx;
  if (!(v.proc & PROC_IO_BITMAPS)) return (v.proc & PROC_UNCOND_IO) !== 0;
  const vmcs = v.current!;
  for (let p = port; p < port + size; p++) {
    if (p > 0xffff) return true;
    const base = p < 0x8000 ? vmcs.getNum(F.IO_BITMAP_A) : vmcs.getNum(F.IO_BITMAP_B);
    const i = p & 0x7fff;
    if ((c.mem.read8(base + (i >>> 3)) >> (i & 7)) & 1) return true;
  }
  return false;
}

function writeGpr(c: Cpu, r: number, lo: number, hi: number): void {
  if (c.bits === 64) setReg64(c, r, lo, hi); else setReg32(c, r, lo);
}

const VTPR = 0x80;

/** MOV CR in non-root operation: an exit, or the access done here with masks/shadows/TPR shadow. */
function movCr(c: Cpu, a: number): boolean {
  const v = c.vmx;
  const vmcs = v.current!;
  const n = a & 0xf, read = (a & 0x10) !== 0, gpr = a >> 8;
  if (n === 0 || n === 4) {
    const mask = vmcs.get32(n === 0 ? F.CR0_MASK : F.CR4_MASK);
    const maskHi = vmcs.getHi(n === 0 ? F.CR0_MASK : F.CR4_MASK);
    const shadow = vmcs.get32(n === 0 ? F.CR0_SHADOW : F.CR4_SHADOW);
    const shadowHi = vmcs.getHi(n === 0 ? F.CR0_SHADOW : F.CR4_SHADOW);
    if (mask === 0 && maskHi === 0) return false;
    const cr = n === 0 ? c.cr0 : c.cr4;
    if (read) {
      writeGpr(c, gpr, (cr & ~mask) | (shadow & mask), shadowHi & maskHi);
      return true;
    }
    const lo = c.rl[gpr]!, hi = c.bits === 64 ? c.rh[gpr]! : 0;
    if (((lo ^ shadow) & mask) !== 0 || ((hi ^ shadowHi) & maskHi) !== 0) return exitInsn(c, EXIT.CR_ACCESS, a);
    const merged = (lo & ~mask) | (cr & mask);
    if (n === 0) writeCr0(c, merged, hi & ~maskHi); else writeCr4(c, merged, hi & ~maskHi);
    return true;
  }
  if (n === 3) {
    if (read) return v.proc & PROC_CR3_STORE ? exitInsn(c, EXIT.CR_ACCESS, a) : false;
    if (!(v.proc & PROC_CR3_LOAD)) return false;
    const lo = c.rl[gpr]!, hi = c.bits === 64 ? c.rh[gpr]! : 0;
    const count = Math.min(vmcs.get32(F.CR3_TARGET_COUNT) >>> 0, 4);
    for (let i = 0; i < count; i++) {
      const t = F.CR3_TARGET_VALUE0 + 2 * i;
      if (vmcs.get32(t) === lo && vmcs.getHi(t) === hi) return false;
    }
    return exitInsn(c, EXIT.CR_ACCESS, a);
  }
  if (n === 8) {
    if (read) {
      if (v.proc & PROC_CR8_STORE) return exitInsn(c, EXIT.CR_ACCESS, a);
      if (!(v.proc & PROC_TPR_SHADOW)) return false;
      writeGpr(c, gpr, (c.mem.read8(vmcs.getNum(F.VIRTUAL_APIC_PAGE_ADDR) + VTPR) >> 4) & 0xf, 0);
      return true;
    }
    if (v.proc & PROC_CR8_LOAD) return exitInsn(c, EXIT.CR_ACCESS, a);
    if (!(v.proc & PROC_TPR_SHADOW)) return false;
    const lo = c.rl[gpr]!, hi = c.bits === 64 ? c.rh[gpr]! : 0;
    if (hi !== 0 || (lo & ~0xf)) throw new CpuFault(GP, 0);
    c.mem.write32(vmcs.getNum(F.VIRTUAL_APIC_PAGE_ADDR) + VTPR, lo << 4); // bytes 3:1 of VTPR are cleared
    // A TPR below the threshold is a trap-like exit after the instruction.
    if (lo < (vmcs.get32(F.TPR_THRESHOLD) & 0xf)) {
      vmExit(c, EXIT.TPR_BELOW_THRESHOLD, { guestRip: c.nextRip });
    }
    return true;
  }
  return false;
}

function clts(c: Cpu): boolean {
  const vmcs = c.vmx.current!;
  const mask = vmcs.get32(F.CR0_MASK), shadow = vmcs.get32(F.CR0_SHADOW);
  if (mask & shadow & 8) return exitInsn(c, EXIT.CR_ACCESS, 2 << 4);
  return (mask & 8) !== 0; // host-owned TS: CLTS leaves CR0.TS alone
}

function lmsw(c: Cpu, src: number): boolean {
  const v = c.vmx;
  const vmcs = v.current!;
  const mask = vmcs.get32(F.CR0_MASK), shadow = vmcs.get32(F.CR0_SHADOW);
  const ins = v.ins;
  const exits = (mask & 1 && src & 1 && !(shadow & 1)) || ((mask & 0xe) & (src ^ shadow)) !== 0;
  if (exits) {
    const q = (3 << 4) | (ins?.mem ? 1 << 6 : 0) | ((src & 0xffff) << 16);
    return exitInsn(c, EXIT.CR_ACCESS, q, 0, ins?.mem && ins.addr ? { gla: ins.addr(c) } : {});
  }
  if ((mask & 0xf) === 0) return false;
  const nv = (c.cr0 & ~0xe) | (src & 0xf) | (c.cr0 & 1);
  writeCr0(c, (nv & ~mask) | (c.cr0 & mask), 0);
  return true;
}

const DESC_TABLE_LOADS = new Set<number>([Mnemonic.Lgdt, Mnemonic.Lidt, Mnemonic.Sgdt, Mnemonic.Sidt]);

function sysHook(c: Cpu, ev: SysEvent, a: number, b: number): boolean {
  const v = c.vmx;
  if (!v.nonRoot) return false;
  if (v.bypassArmed !== 0 && c.rip === v.bypassRip) return false; // built-in VMM: this execution runs natively
  switch (ev) {
    case SysEvent.Cpuid: return exitInsn(c, EXIT.CPUID);
    case SysEvent.Hlt: return v.proc & PROC_HLT ? exitInsn(c, EXIT.HLT) : false;
    case SysEvent.Invd: return exitInsn(c, EXIT.INVD);
    case SysEvent.Invlpg: {
      if (!(v.proc & PROC_INVLPG)) return false;
      const q = a < 0 ? 0 : c.longMode ? linearToSigned(a) : a;
      return exitInsn(c, EXIT.INVLPG, loOf(q), hiOf(q));
    }
    case SysEvent.Rdpmc: return v.proc & PROC_RDPMC ? exitInsn(c, EXIT.RDPMC) : false;
    case SysEvent.Rdtsc: return v.proc & PROC_RDTSC ? exitInsn(c, EXIT.RDTSC) : false;
    case SysEvent.Rdtscp: return v.proc & PROC_RDTSC ? exitInsn(c, EXIT.RDTSCP) : false;
    case SysEvent.Wbinvd: return v.proc2 & PROC2_WBINVD ? exitInsn(c, EXIT.WBINVD) : false;
    case SysEvent.Xsetbv: return exitInsn(c, EXIT.XSETBV);
    case SysEvent.Rdmsr: return msrExits(c, false) ? exitInsn(c, EXIT.RDMSR) : false;
    case SysEvent.Wrmsr: return msrExits(c, true) ? exitInsn(c, EXIT.WRMSR) : false;
    case SysEvent.Io: {
      const size = b & 7;
      if (!ioExits(c, a, size)) return false;
      const ins = v.ins;
      const q = (size - 1) | (b & 0x38) | (ins?.ioImm ? 1 << 6 : 0) | (a << 16);
      const string = (b & 0x10) !== 0;
      return exitInsn(c, EXIT.IO, q, 0, string && ins ? { info: ins.info, ...(ins.addr ? { gla: ins.addr(c) } : {}) } : {});
    }
    case SysEvent.MovCr: return movCr(c, a);
    case SysEvent.Clts: return clts(c);
    case SysEvent.Lmsw: return lmsw(c, a);
    case SysEvent.DescTable: {
      if (!(v.proc2 & PROC2_DESC_TABLE)) return false;
      const ins = v.ins;
      return exitInsn(c, DESC_TABLE_LOADS.has(a) ? EXIT.GDTR_IDTR : EXIT.LDTR_TR, ins?.dispLo ?? 0, ins?.dispHi ?? 0,
        { info: ins?.info ?? 0 });
    }
    default: return false;
  }
}

// ---------------------------------------------------------------------------
// Compile-time wrappers (handlerWrap)
// ---------------------------------------------------------------------------

/** An exit that replaces the instruction when a control is set (checked before the handler's own faults). */
function exitIf(h: Handler, control: number, reason: number, cpl0: boolean): Handler {
  return (c) => {
    const v = c.vmx;
    if (v.nonRoot && (v.proc & control) && (!cpl0 || c.cpl === 0) && !(v.bypassArmed && c.rip === v.bypassRip)) {
      exitInsn(c, reason);
      return;
    }
    h(c);
  };
}

function stash(h: Handler, info: InsExitInfo): Handler {
  return (c) => {
    if (c.vmx.nonRoot) c.vmx.ins = info;
    h(c);
  };
}

/** Linear address of a string I/O operand, computed without faults (I/O exits precede segment checks). */
function stringAddr(ins: Instruction, ctx: Ctx, outs: boolean): AddrFn {
  const asz = addressSize(ins, ctx.bits);
  const seg = outs ? memSegment(ins) : ES;
  const reg = outs ? RSI : RDI;
  return (c) => {
    const off = asz === 64 ? (c.rh[reg]! | 0) * 0x1_0000_0000 + (c.rl[reg]! >>> 0) : asz === 32 ? c.rl[reg]! >>> 0 : c.rl[reg]! & 0xffff;
    if (c.bits === 64) {
      const base = seg === FS || seg === GS ? c.segBase[seg]! : 0;
      return signedToLinear(base + off);
    }
    return (c.segBase[seg]! + off) % 0x1_0000_0000;
  };
}

const DR_FORMS = new Set<number>([Code.Mov_r32_dr, Code.Mov_r64_dr, Code.Mov_dr_r32, Code.Mov_dr_r64]);
const IDENTITY: Partial<Record<number, number>> = {
  [Mnemonic.Sgdt]: 0, [Mnemonic.Sidt]: 1, [Mnemonic.Lgdt]: 2, [Mnemonic.Lidt]: 3,
  [Mnemonic.Sldt]: 0, [Mnemonic.Str]: 1, [Mnemonic.Lldt]: 2, [Mnemonic.Ltr]: 3,
};

export function wrapHandler(ins: Instruction, ctx: Ctx, h: Handler): Handler {
  switch (ins.mnemonic) {
    case Mnemonic.Mov: {
      if (!DR_FORMS.has(ins.code)) return h;
      const toDr = ins.code === Code.Mov_dr_r32 || ins.code === Code.Mov_dr_r64;
      const dr = regInfo(toDr ? ins.op0Register : ins.op1Register).index;
      const gpr = regInfo(toDr ? ins.op1Register : ins.op0Register).index;
      const q = (dr & 7) | (toDr ? 0 : 1 << 4) | (gpr << 8);
      // MOV-DR exiting takes priority over the CPL and CR4.DE checks (SDM "MOV DR").
      return (c) => {
        if (c.vmx.nonRoot && (c.vmx.proc & PROC_MOV_DR)) { exitInsn(c, EXIT.DR_ACCESS, q); return; }
        h(c);
      };
    }
    case Mnemonic.Pause: return exitIf(h, PROC_PAUSE, EXIT.PAUSE, false);
    case Mnemonic.Monitor: return exitIf(h, PROC_MONITOR, EXIT.MONITOR, true);
    case Mnemonic.Mwait: return exitIf(h, PROC_MWAIT, EXIT.MWAIT, true);
    case Mnemonic.Rdtscp:
      return (c) => {
        if (c.vmx.nonRoot && !(c.vmx.proc2 & PROC2_RDTSCP)) throw new CpuFault(UD);
        h(c);
      };
    case Mnemonic.Iret: case Mnemonic.Iretd: case Mnemonic.Iretq:
      return (c) => {
        h(c);
        if (c.vmx.nonRoot && (c.vmx.pin & PIN_VIRTUAL_NMIS)) c.vmx.virtualNmiBlocked = false;
      };
    case Mnemonic.In: case Mnemonic.Out: {
      const imm = ins.opKind(ins.mnemonic === Mnemonic.In ? 1 : 0) !== OpKind.Register;
      return stash(h, { info: 0, dispLo: 0, dispHi: 0, ioImm: imm });
    }
    case Mnemonic.Insb: case Mnemonic.Insw: case Mnemonic.Insd: case Mnemonic.Outsb: case Mnemonic.Outsw: case Mnemonic.Outsd: {
      const outs = ins.mnemonic === Mnemonic.Outsb || ins.mnemonic === Mnemonic.Outsw || ins.mnemonic === Mnemonic.Outsd;
      const asz = addressSize(ins, ctx.bits);
      const info = ((asz === 16 ? 0 : asz === 32 ? 1 : 2) << 7) | ((outs ? memSegment(ins) : 0) << 15);
      return stash(h, { info, dispLo: 0, dispHi: 0, ioImm: false, addr: stringAddr(ins, ctx, outs) });
    }
    case Mnemonic.Lmsw: {
      const mem = ins.opKind(0) === OpKind.Memory;
      if (!mem) return stash(h, { info: 0, dispLo: 0, dispHi: 0, mem: false });
      const m = memoryInfo(ins, ctx.bits);
      const seg = memSegment(ins);
      return stash(h, { info: 0, dispLo: 0, dispHi: 0, mem: true, addr: linearOf(ins, ctx, seg, m) });
    }
    case Mnemonic.Lgdt: case Mnemonic.Lidt: case Mnemonic.Sgdt: case Mnemonic.Sidt:
    case Mnemonic.Lldt: case Mnemonic.Ltr: case Mnemonic.Sldt: case Mnemonic.Str: {
      const id = IDENTITY[ins.mnemonic]! << 28;
      const table = DESC_TABLE_LOADS.has(ins.mnemonic);
      if (ins.opKind(0) === OpKind.Memory) {
        const m = memoryInfo(ins, ctx.bits);
        const opsz = table && ctx.bits !== 64 && !isO16(ins) ? 1 << 11 : 0;
        return stash(h, { info: m.info | id | opsz, dispLo: m.dispLo, dispHi: m.dispHi });
      }
      const r = regInfo(ins.opRegister(0)).index;
      return stash(h, { info: id | (1 << 10) | (r << 3) | ((ctx.bits === 64 ? 2 : ctx.bits === 32 ? 1 : 0) << 7), dispLo: 0, dispHi: 0 });
    }
    default: return h;
  }
}

/** LGDT/LIDT/SGDT/SIDT with a 16-bit operand size (instruction-information bit 11 is 0). */
function isO16(ins: Instruction): boolean {
  const c = ins.code;
  return c === Code.Lgdt_m1632_16 || c === Code.Lidt_m1632_16 || c === Code.Sgdt_m1632_16 || c === Code.Sidt_m1632_16;
}

/** A non-faulting linear address of a memory operand from its decoded parts (for GUEST_LINEAR_ADDRESS). */
function linearOf(ins: Instruction, ctx: Ctx, seg: number, m: { dispLo: number; dispHi: number }): AddrFn {
  const base = ins.memoryBase !== 0 ? regInfo(ins.memoryBase) : undefined;
  const idx = ins.memoryIndex !== 0 ? regInfo(ins.memoryIndex) : undefined;
  const scale = ins.memoryIndexScale;
  const disp = (m.dispHi | 0) * 0x1_0000_0000 + (m.dispLo >>> 0);
  const asz = addressSize(ins, ctx.bits);
  return (c) => {
    const reg = (r: { index: number } | undefined): number => r ? (c.rh[r.index]! | 0) * 0x1_0000_0000 + (c.rl[r.index]! >>> 0) : 0;
    let off = reg(base && base.kind === 'gpr' ? base : undefined) + reg(idx && idx.kind === 'gpr' ? idx : undefined) * scale + disp;
    if (asz === 32) off = off >>> 0 === off ? off : ((off % 0x1_0000_0000) + 0x1_0000_0000) % 0x1_0000_0000;
    if (asz === 16) off = ((off % 0x10000) + 0x10000) % 0x10000;
    if (c.bits === 64) return signedToLinear((seg === FS || seg === GS ? c.segBase[seg]! : 0) + off);
    return (c.segBase[seg]! + off) % 0x1_0000_0000;
  };
}

/** Reading CR0/CR4 as the guest sees them (for the debugger): shadow bits where the host owns them. */
export function guestVisibleCr(c: Cpu, vmcs: Vmcs, n: 0 | 4): number {
  const mask = vmcs.get32(n === 0 ? F.CR0_MASK : F.CR4_MASK);
  const shadow = vmcs.get32(n === 0 ? F.CR0_SHADOW : F.CR4_SHADOW);
  return (readCr(c, n) & ~mask) | (shadow & mask);
}

/** The mnemonics wrapHandler handles (compile.ts asks it about no others). */
const WRAPPED = [
  Mnemonic.Mov, Mnemonic.Pause, Mnemonic.Monitor, Mnemonic.Mwait, Mnemonic.Rdtscp, Mnemonic.Iret, Mnemonic.Iretd,
  Mnemonic.Iretq, Mnemonic.In, Mnemonic.Out, Mnemonic.Insb, Mnemonic.Insw, Mnemonic.Insd, Mnemonic.Outsb,
  Mnemonic.Outsw, Mnemonic.Outsd, Mnemonic.Lmsw, Mnemonic.Lgdt, Mnemonic.Lidt, Mnemonic.Sgdt, Mnemonic.Sidt,
  Mnemonic.Lldt, Mnemonic.Ltr, Mnemonic.Sldt, Mnemonic.Str,
];

export function installIntercepts(): void {
  sysIntercept.hook = sysHook;
  handlerWrap.fn = wrapHandler;
  for (const m of WRAPPED) handlerWrap.mnemonics.add(m);
}
