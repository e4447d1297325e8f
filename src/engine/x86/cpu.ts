// One virtual CPU: architectural state, linear memory access through a TLB,
// and the fetch/execute loop over cached blocks of compiled instructions.
//
// Representation choices (the why):
// - 64-bit registers are int32 lo/hi halves in typed arrays: exact 64-bit
//   arithmetic without BigInt allocation in the hot loop.
// - RIP and linear addresses are plain numbers. In 64-bit mode they are
//   canonical, so the signed value fits in 48 bits; linear addresses are
//   masked to 48 bits (0 .. 2^48-1) for the TLB and the paging walk.
// - Decoded instructions are cached per physical address as blocks of
//   closures (one per instruction) built once by compile.ts; a write to a
//   code page drops that page's blocks.
// - Architectural faults are thrown as CpuFault and delivered by the run loop.

import { FlagState, getFlags, IF, TF, AC as FLAG_AC, VM as FLAG_VM, RF, materialize } from './flags';
import { CpuFault, MachineStop, GP, SS as SS_VEC, PF as PF_VEC, DB } from './fault';
import { CS, SS, DS, ES, FS, GS, TR, LDTR } from './regs';
import { AR_DB, AR_L, AR_P, AR_REAL_CODE, AR_REAL_DATA, AR_S, AR_UNUSABLE, TYPE_CODE, TYPE_EXPAND_DOWN, AR_G } from './segdesc';
import type { PhysicalMemory } from '../mmu/physmem';
import { PAGE_SHIFT } from '../mmu/physmem';
import {
  walk, PERM_SR, PERM_SW, PERM_UR, PERM_UW, PERM_SX, PERM_UX, CR0_PG, CR0_PE, CR4_PAE, EFER_LMA, EFER_LME,
  PFEC_P, type PagingRegs, type WalkResult, type Access,
} from '../mmu/paging';
import type { IoBus } from '../devices/bus';
import type { CpuInterruptLines } from '../devices/types';
import type { CpuMode, RingVia } from '../../common/trace';
import { normalizeUnsupported } from './unsupported';
import { compileBlock, jitBlock, JIT_THRESHOLD, type Block } from './compile';
import { deliverEvent, EventKind } from './interrupts';
import { VmxState, VmExitSignal, vmxHooks } from '../vmx/state';

const TLB_BITS = 10;
const TLB_SIZE = 1 << TLB_BITS;
const TLB_MASK = TLB_SIZE - 1;
const TWO32 = 0x1_0000_0000;
const FAST_SIZE = 4096;
/** Self-modifying stores into a page's decoded code before its blocks shrink to one instruction. */
const SMC_THRESHOLD = 8;

/** Why run() returned. */
export const enum Exit {
  /** The instruction budget is used up. */
  Budget = 0,
  /** HLT with nothing to wake it (interrupts disabled or none pending). */
  Halted,
  /** The guest wrote to the debug-exit port, or a device asked to stop. */
  Stopped,
  /** A breakpoint address was reached (before executing it). */
  Breakpoint,
  /** A debugger-requested event stop (trace filter hit). */
  Event,
  /** Unsupported instruction, triple fault or internal error: see cpu.stop. */
  Fatal,
}

/** Receives the vCPU's architectural events (the machine turns them into trace records). */
export interface CpuEvents {
  /** `rip`: where the transition happened (the instruction, or the interrupted one), when not cpu.rip. */
  ring(cpu: Cpu, from: number, to: number, via: RingVia, rip?: number): void;
  mode(cpu: Cpu, from: CpuMode, to: CpuMode): void;
  exception(cpu: Cpu, vector: number, errorCode: number, cr2: number | undefined): void;
  /** VMX (src/engine/vmx): a VM exit, a successful VM entry, a failed VM entry (optional for listeners without VMX). */
  vmexit?(cpu: Cpu, e: VmExitEvent): void;
  vmentry?(cpu: Cpu, launch: boolean): void;
  vmentryFailure?(cpu: Cpu, f: VmEntryFailureEvent): void;
}

/** A VM exit as the trace reports it (64-bit values as unsigned bigints). */
export interface VmExitEvent {
  reason: number;
  qualification: bigint;
  guestRip: bigint;
  guestPhysical?: bigint;
  guestLinear?: bigint;
}
/** A failed VM entry: which check, on which VMCS field, from which SDM section. */
export interface VmEntryFailureEvent { check: string; field: string; sdm: string; exitReason?: 33 | 34 }

const noEvents: CpuEvents = { ring() {}, mode() {}, exception() {}, vmexit() {}, vmentry() {}, vmentryFailure() {} };

export class Cpu extends FlagState {
  // ---- general registers, RIP -------------------------------------------
  readonly rl = new Int32Array(16);
  readonly rh = new Int32Array(16);
  /** RIP of the instruction being executed (or next to execute between instructions). */
  rip = 0;
  /** RIP after the current instruction; branches overwrite it. */
  nextRip = 0;

  // ---- segments (hidden parts in segdesc.ts format) ---------------------
  readonly segSel = new Int32Array(8);
  readonly segBase = new Float64Array(8);
  readonly segLimit = new Float64Array(8);
  readonly segAttr = new Int32Array(8);
  /** Lowest and highest valid offsets (limit checks for expand-up/down; null → empty). */
  readonly segLo = new Float64Array(8);
  readonly segHi = new Float64Array(8);
  gdtrBase = 0; gdtrLimit = 0xffff;
  idtrBase = 0; idtrLimit = 0xffff;

  // ---- control, debug, model-specific -----------------------------------
  cr0 = 0x60000010;
  cr2 = 0;
  cr3lo = 0; cr3hi = 0;
  cr4 = 0;
  cr8 = 0;
  efer = 0;
  xcr0 = 1;
  readonly dr = new Float64Array(8);
  /** MSRs without dedicated fields, as 64-bit bigints (rare accesses). */
  readonly msr = new Map<number, bigint>();
  tscOffset = 0;

  // ---- SSE / x87 ---------------------------------------------------------
  readonly xmm = new Int32Array(16 * 4);
  mxcsr = 0x1f80;
  fpuCw = 0x37f; fpuSw = 0; fpuTw = 0xffff;
  readonly fpuRegs = new Uint8Array(8 * 10);

  // ---- derived mode ------------------------------------------------------
  cpl = 0;
  /** Default code size: 16, 32 or 64. */
  bits: 16 | 32 | 64 = 16;
  /** Stack-pointer width in bytes for implicit stack accesses (2, 4, 8). */
  stackSize = 2;
  modeName: CpuMode = 'real';
  /** Permission bits the current CPL needs for data reads, writes and fetches. */
  permR = PERM_SR; permW = PERM_SW; permX = PERM_SX;

  // ---- execution state ---------------------------------------------------
  icount = 0;
  /**
   * Iterations of REP string instructions. A REP instruction retires once
   * (icount), however many iterations it runs; this counts the work, for
   * progress measures and statistics.
   */
  repIterations = 0;
  /** Blocks decoded and compiled so far (diagnostics: the decode cache's misses). */
  blocksCompiled = 0;
  halted = false;
  /** Waiting for SIPI (an AP after INIT). */
  waitForSipi = false;
  /** Interrupts are inhibited for one instruction (STI, MOV SS, POP SS). */
  intShadow = false;
  /** The instruction executing now is the one in an interrupt shadow (intShadow was consumed for it). */
  inShadow = false;
  /** Set by a handler to end the current block after this instruction. */
  exitBlock = false;
  /** Why the last run() ended with Exit.Fatal / Exit.Stopped. */
  stop: MachineStop | undefined;
  /** Scratch for 64-bit values returned by readers (hi half). */
  hi = 0;
  /** Exception being delivered (for double/triple fault rules), -1 when none. */
  delivering = -1;

  events: CpuEvents = noEvents;
  lines: CpuInterruptLines | undefined;
  /** Linear addresses (RIP values) that stop execution before they run. */
  readonly breakpoints = new Set<number>();
  private readonly bpPages = new Map<number, number>();
  /** Ignore a breakpoint at this RIP once (resuming from it). */
  skipBreakpointAt = Number.NaN;
  /** Fuse hot blocks into JavaScript functions (block-jit.ts); off only to compare against the closures. */
  jitEnabled = true;
  /** An external request (pause, device stop) ends run() at the next block boundary. */
  stopRequested = false;
  /**
   * Debugger read/access watches (src/targets/emulator-watch.ts): physical
   * page numbers never cached in the TLB, so every data access to them takes
   * tlbMiss, which reports it to onWatchedAccess (before the access happens;
   * instruction fetches are not reported). Undefined when no such watch is
   * set, so the hot path pays nothing. Flush the TLB when this changes.
   */
  watchPhysPages: Set<number> | undefined = undefined;
  onWatchedAccess: ((la: number, pa: number, write: boolean) => void) | undefined = undefined;
  /** VMX operation (src/engine/vmx/state.ts). */
  readonly vmx = new VmxState();

  // ---- TLB ---------------------------------------------------------------
  private readonly tlbTag = new Float64Array(TLB_SIZE).fill(-1);
  private readonly tlbPa = new Float64Array(TLB_SIZE);
  private readonly tlbPerm = new Uint8Array(TLB_SIZE);
  private readonly tlbGlobal = new Uint8Array(TLB_SIZE);
  /**
   * Slots filled since the last full flush, so a flush clears only those
   * instead of the whole table (VM entries/exits flush every time). A slot may
   * appear twice (refilled after INVLPG); past TLB_SIZE entries the flush
   * falls back to clearing everything.
   */
  private readonly tlbUsed = new Int32Array(TLB_SIZE);
  private tlbUsedN = 0;

  // ---- decode cache ------------------------------------------------------
  /**
   * Direct-mapped cache linear RIP → block. An entry holds for the code size
   * and user/supervisor class it was fetched with (part of its key, so ring
   * changes need no flush) and for one generation: anything that changes
   * translations or code bumps fastGen, invalidating every entry at once.
   */
  private readonly fastTag = new Float64Array(FAST_SIZE).fill(-1);
  private readonly fastKey = new Float64Array(FAST_SIZE);
  private readonly fastBlock: (Block | undefined)[] = new Array(FAST_SIZE);
  private fastGen = 1;
  private readonly blocks = new Map<number, Block>();
  /** Stores that hit decoded code, per page: past SMC_THRESHOLD the page gets one-instruction blocks. */
  private readonly smcCount = new Map<number, number>();
  private readonly pageBlocks = new Map<number, number[]>();
  readonly view: DataView;
  private readonly ramSize: number;
  /** Pages holding decoded code (physmem's table): writes there take the checked path. */
  private readonly codePages: Uint8Array;

  constructor(readonly id: number, readonly mem: PhysicalMemory, public io: IoBus) {
    super();
    this.view = mem.view;
    this.ramSize = mem.size;
    this.codePages = mem.codePages;
    this.reset();
    vmxHooks.attach(this); // VMX capability MSRs
  }

  // ======================================================================
  // Reset and mode
  // ======================================================================

  /** Power-on / INIT state (SDM vol. 3, "Processor State After Reset"). */
  reset(): void {
    this.rl.fill(0); this.rh.fill(0);
    this.rl[2] = 0x663; // EDX: the family/model/stepping signature of CPUID.1, as QEMU's qemu64 gives it
    this.flags = 2; this.lop = 0;
    this.cr0 = 0x60000010; this.cr2 = 0; this.cr3lo = 0; this.cr3hi = 0; this.cr4 = 0; this.cr8 = 0; this.efer = 0;
    this.dr.fill(0); this.dr[6] = 0xffff0ff0; this.dr[7] = 0x400;
    for (let s = 0; s < 6; s++) this.setSegReal(s, 0);
    this.setSegment(CS, 0xf000, 0xffff0000, 0xffff, AR_REAL_CODE);
    this.setSegment(LDTR, 0, 0, 0xffff, AR_P | 2);
    this.setSegment(TR, 0, 0, 0xffff, AR_P | 11);
    this.gdtrBase = 0; this.gdtrLimit = 0xffff; this.idtrBase = 0; this.idtrLimit = 0xffff;
    this.rip = 0xfff0;
    this.xcr0 = 1;
    this.xmm.fill(0); this.mxcsr = 0x1f80; this.fpuCw = 0x37f; this.fpuSw = 0; this.fpuTw = 0xffff;
    this.halted = false; this.intShadow = false; this.delivering = -1;
    this.tscOffset = 0;
    this.flushTlb(true);
    this.updateMode();
  }

  get rflags(): number { return getFlags(this); }
  set rflags(v: number) {
    const hadAc = (this.flags & FLAG_AC) !== 0;
    this.lop = 0;
    this.flags = (v & 0x3f7fd7) | 2;
    if (hadAc !== ((v & FLAG_AC) !== 0)) this.flushTlb(true); // SMAP decisions are cached in the TLB
  }
  get interruptsEnabled(): boolean { return (this.flags & IF) !== 0; }

  get longMode(): boolean { return (this.efer & EFER_LMA) !== 0; }

  /** Recomputes everything derived from CR0, EFER, CS and SS; emits a mode record on change. */
  updateMode(): void {
    const prev = this.modeName;
    const csAr = this.segAttr[CS]!;
    if (this.longMode && (csAr & AR_L)) { this.bits = 64; this.modeName = 'long'; }
    else {
      this.bits = csAr & AR_DB ? 32 : 16;
      this.modeName = !(this.cr0 & CR0_PE) ? 'real' : this.longMode ? 'compat' : 'protected';
    }
    this.stackSize = this.bits === 64 ? 8 : (this.segAttr[SS]! & AR_DB) ? 4 : 2;
    const cpl = !(this.cr0 & CR0_PE) ? 0 : (this.flags & FLAG_VM) ? 3 : this.cpl;
    this.setCpl(cpl);
    if (prev !== this.modeName) this.events.mode(this, prev, this.modeName);
  }

  setCpl(cpl: number): void {
    this.cpl = cpl;
    const user = cpl === 3;
    this.permR = user ? PERM_UR : PERM_SR;
    this.permW = user ? PERM_UW : PERM_SW;
    this.permX = user ? PERM_UX : PERM_SX;
  }

  /** Changes CPL and reports a ring transition (at `atRip` when RIP has already moved to the target). */
  changeRing(to: number, via: RingVia, atRip?: number): void {
    const from = this.cpl;
    this.setCpl(to);
    if (from !== to) this.events.ring(this, from, to, via, atRip);
  }

  // ======================================================================
  // Segments
  // ======================================================================

  /** Loads a segment's cached part directly (descriptor checks are the caller's job). */
  setSegment(s: number, sel: number, base: number, limit: number, ar: number): void {
    this.segSel[s] = sel & 0xffff;
    this.segBase[s] = base;
    this.segLimit[s] = limit;
    this.segAttr[s] = ar;
    if (ar & AR_UNUSABLE || !(ar & AR_P)) { this.segLo[s] = 1; this.segHi[s] = 0; }
    else if ((ar & AR_S) && !(ar & TYPE_CODE) && (ar & TYPE_EXPAND_DOWN)) {
      this.segLo[s] = limit + 1;
      this.segHi[s] = ar & AR_DB ? 0xffffffff : 0xffff;
    } else { this.segLo[s] = 0; this.segHi[s] = limit; }
  }

  /** Real-mode / VM86 segment load: base = selector × 16. */
  setSegReal(s: number, sel: number): void {
    const ar = s === CS ? AR_REAL_CODE : AR_REAL_DATA;
    // Real mode keeps the cached limit and rights ("unreal mode"); only at reset or in VM86 they are 64 KiB.
    if (this.cr0 & CR0_PE || this.segLimit[s] === 0 || (this.flags & FLAG_VM)) {
      this.setSegment(s, sel, (sel & 0xffff) * 16, 0xffff, (this.flags & FLAG_VM) ? ar | (3 << 5) : ar);
    } else {
      this.segSel[s] = sel & 0xffff;
      this.segBase[s] = (sel & 0xffff) * 16;
    }
  }

  /** Whether a segment is flat with base 0 (64-bit mode ignores CS/DS/ES/SS bases). */
  segIsFlat(s: number): boolean {
    return this.segBase[s] === 0 && this.segLo[s] === 0 && this.segHi[s] === 0xffffffff;
  }

  /**
   * Linear address of [seg:off] for a `size`-byte access in 16/32-bit modes,
   * with the segment limit check. `off` is already masked to the address size.
   */
  segAddr(s: number, off: number, size: number): number {
    if (off < this.segLo[s]! || off + size - 1 > this.segHi[s]!) this.segFault(s);
    return (this.segBase[s]! + off) % TWO32;
  }

  segFault(s: number): never {
    throw new CpuFault(s === SS ? SS_VEC : GP, 0);
  }

  // ======================================================================
  // Linear memory access (hot)
  // ======================================================================

  private translate(la: number, need: number, write: boolean, fetch: boolean): number {
    const i = (la >>> 12) & TLB_MASK;
    const off = la & 0xfff;
    if (this.tlbTag[i] === la - off && (this.tlbPerm[i]! & need) !== 0) return this.tlbPa[i]! + off;
    return this.tlbMiss(la, need, write, fetch);
  }

  private tlbMiss(la: number, need: number, write: boolean, fetch: boolean): number {
    const acc: Access = { write, user: need === PERM_UR || need === PERM_UW || need === PERM_UX, fetch };
    // VMX non-root with EPT or an APIC-access page: the engine's two-stage walk (may end in a VM exit).
    const w = this.vmx.mmuHook ? vmxHooks.walk(this, la, acc) : walk(this.mem, this.pagingRegs(), la, acc, true);
    if (!w.ok) throw new CpuFault(PF_VEC, w.errorCode, la);
    const off = la & 0xfff;
    const pageBase = la - off;
    const paPage = w.pa - (w.pa & 0xfff);
    const watched = this.watchPhysPages;
    if (watched !== undefined && watched.has(paPage / 4096)) {
      // Not cached: the next access to this page comes back here too.
      if (!fetch) this.onWatchedAccess?.(la, w.pa, write);
      return w.pa;
    }
    // MMIO pages and pages beyond RAM are never cached: every access takes the bus path.
    if (paPage + 4096 <= this.ramSize) {
      const i = (la >>> 12) & TLB_MASK;
      if (this.tlbTag[i] === -1 && this.tlbUsedN < TLB_SIZE) this.tlbUsed[this.tlbUsedN++] = i;
      this.tlbTag[i] = pageBase;
      this.tlbPa[i] = paPage;
      this.tlbPerm[i] = w.perm;
      this.tlbGlobal[i] = w.global ? 1 : 0;
    }
    return w.pa;
  }

  pagingRegs(): PagingRegs {
    return { cr0: this.cr0, cr3lo: this.cr3lo, cr3hi: this.cr3hi, cr4: this.cr4, efer: this.efer, ac: (this.flags & FLAG_AC) !== 0 };
  }

  /** Debugger walk: no side effects, never throws. */
  walkForDebugger(la: number, acc: Access = { write: false, user: false, fetch: false }): WalkResult {
    return walk(this.mem, this.pagingRegs(), la, acc, false);
  }

  /** Drops TLB entries (all, or all but global ones). */
  flushTlb(includingGlobal: boolean): void {
    this.fastGen++;
    const n = this.tlbUsedN;
    if (n >= TLB_SIZE) {
      // The list overflowed: it may miss slots, so sweep the whole table.
      if (includingGlobal) this.tlbTag.fill(-1);
      else for (let i = 0; i < TLB_SIZE; i++) if (!this.tlbGlobal[i]) this.tlbTag[i] = -1;
    } else if (includingGlobal) {
      for (let k = 0; k < n; k++) this.tlbTag[this.tlbUsed[k]!] = -1;
    } else {
      for (let k = 0; k < n; k++) { const i = this.tlbUsed[k]!; if (!this.tlbGlobal[i]) this.tlbTag[i] = -1; }
    }
    this.tlbUsedN = 0;
    if (!includingGlobal) {
      // Surviving global entries stay listed so the next flush still finds them.
      for (let i = 0; i < TLB_SIZE && n >= TLB_SIZE; i++) if (this.tlbTag[i] !== -1) this.tlbUsed[this.tlbUsedN++] = i;
      if (n < TLB_SIZE) for (let k = 0; k < n; k++) { const i = this.tlbUsed[k]!; if (this.tlbTag[i] !== -1) this.tlbUsed[this.tlbUsedN++] = i; }
    }
  }

  /** INVLPG: drops the entry for one linear address (any page size: flush all large-page aliases too). */
  invlpg(la: number): void {
    this.fastGen++;
    const i = (la >>> 12) & TLB_MASK;
    this.tlbTag[i] = -1;
    // A large page (2M, 4M or 1G) may be cached under several 4K tags; drop its whole 1G region conservatively.
    for (let j = 0; j < TLB_SIZE; j++) {
      const t = this.tlbTag[j]!;
      if (t >= 0 && Math.floor(t / 0x40000000) === Math.floor(la / 0x40000000)) this.tlbTag[j] = -1;
    }
  }

  read8(la: number): number {
    const pa = this.translate(la, this.permR, false, false);
    return pa < this.ramSize ? this.mem.bytes[pa]! : this.mem.read8(pa);
  }
  read16(la: number): number {
    if ((la & 0xfff) > 0xffe) return this.readSplit(la, 2, false);
    const pa = this.translate(la, this.permR, false, false);
    return pa + 2 <= this.ramSize ? this.view.getUint16(pa, true) : this.mem.read16(pa);
  }
  read32(la: number): number {
    const off = la & 0xfff;
    if (off > 0xffc) return this.readSplit(la, 4, false) | 0;
    // The TLB probe is written out here: this is the hottest path of the emulator.
    const i = (la >>> 12) & TLB_MASK;
    const pa = this.tlbTag[i] === la - off && (this.tlbPerm[i]! & this.permR) !== 0
      ? this.tlbPa[i]! + off : this.tlbMiss(la, this.permR, false, false);
    return pa + 4 <= this.ramSize ? this.view.getInt32(pa, true) : this.mem.read32(pa);
  }
  /** Returns the low dword; the high dword is left in this.hi. */
  read64(la: number): number {
    if ((la & 0xfff) > 0xff8) {
      const lo = this.readSplit(la, 4, false) | 0;
      this.hi = this.readSplit(laAdd(la, 4, this.bits), 4, false) | 0;
      return lo;
    }
    const off = la & 0xfff;
    const i = (la >>> 12) & TLB_MASK;
    const pa = this.tlbTag[i] === la - off && (this.tlbPerm[i]! & this.permR) !== 0
      ? this.tlbPa[i]! + off : this.tlbMiss(la, this.permR, false, false);
    if (pa + 8 <= this.ramSize) { this.hi = this.view.getInt32(pa + 4, true); return this.view.getInt32(pa, true); }
    const lo = this.mem.read32(pa);
    this.hi = this.mem.read32(pa + 4);
    return lo;
  }

  /** Reads for a read-modify-write: checks write permission up front, as hardware does. */
  read8w(la: number): number {
    const pa = this.translate(la, this.permW, true, false);
    return pa < this.ramSize ? this.mem.bytes[pa]! : this.mem.read8(pa);
  }
  read16w(la: number): number {
    if ((la & 0xfff) > 0xffe) return this.readSplit(la, 2, true);
    const pa = this.translate(la, this.permW, true, false);
    return pa + 2 <= this.ramSize ? this.view.getUint16(pa, true) : this.mem.read16(pa);
  }
  read32w(la: number): number {
    if ((la & 0xfff) > 0xffc) return this.readSplit(la, 4, true) | 0;
    const pa = this.translate(la, this.permW, true, false);
    return pa + 4 <= this.ramSize ? this.view.getInt32(pa, true) : this.mem.read32(pa);
  }
  read64w(la: number): number {
    if ((la & 0xfff) > 0xff8) {
      const lo = this.readSplit(la, 4, true) | 0;
      this.hi = this.readSplit(laAdd(la, 4, this.bits), 4, true) | 0;
      return lo;
    }
    const pa = this.translate(la, this.permW, true, false);
    if (pa + 8 <= this.ramSize) { this.hi = this.view.getInt32(pa + 4, true); return this.view.getInt32(pa, true); }
    const lo = this.mem.read32(pa);
    this.hi = this.mem.read32(pa + 4);
    return lo;
  }

  write8(la: number, v: number): void {
    const pa = this.translate(la, this.permW, true, false);
    this.mem.write8(pa, v & 0xff);
  }
  write16(la: number, v: number): void {
    if ((la & 0xfff) > 0xffe) { this.writeSplit(la, 2, v); return; }
    this.mem.write16(this.translate(la, this.permW, true, false), v & 0xffff);
  }
  write32(la: number, v: number): void {
    const off = la & 0xfff;
    if (off > 0xffc) { this.writeSplit(la, 4, v); return; }
    const i = (la >>> 12) & TLB_MASK;
    const pa = this.tlbTag[i] === la - off && (this.tlbPerm[i]! & this.permW) !== 0
      ? this.tlbPa[i]! + off : this.tlbMiss(la, this.permW, true, false);
    if (pa + 4 <= this.ramSize && this.codePages[pa >>> 12] === 0) this.view.setInt32(pa, v, true);
    else this.mem.write32(pa, v);
  }
  write64(la: number, lo: number, hi: number): void {
    if ((la & 0xfff) > 0xff8) {
      // Check both pages before writing either half, so a fault leaves memory unchanged.
      this.translate(la, this.permW, true, false);
      this.translate(laAdd(la, 0x1000 - (la & 0xfff), this.bits), this.permW, true, false); // CR2 = first byte on the next page
      this.writeSplit(la, 4, lo);
      this.writeSplit(laAdd(la, 4, this.bits), 4, hi);
      return;
    }
    const off = la & 0xfff;
    const i = (la >>> 12) & TLB_MASK;
    const pa = this.tlbTag[i] === la - off && (this.tlbPerm[i]! & this.permW) !== 0
      ? this.tlbPa[i]! + off : this.tlbMiss(la, this.permW, true, false);
    if (pa + 8 <= this.ramSize && this.codePages[pa >>> 12] === 0) {
      this.view.setInt32(pa, lo, true);
      this.view.setInt32(pa + 4, hi, true);
      return;
    }
    this.mem.write32(pa, lo);
    this.mem.write32(pa + 4, hi);
  }

  /** An access that crosses a page boundary: translate both pages first, then move bytes. */
  private readSplit(la: number, size: number, forWrite: boolean): number {
    const need = forWrite ? this.permW : this.permR;
    const pa0 = this.translate(la, need, forWrite, false);
    // Probe the first byte past the page boundary: a #PF there reports that address in CR2.
    const la1 = (la & 0xfff) + size > 0x1000 ? laAdd(la, 0x1000 - (la & 0xfff), this.bits) : la;
    this.translate(la1, need, forWrite, false);
    let v = 0;
    for (let i = size - 1; i >= 0; i--) {
      const a = laAdd(la, i, this.bits);
      const pa = (a & 0xfff) >= (la & 0xfff) && i <= 0xfff - (la & 0xfff) ? pa0 + i : this.translate(a, need, forWrite, false);
      v = v * 256 + this.mem.read8(pa);
    }
    return v;
  }

  private writeSplit(la: number, size: number, v: number): void {
    const pas: number[] = [];
    for (let i = 0; i < size; i++) pas.push(this.translate(laAdd(la, i, this.bits), this.permW, true, false));
    for (let i = 0; i < size; i++) this.mem.write8(pas[i]!, (v >>> (8 * i)) & 0xff);
  }

  /** Supervisor-implicit access (descriptor tables, TSS, IDT): CPL-independent permissions. */
  readSys32(la: number): number {
    const save = this.cpl;
    if (save === 3) this.setCpl(0);
    try { return this.read32(la); } finally { if (save === 3) this.setCpl(save); }
  }
  writeSys32(la: number, v: number): void {
    const save = this.cpl;
    if (save === 3) this.setCpl(0);
    try { this.write32(la, v); } finally { if (save === 3) this.setCpl(save); }
  }
  readSys16(la: number): number {
    const save = this.cpl;
    if (save === 3) this.setCpl(0);
    try { return this.read16(la); } finally { if (save === 3) this.setCpl(save); }
  }

  /** Translates a data address as a read or write would (permissions, A/D bits, #PF) without accessing memory. */
  probe(la: number, write: boolean): number {
    return this.translate(la, write ? this.permW : this.permR, write, false);
  }

  /** Translates a fetch address (exec permission) to physical. */
  fetchPhys(la: number): number {
    return this.translate(la, this.permX, false, true);
  }

  // ======================================================================
  // Decode cache
  // ======================================================================

  private blockKey(pa: number): number {
    return pa * 4 + (this.bits === 64 ? 2 : this.bits === 32 ? 1 : 0);
  }

  /** Called by physical memory when a code page is written. */
  /**
   * Drops the cached blocks of a code page that a write of `len` bytes at
   * `pa` overlaps (all of them when no range is given). A store next to code
   * — data sharing a page with it — leaves the page's blocks alone.
   */
  invalidateCodePage(page: number, pa?: number, len = 1): void {
    const keys = this.pageBlocks.get(page);
    let dropped = false;
    if (keys) {
      const keep: number[] = [];
      for (const k of keys) {
        const b = this.blocks.get(k);
        if (b && pa !== undefined && !(pa < b.pa + b.size && b.pa < pa + len)) { keep.push(k); continue; }
        this.blocks.delete(k);
        dropped = true;
      }
      if (dropped && pa !== undefined) this.smcCount.set(page, (this.smcCount.get(page) ?? 0) + 1);
      if (keep.length > 0) this.pageBlocks.set(page, keep);
      else this.pageBlocks.delete(page);
    }
    if (!this.pageBlocks.has(page)) this.mem.codePages[page] = 0;
    if (dropped || pa === undefined) this.fastGen++;
    // A flagged page without blocks is one a debugger watches (data breakpoint): the writer stops after this
    // instruction either way, so the watch fires on the instruction that wrote.
    if (dropped || pa === undefined || !keys) this.exitBlock = true;
  }

  /** Drops every cached block (breakpoints changed, or a debugger wrote code). */
  flushCode(): void {
    this.fastGen++;
    this.blocks.clear();
    for (const page of this.pageBlocks.keys()) this.mem.codePages[page] = 0;
    this.pageBlocks.clear();
  }

  setBreakpoints(addrs: Iterable<number>): void {
    this.breakpoints.clear();
    this.bpPages.clear();
    for (const a of addrs) {
      this.breakpoints.add(a);
      const p = Math.floor(a / 4096);
      this.bpPages.set(p, (this.bpPages.get(p) ?? 0) + 1);
    }
  }

  /** Linear address of the current RIP. */
  ripLinear(): number {
    if (this.bits === 64) return this.rip < 0 ? this.rip + 2 ** 48 : this.rip;
    return (this.segBase[CS]! + this.rip) % TWO32;
  }

  private getBlock(): Block {
    const la = this.ripLinear();
    if (this.bits !== 64 && (this.rip < this.segLo[CS]! || this.rip > this.segHi[CS]!)) throw new CpuFault(GP, 0);
    const fi = (la >>> 2) & (FAST_SIZE - 1);
    const key = this.fastGen * 128 + this.bits + (this.cpl === 3 ? 1 : 0);
    if (this.fastTag[fi] === la && this.fastKey[fi] === key) return this.fastBlock[fi]!;
    const b = this.lookupBlock(la);
    if (b.cacheable) { this.fastTag[fi] = la; this.fastKey[fi] = key; this.fastBlock[fi] = b; }
    return b;
  }

  private lookupBlock(la: number): Block {
    const pa = this.fetchPhys(la);
    const key = this.blockKey(pa);
    let b = this.blocks.get(key);
    if (b === undefined) {
      b = compileBlock(this, la, pa, (this.smcCount.get(pa >>> PAGE_SHIFT) ?? 0) >= SMC_THRESHOLD);
      this.blocksCompiled++;
      if (b.cacheable) {
        this.blocks.set(key, b);
        const page = pa >>> PAGE_SHIFT;
        let list = this.pageBlocks.get(page);
        if (!list) { list = []; this.pageBlocks.set(page, list); }
        list.push(key);
        if (page < this.mem.codePages.length) this.mem.codePages[page] = 1;
      }
    }
    return b;
  }

  // ======================================================================
  // Run loop
  // ======================================================================

  /**
   * Executes up to `budget` instructions. Returns why it stopped. Exceptions
   * inside the guest are delivered here; only machine-level problems escape
   * as Exit.Fatal with this.stop set.
   */
  run(budget: number): Exit {
    const start = this.icount;
    const end = start + budget;
    this.stopRequested = false;
    while (this.icount < end) {
      if (this.stopRequested) return Exit.Stopped;
      // VMX non-root: preemption timer, NMI/interrupt windows, exiting NMIs and interrupts.
      if (this.vmx.watch && this.runVmxEvents()) {
        if (this.stop) return this.stop.kind === 'shutdown' || this.stop.kind === 'unsupported' || this.stop.kind === 'internal' ? Exit.Fatal : Exit.Stopped;
        continue;
      }
      if (this.halted || this.waitForSipi) {
        if (!this.waitForSipi && this.checkInterrupts()) continue;
        return Exit.Halted;
      }
      if (!this.intShadow && this.checkInterrupts()) continue;
      try {
        const b = this.getBlock();
        // Breakpoints and single-stepping need per-instruction control: use the slow path on such pages.
        const bpHere = this.bpPages.size !== 0 && this.bpPages.has(Math.floor(this.ripLinear() / 4096));
        const shadow = this.intShadow;
        if (bpHere || shadow || (this.flags & TF) !== 0) {
          if (bpHere && this.breakpoints.has(this.rip) && this.skipBreakpointAt !== this.rip) return Exit.Breakpoint;
          this.skipBreakpointAt = Number.NaN;
          const tf = (this.flags & TF) !== 0;
          this.intShadow = false;
          this.inShadow = shadow; // VMX: VM entries and exits see the blocking of the instruction running in a shadow
          try { this.execOne(b); } finally { this.inShadow = false; }
          if (tf && !shadow) this.raiseSingleStep();
        } else {
          this.skipBreakpointAt = Number.NaN;
          let jit = b.jit;
          const stopAt = this.vmx.deadline < end ? this.vmx.deadline : end; // VMX preemption timer
          if (jit !== undefined && b.n <= stopAt - this.icount) {
            // Run fused blocks back to back while nothing needs the outer loop's attention.
            for (;;) {
              this.exitBlock = false;
              jit(this);
              if (this.exitBlock || this.stopRequested || this.halted || this.intShadow || (this.flags & TF) !== 0 ||
                  this.bpPages.size !== 0 || this.vmx.watch) break;
              const lines = this.lines;
              if (lines !== undefined && (lines.hasNmi() || ((this.flags & IF) !== 0 && lines.hasInterrupt()))) break;
              const nb = this.getBlock();
              jit = nb.jit;
              if (jit === undefined || nb.n > stopAt - this.icount) break;
            }
          } else {
            if (++b.count === JIT_THRESHOLD && this.jitEnabled) jitBlock(b);
            this.execBlock(b, stopAt - this.icount);
          }
        }
      } catch (e) {
        if (!this.handleThrow(e)) return Exit.Fatal;
      }
      if (this.stop) return this.stop.kind === 'shutdown' || this.stop.kind === 'unsupported' || this.stop.kind === 'internal' ? Exit.Fatal : Exit.Stopped;
    }
    return Exit.Budget;
  }

  private execBlock(b: Block, limit: number): void {
    const h = b.handlers;
    const lens = b.lens;
    const n = b.n < limit ? b.n : limit;
    this.exitBlock = false;
    let i = 0;
    try {
      if (this.bits === 16) {
        for (; i < n; i++) {
          this.nextRip = (this.rip + lens[i]!) & 0xffff;
          h[i]!(this);
          this.rip = this.nextRip;
          if (this.exitBlock) { i++; break; }
        }
      } else {
        for (; i < n; i++) {
          this.nextRip = this.rip + lens[i]!;
          h[i]!(this);
          this.rip = this.nextRip;
          if (this.exitBlock) { i++; break; }
        }
        if (this.bits === 32 && this.rip >= TWO32) this.rip -= TWO32;
      }
    } finally {
      this.icount += i;
    }
  }

  /** Executes exactly the first instruction of a block (breakpoints, shadows, TF). */
  private execOne(b: Block): void {
    this.exitBlock = false;
    const len = b.lens[0]!;
    this.nextRip = this.bits === 16 ? (this.rip + len) & 0xffff : this.rip + len;
    b.handlers[0]!(this);
    this.rip = this.bits === 32 && this.nextRip >= TWO32 ? this.nextRip - TWO32 : this.nextRip;
    this.icount++;
  }

  private raiseSingleStep(): void {
    this.dr[6] = this.dr[6]! | 0x4000; // BS
    deliverEvent(this, DB, EventKind.Trap, -1);
  }

  /** Executes one instruction, ignoring breakpoints (debugger step). */
  step(): Exit {
    this.skipBreakpointAt = this.rip;
    const saveBp = this.bpPages.size;
    void saveBp;
    return this.run(1);
  }

  /** VMX events between blocks; a VM exit thrown from there is handled like any other throw. */
  private runVmxEvents(): boolean {
    try {
      return vmxHooks.events(this);
    } catch (e) {
      this.handleThrow(e);
      return true;
    }
  }

  /** Returns false when the throw ends the run (this.stop is set). */
  private handleThrow(e: unknown): boolean {
    // VMX non-root: a VM exit from inside an access, faults the exception bitmap intercepts, triple fault.
    if (e instanceof VmExitSignal) { vmxHooks.signal(this, e); return this.stop === undefined; }
    if (this.vmx.nonRoot) {
      if (e instanceof CpuFault && vmxHooks.fault(this, e)) return this.stop === undefined;
      if (e instanceof MachineStop && e.kind === 'shutdown') { vmxHooks.tripleFault(this, e.message); return this.stop === undefined; }
    }
    if (e instanceof CpuFault) {
      if (e.vector === PF_VEC) this.cr2 = e.cr2;
      this.events.exception(this, e.vector, e.errorCode, e.vector === PF_VEC ? e.cr2 : undefined);
      try {
        deliverEvent(this, e.vector, EventKind.Fault, e.errorCode);
      } catch (e2) {
        return this.handleThrow(e2);
      }
      return this.stop === undefined;
    }
    if (e instanceof MachineStop) {
      this.stop = e.kind === 'unsupported' ? new MachineStop('unsupported', normalizeUnsupported(this, e.message)) : e;
      return false;
    }
    const msg = e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e);
    this.stop = new MachineStop('internal', `internal error at rip 0x${this.rip.toString(16)}: ${msg}`);
    return false;
  }

  /** Delivers a pending NMI or maskable interrupt; true when one was delivered. */
  private checkInterrupts(): boolean {
    const lines = this.lines;
    if (!lines) return false;
    if (lines.takeNmi()) {
      this.halted = false;
      deliverEvent(this, 2, EventKind.Nmi, -1);
      return true;
    }
    if ((this.flags & IF) && lines.hasInterrupt()) {
      this.halted = false;
      const vector = lines.acknowledgeInterrupt();
      try {
        deliverEvent(this, vector, EventKind.External, -1);
      } catch (e) {
        this.handleThrow(e);
      }
      return true;
    }
    return false;
  }

  /** Whether paging translates addresses now (for the debugger). */
  get pagingEnabled(): boolean { return (this.cr0 & CR0_PG) !== 0; }

  /** Flags for the lazy state to be final (debugger reads). */
  settleFlags(): void { materialize(this); }
}

/** la + n with wrap-around at the address width (48 bits in 64-bit mode, else 32). */
export function laAdd(la: number, n: number, bits: number): number {
  const r = la + n;
  if (bits === 64) return r >= 2 ** 48 ? r - 2 ** 48 : r;
  return r >= TWO32 ? r - TWO32 : r;
}

// Re-exported for modules that only need the constants with the class.
export { CS, SS, DS, ES, FS, GS, RF, CR0_PE, CR0_PG, CR4_PAE, EFER_LMA, EFER_LME, PFEC_P, AR_G };
