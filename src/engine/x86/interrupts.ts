// Delivering exceptions and interrupts (SDM vol. 3, "Interrupt and Exception
// Handling"): through the IVT in real mode, through 8-byte IDT gates in
// protected mode (with the TSS stack switch on a privilege change), through
// 16-byte gates in long mode (with IST), and the double-fault / triple-fault
// rules when delivery itself faults.
//
// Task gates (hardware task switching) are not implemented: delivering through
// one stops the machine with an "unsupported" message naming it.
//
// Delivery is all-or-nothing: every check (gate, target code segment, new
// stack, room for the frame, target RIP limit/canonical form) happens before
// anything architectural is committed, and a fault while writing the frame
// restores SS:RSP and the CPL, so the nested fault sees the interrupted state.
// Frame writes on an inner stack are done at the new CPL (supervisor pages).

import type { Cpu } from './cpu';
import type { RingVia } from '../../common/trace';
import { CpuFault, MachineStop, DF, GP, NP, TS, SS as SS_VEC, PF as PF_VEC } from './fault';
import { CONTRIBUTORY, HAS_ERROR_CODE } from './vectors';
import { IF, TF, NT, RF, VM, AC, getFlags } from './flags';
import { CS, SS, RSP, DS, ES, FS, GS } from './regs';
import { readDescriptor, descriptorAddr, tssStack, tssIst, markAccessed } from './descriptors';
import { arFromDescriptor, baseFromDescriptor, limitFromDescriptor, AR_L, AR_DB, AR_P, TYPE_CODE, TYPE_CONFORMING, arDpl, AR_S, AR_UNUSABLE } from './segdesc';
import { push, adjustSp, stackAddr } from './stack';
import { writeMem } from './operands';
import { vmxHooks } from '../vmx/state';

export const enum EventKind {
  /** A fault: the saved RIP is the faulting instruction's. */
  Fault,
  /** A trap (#DB single-step, INTO, INT3 after execution): the saved RIP is the next instruction's. */
  Trap,
  /** INT n / INT3 / INTO: gate DPL is checked against CPL; saved RIP is the next instruction's. */
  Software,
  /** An external interrupt from the APIC/PIC. */
  External,
  Nmi,
  /**
   * INT1 (ICEBP): a #DB that the SDM treats as a privileged software exception:
   * saved RIP is the next instruction's, no gate DPL check, EXT = 1 in error codes.
   */
  PrivSoftware,
}

/**
 * Delivers vector `v`. For Fault, cpu.rip is the faulting instruction; for the
 * others, cpu.rip has already advanced (the run loop commits nextRip before
 * traps; INT n handlers pass through cpu.nextRip).
 */
export function deliverEvent(cpu: Cpu, v: number, kind: EventKind, errorCode: number): void {
  // VMX non-root: the event may cause a VM exit instead (exception bitmap); else it is noted for IDT-vectoring information.
  if (cpu.vmx.nonRoot && vmxHooks.event(cpu, v, kind, errorCode, cpu.cr2)) return;
  const prev = cpu.delivering;
  if (prev === DF && kind === EventKind.Fault) {
    throw new MachineStop('shutdown', `triple fault: ${faultName(v)} while delivering a double fault`);
  }
  cpu.delivering = v;
  try {
    deliver(cpu, v, kind, errorCode);
    cpu.delivering = -1;
    cpu.vmx.vectoring.valid = false;
  } catch (e) {
    cpu.delivering = prev;
    if (!(e instanceof CpuFault)) throw e;
    // VMX non-root: a fault during delivery may itself cause a VM exit (with IDT-vectoring information).
    if (cpu.vmx.nonRoot && vmxHooks.fault(cpu, e)) return;
    // A fault while delivering: benign + anything → deliver the second; contributory/PF pairs → #DF.
    const first = v;
    const second = e.vector;
    if (first === DF) throw new MachineStop('shutdown', `triple fault: ${faultName(second)} while delivering a double fault`);
    // The double-fault classes apply to exceptions only: a fault while delivering INT n
    // or an external interrupt (even on vector 13 or 14) is simply handled serially.
    const isException = kind === EventKind.Fault || kind === EventKind.Trap;
    const firstC = isException && CONTRIBUTORY.has(first), firstPF = isException && first === PF_VEC;
    const secondC = CONTRIBUTORY.has(second), secondPF = second === PF_VEC;
    if ((firstC && secondC) || (firstPF && (secondC || secondPF))) {
      if (cpu.vmx.nonRoot && vmxHooks.fault(cpu, new CpuFault(DF, 0))) return; // VMX: #DF in the exception bitmap
      if (e.vector === PF_VEC) cpu.cr2 = e.cr2;
      cpu.events.exception(cpu, DF, 0, undefined);
      cpu.delivering = DF;
      try {
        deliver(cpu, DF, EventKind.Fault, 0);
      } catch (e3) {
        cpu.delivering = -1;
        if (e3 instanceof CpuFault) throw new MachineStop('shutdown', `triple fault: ${faultName(e3.vector)} while delivering a double fault`);
        throw e3;
      }
      cpu.delivering = -1;
      return;
    }
    // Otherwise the second exception is handled serially.
    if (e.vector === PF_VEC) cpu.cr2 = e.cr2;
    cpu.events.exception(cpu, e.vector, e.errorCode, e.vector === PF_VEC ? e.cr2 : undefined);
    deliverEvent(cpu, e.vector, EventKind.Fault, e.errorCode);
  }
}

function faultName(v: number): string {
  return new CpuFault(v).toString();
}

function deliver(cpu: Cpu, v: number, kind: EventKind, errorCode: number): void {
  cpu.halted = false;
  const returnRip = kind === EventKind.Software || kind === EventKind.PrivSoftware ? cpu.nextRip : cpu.rip;
  const ext = kind === EventKind.Software ? 0 : 1;
  const pushesError = (kind === EventKind.Fault) && HAS_ERROR_CODE.has(v) && errorCode >= 0;
  if (!(cpu.cr0 & 1)) return deliverReal(cpu, v, returnRip);
  if (cpu.longMode) return deliverLong(cpu, v, kind, returnRip, ext, pushesError ? errorCode : -1);
  return deliverProtected(cpu, v, kind, returnRip, ext, pushesError ? errorCode : -1);
}

function deliverReal(cpu: Cpu, v: number, returnRip: number): void {
  if (v * 4 + 3 > cpu.idtrLimit) throw new CpuFault(GP, 0);
  const entry = cpu.idtrBase + v * 4;
  const ip = cpu.read16(entry);
  const cs = cpu.read16(entry + 2);
  const flags = getFlags(cpu);
  const sp = cpu.rl[RSP]!;
  try {
    push(cpu, 2, flags);
    push(cpu, 2, cpu.segSel[CS]!);
    push(cpu, 2, returnRip);
  } catch (e) {
    cpu.rl[RSP] = sp;
    throw e;
  }
  cpu.flags = flags & ~(IF | TF | AC | RF);
  cpu.lop = 0;
  cpu.setSegReal(CS, cs);
  cpu.rip = ip;
  cpu.nextRip = ip;
}

interface Gate { type: number; dpl: number; present: boolean; sel: number; offLo: number; offHi: number; ist: number }

function readGate(cpu: Cpu, v: number, size: 8 | 16, ext: number): Gate {
  const code = v * 8 + 2 + ext;
  if (v * size + size - 1 > cpu.idtrLimit) throw new CpuFault(GP, code);
  const la = cpu.idtrBase + v * size;
  const lo = cpu.readSys32(la), hi = cpu.readSys32(la + 4);
  const g: Gate = {
    type: (hi >>> 8) & 0x1f, dpl: (hi >>> 13) & 3, present: (hi & 0x8000) !== 0,
    sel: lo >>> 16, offLo: ((lo & 0xffff) | (hi & 0xffff0000)) >>> 0, offHi: 0, ist: hi & 7,
  };
  if (size === 16) g.offHi = cpu.readSys32(la + 8);
  return g;
}

/** Checks shared by both gate formats; returns the target code descriptor. */
function gateTarget(cpu: Cpu, v: number, g: Gate, kind: EventKind, ext: number, validTypes: number[]) {
  const code = v * 8 + 2 + ext;
  if (!validTypes.includes(g.type)) {
    // Task gates exist only outside IA-32e mode; there they need hardware task switching.
    if (g.type === 5 && !cpu.longMode) {
      throw new MachineStop('unsupported', `unsupported: task gate in IDT entry ${v} (hardware task switching)`);
    }
    throw new CpuFault(GP, code);
  }
  if (kind === EventKind.Software && g.dpl < cpu.cpl) throw new CpuFault(GP, code);
  if (!g.present) throw new CpuFault(NP, code);
  if ((g.sel & 0xfffc) === 0) throw new CpuFault(GP, ext);
  if (descriptorAddr(cpu, g.sel) < 0) throw new CpuFault(GP, (g.sel & 0xfffc) + ext);
  const d = readDescriptor(cpu, g.sel);
  const ar = arFromDescriptor(d.hi);
  if (!(ar & AR_S) || !(ar & TYPE_CODE) || arDpl(ar) > cpu.cpl) throw new CpuFault(GP, (g.sel & 0xfffc) + ext);
  if (!(ar & AR_P)) throw new CpuFault(NP, (g.sel & 0xfffc) + ext);
  return d;
}

function ringVia(kind: EventKind): RingVia {
  if (kind === EventKind.Software || kind === EventKind.PrivSoftware) return 'int';
  return kind === EventKind.External || kind === EventKind.Nmi ? 'interrupt' : 'exception';
}

/** #SS(code) unless `bytes` can be pushed below the current stack pointer. */
export function checkStackRoom(cpu: Cpu, bytes: number, code: number): void {
  try {
    stackAddr(cpu, -bytes, bytes);
  } catch (e) {
    if (e instanceof CpuFault) throw new CpuFault(SS_VEC, code);
    throw e;
  }
}

function deliverProtected(cpu: Cpu, v: number, kind: EventKind, returnRip: number, ext: number, err: number): void {
  const fromRip = cpu.rip; // the ring record names where the event happened, not the handler
  const g = readGate(cpu, v, 8, ext);
  const d = gateTarget(cpu, v, g, kind, ext, [6, 7, 14, 15]);
  const ar = arFromDescriptor(d.hi);
  const gate32 = g.type >= 14;
  const size = gate32 ? 4 : 2;
  const dpl = ar & TYPE_CONFORMING ? cpu.cpl : arDpl(ar);
  const oldFlags = getFlags(cpu);
  const oldCs = cpu.segSel[CS]!, oldSs = cpu.segSel[SS]!, oldEsp = cpu.rl[RSP]!, oldEspHi = cpu.rh[RSP]!;
  const fromVm86 = (oldFlags & VM) !== 0;
  const oldCpl = cpu.cpl;
  const target = gate32 ? g.offLo : g.offLo & 0xffff;
  const inner = dpl < cpu.cpl || fromVm86;
  if (fromVm86 && dpl !== 0) throw new CpuFault(GP, (g.sel & 0xfffc) + ext);
  const frameSlots = (inner ? (fromVm86 ? 9 : 5) : 3) + (err >= 0 ? 1 : 0);

  const savedSs = { base: cpu.segBase[SS]!, limit: cpu.segLimit[SS]!, ar: cpu.segAttr[SS]! };
  const savedStackSize = cpu.stackSize;
  try {
    if (inner) {
      const st = tssStack(cpu, dpl);
      loadStackForRing(cpu, st.ss, dpl, ext);
      cpu.rl[RSP] = st.spLo; cpu.rh[RSP] = 0;
      cpu.stackSize = cpu.segAttr[SS]! & AR_DB ? 4 : 2;
      cpu.setCpl(dpl); // the frame is written with the handler's privilege
      checkStackRoom(cpu, frameSlots * size, (st.ss & 0xfffc) + ext);
      if (target > limitFromDescriptor(d.lo, d.hi)) throw new CpuFault(GP, ext);
      if (fromVm86) {
        push(cpu, size, cpu.segSel[GS]!); push(cpu, size, cpu.segSel[FS]!);
        push(cpu, size, cpu.segSel[DS]!); push(cpu, size, cpu.segSel[ES]!);
      }
      push(cpu, size, oldSs);
      push(cpu, size, oldEsp);
    } else {
      checkStackRoom(cpu, frameSlots * size, ext);
      if (target > limitFromDescriptor(d.lo, d.hi)) throw new CpuFault(GP, ext);
    }
    push(cpu, size, oldFlags);
    push(cpu, size, oldCs);
    push(cpu, size, returnRip);
    if (err >= 0) push(cpu, size, err);
  } catch (e) {
    cpu.setSegment(SS, oldSs, savedSs.base, savedSs.limit, savedSs.ar);
    cpu.rl[RSP] = oldEsp; cpu.rh[RSP] = oldEspHi;
    cpu.stackSize = savedStackSize;
    cpu.setCpl(oldCpl);
    throw e;
  }

  markAccessed(cpu, d);
  cpu.setSegment(CS, (g.sel & 0xfffc) | dpl, baseFromDescriptor(d.lo, d.hi), limitFromDescriptor(d.lo, d.hi), ar | 1);
  if (fromVm86) for (const s of [DS, ES, FS, GS]) cpu.setSegment(s, 0, 0, 0, AR_UNUSABLE);
  let nf = oldFlags & ~(TF | NT | RF | VM);
  if (!(g.type & 1)) nf &= ~IF;
  cpu.flags = nf;
  cpu.lop = 0;
  cpu.rip = target;
  cpu.nextRip = cpu.rip;
  cpu.setCpl(oldCpl);
  cpu.updateMode();
  if (dpl !== oldCpl) cpu.changeRing(dpl, ringVia(kind), fromRip);
}

/** Loads SS for an inner-ring stack from the TSS, with the #TS checks of the SDM. */
function loadStackForRing(cpu: Cpu, ss: number, dpl: number, ext: number): void {
  if ((ss & 0xfffc) === 0) throw new CpuFault(TS, ext);
  if ((ss & 3) !== dpl) throw new CpuFault(TS, (ss & 0xfffc) + ext);
  if (descriptorAddr(cpu, ss) < 0) throw new CpuFault(TS, (ss & 0xfffc) + ext);
  const d = readDescriptor(cpu, ss, TS);
  const ar = arFromDescriptor(d.hi);
  if (arDpl(ar) !== dpl || !(ar & AR_S) || (ar & TYPE_CODE) || !(ar & 2)) throw new CpuFault(TS, (ss & 0xfffc) + ext);
  if (!(ar & AR_P)) throw new CpuFault(SS_VEC, (ss & 0xfffc) + ext);
  markAccessed(cpu, d);
  cpu.setSegment(SS, ss, baseFromDescriptor(d.lo, d.hi), limitFromDescriptor(d.lo, d.hi), ar | 1);
}

function deliverLong(cpu: Cpu, v: number, kind: EventKind, returnRip: number, ext: number, err: number): void {
  const fromRip = cpu.rip; // the ring record names where the event happened, not the handler
  const g = readGate(cpu, v, 16, ext);
  const d = gateTarget(cpu, v, g, kind, ext, [14, 15]);
  const ar = arFromDescriptor(d.hi);
  if (!(ar & AR_L) || (ar & AR_DB)) throw new CpuFault(GP, (g.sel & 0xfffc) + ext);
  const dpl = ar & TYPE_CONFORMING ? cpu.cpl : arDpl(ar);
  const oldFlags = getFlags(cpu);
  const oldCs = cpu.segSel[CS]!, oldSs = cpu.segSel[SS]!;
  const oldRspLo = cpu.rl[RSP]!, oldRspHi = cpu.rh[RSP]!;
  const oldCpl = cpu.cpl;
  const retLo = returnRip | 0;
  const retHi = Math.floor(returnRip / 0x1_0000_0000) | 0;
  // The target RIP must be canonical; checked before anything is written (#GP(EXT)).
  const offHi = g.offHi | 0;
  if ((offHi >> 15) !== (offHi >> 31)) throw new CpuFault(GP, ext);

  // New stack: IST if the gate names one, else RSPn on a privilege change, else the current stack.
  let newLo = oldRspLo, newHi = oldRspHi;
  if (g.ist) { const s = tssIst(cpu, g.ist); newLo = s.lo; newHi = s.hi; }
  else if (dpl < cpu.cpl) { const s = tssStack(cpu, dpl); newLo = s.spLo; newHi = s.spHi; }
  newLo &= ~0xf; // the frame is 16-byte aligned

  const savedCpl = cpu.cpl;
  const savedSs = { sel: oldSs, base: cpu.segBase[SS]!, limit: cpu.segLimit[SS]!, ar: cpu.segAttr[SS]! };
  const savedStackSize = cpu.stackSize;
  cpu.stackSize = 8; // IA-32e delivery always pushes 8-byte slots, even from compatibility mode
  try {
    cpu.rl[RSP] = newLo; cpu.rh[RSP] = newHi;
    if (dpl < cpu.cpl) cpu.setSegment(SS, dpl, 0, 0, AR_UNUSABLE | (dpl << 5));
    cpu.setCpl(dpl);
    // Frame: SS, RSP, RFLAGS, CS, RIP, [error code], each 8 bytes; written before anything commits.
    writeFrame(cpu, [oldSs, 0, oldRspLo, oldRspHi, oldFlags, 0, oldCs, 0, retLo, retHi], err);
  } catch (e) {
    cpu.rl[RSP] = oldRspLo; cpu.rh[RSP] = oldRspHi;
    cpu.setSegment(SS, savedSs.sel, savedSs.base, savedSs.limit, savedSs.ar);
    cpu.setCpl(savedCpl);
    cpu.stackSize = savedStackSize;
    throw e;
  }
  markAccessed(cpu, d);
  cpu.setSegment(CS, (g.sel & 0xfffc) | dpl, 0, limitFromDescriptor(d.lo, d.hi), ar | 1);
  let nf = oldFlags & ~(TF | NT | RF | VM);
  if (!(g.type & 1)) nf &= ~IF;
  cpu.flags = nf;
  cpu.lop = 0;
  cpu.rip = offHi * 0x1_0000_0000 + (g.offLo >>> 0);
  cpu.nextRip = cpu.rip;
  cpu.setCpl(oldCpl);
  cpu.updateMode();
  if (dpl !== oldCpl) cpu.changeRing(dpl, ringVia(kind), fromRip);
}

function writeFrame(cpu: Cpu, q: number[], err: number): void {
  // q holds SS, RSP, RFLAGS, CS, RIP as lo/hi pairs, pushed in that order.
  for (let i = 0; i < q.length; i += 2) push(cpu, 8, q[i]!, q[i + 1]!);
  if (err >= 0) push(cpu, 8, err, 0);
}

// Kept for families that build frames by hand.
export { adjustSp, writeMem };
