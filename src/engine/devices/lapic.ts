// Local APIC, one per vCPU: xAPIC registers through the MMIO page at
// 0xFEE00000 (ApicMmio routes each access to the current CPU's APIC) and
// x2APIC through MSRs 0x800-0x8FF, plus IA32_APIC_BASE (0x1B) and
// IA32_TSC_DEADLINE (0x6E0). Register layout and semantics per the SDM
// (Vol. 3A, "Advanced Programmable Interrupt Controller"); values as QEMU:
// version 0x00050014 (6 LVT entries, no CMCI, no EOI-broadcast suppression).
//
// The timer lives in lapictimer.ts (1 GHz APIC bus clock = virtual time),
// the register map and the per-CPU MMIO router in lapicregs.ts.
//
// Choices a guest could observe:
// - reset state of the BSP is what SeaBIOS leaves under QEMU (the firmware a
//   QEMU guest always runs after): SVR software-enabled (0x1FF), LINT0 ExtINT
//   (0x8700), LINT1 NMI (0x8400). `firmwareHandoff: false` gives the
//   architectural reset state instead. APs start architectural.
// - ExtINT from the 8259 reaches the CPU when the APIC is globally disabled,
//   or when LINT0 is unmasked in ExtINT mode, whatever SVR says (QEMU's rule).
//   A software-disabled APIC (SVR bit 8 clear) delivers no fixed interrupts
//   and generates no local (LVT) interrupts; IPIs already in IRR wait for it.
//   The stored LVT mask bits are not forced on by software disable (QEMU).
// - INIT and SIPI are forwarded to CpuControl; the APIC does not reset itself
//   on INIT because a CPU in VMX operation blocks INIT or turns it into a VM
//   exit. The machine calls initReset() when the INIT really happens.
// - APIC base relocation is stored and read back, but the MMIO page stays at
//   0xFEE00000 (logged). MMIO reads return 0 and writes are dropped while the
//   APIC is globally disabled or in x2APIC mode. Sub-dword MMIO writes are
//   dropped (QEMU); sub-dword reads return the addressed bytes.
// - Lowest-priority IPIs go to the first matching APIC (see apicbus.ts).

import type { CpuControl, CpuInterruptLines, TimedDevice, VirtualClock } from './types';
import type { ExtIntSource } from './pic8259';
import { DM_EXTINT, DM_FIXED, DM_INIT, DM_LOWEST, DM_NMI, type ApicBus, type ApicTarget } from './apicbus';
import { NO_LOG, type DeviceLog } from './irq';
import { ApicTimer, timerModeOf } from './lapictimer';
import {
  APIC_DEFAULT_BASE, APIC_VERSION, BASE_BSP, BASE_EN, BASE_EXTD, ESR_ILLEGAL_REGISTER,
  ESR_RECV_ILLEGAL_VECTOR, ESR_SEND_ILLEGAL_VECTOR, ICR_DELIVERY_STATUS, ICR_LO_WRITABLE,
  LVT_ERROR, LVT_LEVEL, LVT_LINT0, LVT_LINT1, LVT_MASKED, LVT_REMOTE_IRR, LVT_TIMER, LVT_WRITABLE,
  MSR_IA32_APIC_BASE, MSR_IA32_TSC_DEADLINE, MSR_X2APIC_FIRST, MSR_X2APIC_LAST, R_APR, R_DFR,
  R_EOI, R_ESR, R_ICR_HI, R_ICR_LO, R_ID, R_IRR, R_ISR, R_LDR, R_LVT_FIRST, R_LVT_LAST, R_PPR,
  R_RRD, R_SELF_IPI, R_SVR, R_TIMER_CUR, R_TIMER_DIV, R_TIMER_INIT, R_TMR, R_TPR, R_VERSION,
  SVR_ENABLE, type MsrValue
} from './lapicregs';

export { ApicMmio, type MsrValue } from './lapicregs';

export interface LocalApicOptions {
  /** vCPU index. */
  cpu: number;
  /** Initial APIC ID (default: the vCPU index). */
  apicId?: number;
  /** Bootstrap processor (default: cpu 0). */
  bsp?: boolean;
  clock: VirtualClock;
  control: CpuControl;
  bus: ApicBus;
  /** The 8259 behind LINT0 (virtual-wire mode). */
  extInt?: ExtIntSource;
  /** The CPU's time-stamp counter (default: virtual ns). */
  tsc?: () => number;
  /** The CPU advertises x2APIC (CPUID.1:ECX[21]); default true. */
  x2apic?: boolean;
  /** Start the BSP in the state SeaBIOS leaves (default true). */
  firmwareHandoff?: boolean;
  /** MAXPHYADDR for IA32_APIC_BASE reserved-bit checks (default 40, QEMU TCG). */
  physAddrBits?: number;
  log?: DeviceLog;
}

function highestBit(words: Uint32Array): number {
  for (let i = 7; i >= 0; i--) {
    const w = words[i]!;
    if (w) return i * 32 + 31 - Math.clz32(w);
  }
  return -1;
}

export class LocalApic implements CpuInterruptLines, TimedDevice, ApicTarget {
  readonly cpu: number;
  readonly initialId: number;
  readonly bsp: boolean;
  private readonly clock: VirtualClock;
  private readonly control: CpuControl;
  private readonly bus: ApicBus;
  private readonly extInt: ExtIntSource | undefined;
  private readonly x2apicSupported: boolean;
  private readonly firmwareHandoff: boolean;
  private readonly physAddrBits: number;
  private readonly log: DeviceLog;

  // IA32_APIC_BASE
  private baseAddr = APIC_DEFAULT_BASE;
  private enabled = true;
  private x2 = false;

  private id = 0;
  private tpr = 0;
  private ldr = 0;
  private dfr = 0xffffffff;
  private svr = 0xff;
  private esr = 0;
  private esrPending = 0;
  private icrLo = 0;
  private icrHi = 0;
  private readonly lvt = new Uint32Array(6);
  private readonly irr = new Uint32Array(8);
  private readonly isr = new Uint32Array(8);
  private readonly tmr = new Uint32Array(8);
  private nmiPending = false;
  private readonly lint = [false, false];

  private readonly timer: ApicTimer;

  /** Cached: vector deliverable now (IRR above PPR, APIC enabled), or -1. */
  private pendingVector = -1;
  /** Cached: the 8259's INTR reaches this CPU. */
  private extIntRoute = false;

  constructor(opts: LocalApicOptions) {
    this.cpu = opts.cpu;
    this.initialId = opts.apicId ?? opts.cpu;
    this.bsp = opts.bsp ?? opts.cpu === 0;
    this.clock = opts.clock;
    this.control = opts.control;
    this.bus = opts.bus;
    this.extInt = opts.extInt;
    this.timer = new ApicTimer(opts.clock, opts.tsc ?? (() => opts.clock.now()));
    this.x2apicSupported = opts.x2apic ?? true;
    this.firmwareHandoff = opts.firmwareHandoff ?? true;
    this.physAddrBits = opts.physAddrBits ?? 40;
    this.log = opts.log ?? NO_LOG;
    this.reset();
  }

  // --- reset ----------------------------------------------------------------

  /** Power-on / RESET: xAPIC mode, enabled, default base, initial ID. */
  reset(): void {
    this.baseAddr = APIC_DEFAULT_BASE;
    this.enabled = true;
    this.x2 = false;
    this.id = this.initialId;
    this.lint[0] = this.lint[1] = false;
    this.initReset();
    if (this.bsp && this.firmwareHandoff) {
      this.svr = 0x1ff;
      this.lvt[LVT_LINT0] = 0x8700;
      this.lvt[LVT_LINT1] = 0x8400;
      this.refresh();
    }
  }

  /** INIT: clears the APIC's state but keeps its ID, base and mode (SDM). */
  initReset(): void {
    this.tpr = 0;
    this.ldr = this.x2 ? this.x2Ldr() : 0;
    this.dfr = 0xffffffff;
    this.svr = 0xff;
    this.esr = this.esrPending = 0;
    this.icrLo = this.icrHi = 0;
    this.lvt.fill(LVT_MASKED);
    this.irr.fill(0);
    this.isr.fill(0);
    this.tmr.fill(0);
    this.nmiPending = false;
    this.timer.reset();
    this.refresh();
  }

  // --- what the CPU sees ------------------------------------------------------

  hasInterrupt(): boolean {
    if (this.pendingVector >= 0) return true;
    return this.extIntRoute && this.extInt !== undefined && this.extInt.interruptPending();
  }

  acknowledgeInterrupt(): number {
    const v = this.pendingVector;
    if (v >= 0) {
      const w = v >>> 5;
      const bit = 1 << (v & 31);
      this.irr[w]! &= ~bit;
      this.isr[w]! |= bit;
      this.refresh();
      return v;
    }
    // ExtINT: the 8259 supplies the vector, bypassing IRR/ISR and the PPR.
    if (this.extIntRoute && this.extInt) return this.extInt.acknowledge();
    return this.svr & 0xff; // spurious: the request went away before INTA
  }

  hasNmi(): boolean {
    return this.nmiPending;
  }

  takeNmi(): boolean {
    const had = this.nmiPending;
    this.nmiPending = false;
    return had;
  }

  /** CR8 reads TPR[7:4]. */
  getCr8(): number {
    return this.tpr >>> 4;
  }

  /** CR8 writes set TPR[7:4] and clear TPR[3:0]. */
  setCr8(v: number): void {
    this.tpr = (v & 0xf) << 4;
    this.refresh();
  }

  /** Drives the LINT0/LINT1 pins (LINT0 carries the 8259's INTR). */
  setLint(pin: 0 | 1, level: boolean): void {
    const was = this.lint[pin]!;
    this.lint[pin] = level;
    const rising = level && !was;
    if (!this.enabled) {
      // Globally disabled: the pins are the CPU's INTR and NMI.
      if (pin === 0 && level) this.control.kick(this.cpu);
      if (pin === 1 && rising) this.acceptNmi();
      return;
    }
    const entry = this.lvt[LVT_LINT0 + pin]!;
    if (entry & LVT_MASKED) return;
    const mode = (entry >>> 8) & 7;
    if (mode === DM_EXTINT) {
      if (level) this.control.kick(this.cpu);
      return;
    }
    if (!rising || !(this.svr & SVR_ENABLE)) return;
    if (mode === DM_NMI) this.acceptNmi();
    else if (mode === DM_FIXED) this.acceptFixed(entry & 0xff, (entry & LVT_LEVEL) !== 0);
  }

  /** Recomputes the cached delivery state after IRR/ISR/TPR/SVR/LVT changes. */
  private refresh(): void {
    const lint0 = this.lvt[LVT_LINT0]!;
    this.extIntRoute = !this.enabled || (!(lint0 & LVT_MASKED) && ((lint0 >>> 8) & 7) === DM_EXTINT);
    const irrv = highestBit(this.irr);
    if (!this.enabled || !(this.svr & SVR_ENABLE) || irrv < 0) {
      this.pendingVector = -1;
      return;
    }
    this.pendingVector = (irrv & 0xf0) > (this.ppr() & 0xf0) ? irrv : -1;
  }

  private ppr(): number {
    const isrv = Math.max(highestBit(this.isr), 0);
    return this.tpr >>> 4 >= isrv >>> 4 ? this.tpr : isrv & 0xf0;
  }

  // --- APIC bus side (ApicTarget) ---------------------------------------------

  get hardwareEnabled(): boolean {
    return this.enabled;
  }

  /** The ID as the bus matches it (8-bit xAPIC ID, or the 32-bit x2APIC ID). */
  get apicId(): number {
    return this.id;
  }

  matchesPhysical(dest: number, broadcast: number): boolean {
    return dest === broadcast || dest === this.id;
  }

  matchesLogical(dest: number, wide: boolean): boolean {
    if (this.x2) {
      if (wide && dest === 0xffffffff) return true;
      return dest >>> 16 === this.ldr >>> 16 && (dest & this.ldr & 0xffff) !== 0;
    }
    const d = dest & 0xff;
    if (d === 0xff) return true;
    const mine = this.ldr >>> 24;
    if (this.dfr >>> 28 === 0xf) return (d & mine) !== 0; // flat model
    return d >>> 4 === mine >>> 4 && (d & mine & 0xf) !== 0; // cluster model
  }

  acceptFixed(vector: number, levelTriggered: boolean): void {
    if (vector < 16) {
      this.raiseError(ESR_RECV_ILLEGAL_VECTOR);
      return;
    }
    const w = vector >>> 5;
    const bit = 1 << (vector & 31);
    this.irr[w]! |= bit;
    if (levelTriggered) this.tmr[w]! |= bit;
    else this.tmr[w]! &= ~bit;
    this.refresh();
    if (this.pendingVector >= 0) this.control.kick(this.cpu);
  }

  acceptNmi(): void {
    this.nmiPending = true;
    this.control.kick(this.cpu);
  }

  acceptInit(): void {
    this.control.sendInit(this.cpu);
  }

  acceptStartup(vector: number): void {
    this.control.sendSipi(this.cpu, vector & 0xff);
  }

  // --- local interrupts -------------------------------------------------------

  /** Delivers an LVT entry's interrupt (timer, error); masked or disabled → nothing. */
  private localInterrupt(index: number): void {
    const entry = this.lvt[index]!;
    if (entry & LVT_MASKED || !(this.svr & SVR_ENABLE) || !this.enabled) return;
    const mode = index === LVT_TIMER || index === LVT_ERROR ? DM_FIXED : (entry >>> 8) & 7;
    if (mode === DM_NMI) this.acceptNmi();
    else if (mode === DM_FIXED) this.acceptFixed(entry & 0xff, false);
  }

  private raiseError(bits: number): void {
    this.esrPending |= bits;
    this.localInterrupt(LVT_ERROR);
  }

  private eoi(): void {
    const v = highestBit(this.isr);
    if (v < 0) return;
    const w = v >>> 5;
    const bit = 1 << (v & 31);
    this.isr[w]! &= ~bit;
    if (this.tmr[w]! & bit) this.bus.onEoi(v);
    this.refresh();
  }

  private sendIpi(): void {
    const lo = this.icrLo;
    const mode = (lo >>> 8) & 7;
    const vector = lo & 0xff;
    const levelAssert = (lo >>> 14) & 1;
    const levelTriggered = (lo >>> 15) & 1;
    // INIT level de-assert only resynchronises arbitration IDs.
    if (mode === DM_INIT && !levelAssert && levelTriggered) return;
    if ((mode === DM_FIXED || mode === DM_LOWEST) && vector < 16) {
      this.raiseError(ESR_SEND_ILLEGAL_VECTOR);
      return;
    }
    const dest = this.x2 ? this.icrHi >>> 0 : this.icrHi >>> 24;
    this.bus.deliver(dest, ((lo >>> 11) & 1) === 1, mode, vector, levelTriggered === 1, this.x2, (lo >>> 18) & 3, this);
  }

  // --- timer ------------------------------------------------------------------

  nextDeadline(): number {
    return this.timer.nextDeadline();
  }

  onDeadline(now: number): void {
    if (this.timer.expire(now)) this.localInterrupt(LVT_TIMER);
  }

  private writeLvt(index: number, value: number, now: number): void {
    const writable = LVT_WRITABLE[index]!;
    this.lvt[index] = (value & writable) | (this.lvt[index]! & LVT_REMOTE_IRR);
    if (index === LVT_TIMER) this.timer.setMode(timerModeOf(this.lvt[index]!), now);
    if (index === LVT_LINT0) {
      this.refresh();
      if (this.hasInterrupt()) this.control.kick(this.cpu);
    }
  }

  // --- register file ------------------------------------------------------------

  /** Reads register `index` (offset >> 4); undefined when it does not exist in this mode. */
  private readRegister(index: number): number | undefined {
    switch (index) {
      case R_ID:
        return this.x2 ? this.id : (this.id << 24) >>> 0;
      case R_VERSION:
        return APIC_VERSION;
      case R_TPR:
        return this.tpr;
      case R_APR:
        return this.x2 ? undefined : 0;
      case R_PPR:
        return this.ppr();
      case R_EOI:
        return this.x2 ? undefined : 0; // write-only; xAPIC reads return 0
      case R_RRD:
        return this.x2 ? undefined : 0;
      case R_LDR:
        return this.ldr >>> 0;
      case R_DFR:
        return this.x2 ? undefined : this.dfr | 0x0fffffff;
      case R_SVR:
        return this.svr;
      case R_ESR:
        return this.esr;
      case R_ICR_LO:
        return this.icrLo & ~ICR_DELIVERY_STATUS; // always idle: delivery is instant
      case R_ICR_HI:
        return this.x2 ? undefined : this.icrHi;
      case R_TIMER_INIT:
        return this.timer.initial;
      case R_TIMER_CUR:
        return this.timer.current(this.clock.now());
      case R_TIMER_DIV:
        return this.timer.divideConfig;
    }
    if (index >= R_ISR && index < R_ISR + 8) return this.isr[index - R_ISR];
    if (index >= R_TMR && index < R_TMR + 8) return this.tmr[index - R_TMR];
    if (index >= R_IRR && index < R_IRR + 8) return this.irr[index - R_IRR];
    if (index >= R_LVT_FIRST && index <= R_LVT_LAST) return this.lvt[index - R_LVT_FIRST];
    return undefined;
  }

  /** Writes register `index`; false when the register cannot be written in this mode. */
  private writeRegister(index: number, value: number): boolean {
    const v = value >>> 0;
    const now = this.clock.now();
    switch (index) {
      case R_EOI:
        this.eoi();
        return true;
      case R_TPR:
        this.tpr = v & 0xff;
        this.refresh();
        return true;
      case R_ID:
        if (this.x2) return false;
        this.id = v >>> 24;
        return true;
      case R_LDR:
        if (this.x2) return false;
        this.ldr = v & 0xff000000;
        return true;
      case R_DFR:
        if (this.x2) return false;
        this.dfr = v | 0x0fffffff;
        return true;
      case R_SVR:
        this.svr = v & 0x1ff;
        this.refresh();
        return true;
      case R_ESR:
        this.esr = this.esrPending;
        this.esrPending = 0;
        return true;
      case R_ICR_LO:
        this.icrLo = v & ICR_LO_WRITABLE;
        this.sendIpi();
        return true;
      case R_ICR_HI:
        if (this.x2) return false;
        this.icrHi = v & 0xff000000;
        return true;
      case R_TIMER_INIT:
        this.timer.writeInitial(v, now);
        return true;
      case R_TIMER_DIV:
        this.timer.writeDivide(v, now);
        return true;
      case R_SELF_IPI:
        if (!this.x2) return false;
        this.acceptFixed(v & 0xff, false);
        return true;
    }
    if (index >= R_LVT_FIRST && index <= R_LVT_LAST) {
      this.writeLvt(index - R_LVT_FIRST, v, now);
      return true;
    }
    // ID/version/PPR/ISR/TMR/IRR/current count and the reserved slots are read-only.
    return this.readRegister(index) !== undefined && !this.x2;
  }

  // --- xAPIC MMIO ---------------------------------------------------------------

  mmioRead(offset: number, size: 1 | 2 | 4): number {
    if (!this.enabled || this.x2) return 0;
    if (offset & 0xc) return 0; // the 12 bytes after each register are reserved
    const index = (offset >>> 4) & 0xff;
    const v = this.readRegister(index);
    if (v === undefined || index === R_SELF_IPI) {
      this.raiseError(ESR_ILLEGAL_REGISTER);
      return 0;
    }
    if (size === 4) return v >>> 0;
    const shifted = v >>> ((offset & 3) * 8);
    return size === 1 ? shifted & 0xff : shifted & 0xffff;
  }

  mmioWrite(offset: number, size: 1 | 2 | 4, value: number): void {
    if (!this.enabled || this.x2 || size !== 4 || offset & 0xf) return;
    const index = (offset >>> 4) & 0xff;
    if (index === R_EOI) {
      this.eoi(); // the hot path: no decoding needed
      return;
    }
    if (index === R_SELF_IPI || this.readRegister(index) === undefined) {
      this.raiseError(ESR_ILLEGAL_REGISTER);
      return;
    }
    this.writeRegister(index, value);
  }

  // --- MSRs -------------------------------------------------------------------

  /** MSRs this object implements: IA32_APIC_BASE, IA32_TSC_DEADLINE, the x2APIC range. */
  static handlesMsr(index: number): boolean {
    return index === MSR_IA32_APIC_BASE || index === MSR_IA32_TSC_DEADLINE || (index >= MSR_X2APIC_FIRST && index <= MSR_X2APIC_LAST);
  }

  /** RDMSR; false means #GP(0). */
  readMsr(index: number, out: MsrValue): boolean {
    if (index === MSR_IA32_APIC_BASE) {
      out.lo = ((this.baseAddr % 0x1_0000_0000) & 0xfffff000 | (this.bsp ? BASE_BSP : 0) | (this.x2 ? BASE_EXTD : 0) | (this.enabled ? BASE_EN : 0)) >>> 0;
      out.hi = Math.floor(this.baseAddr / 0x1_0000_0000);
      return true;
    }
    if (index === MSR_IA32_TSC_DEADLINE) {
      out.lo = this.timer.deadlineLow();
      out.hi = this.timer.deadlineHigh();
      return true;
    }
    if (!this.x2 || index < MSR_X2APIC_FIRST || index > MSR_X2APIC_LAST) return false;
    const reg = index - MSR_X2APIC_FIRST;
    if (reg === R_ICR_LO) {
      out.lo = this.icrLo & ~ICR_DELIVERY_STATUS;
      out.hi = this.icrHi >>> 0;
      return true;
    }
    if (reg === R_EOI || reg === R_SELF_IPI) return false; // write-only
    const v = this.readRegister(reg);
    if (v === undefined) return false;
    out.lo = v >>> 0;
    out.hi = 0;
    return true;
  }

  /** WRMSR; false means #GP(0). */
  writeMsr(index: number, lo: number, hi: number): boolean {
    if (index === MSR_IA32_APIC_BASE) return this.writeApicBase(lo >>> 0, hi >>> 0);
    if (index === MSR_IA32_TSC_DEADLINE) {
      this.timer.writeDeadline(lo, hi); // ignored outside TSC-deadline mode
      return true;
    }
    if (!this.x2 || index < MSR_X2APIC_FIRST || index > MSR_X2APIC_LAST) return false;
    const reg = index - MSR_X2APIC_FIRST;
    if (reg === R_ICR_LO) {
      this.icrHi = hi >>> 0;
      this.icrLo = lo & ICR_LO_WRITABLE;
      this.sendIpi();
      return true;
    }
    if (hi !== 0) return false; // every other x2APIC register is 32 bits wide
    if (reg === R_EOI) {
      if (lo !== 0) return false;
      this.eoi();
      return true;
    }
    if (reg === R_ESR && lo !== 0) return false;
    if (reg === R_TPR && lo >>> 8) return false;
    return this.writeRegister(reg, lo);
  }

  private x2Ldr(): number {
    return (((this.initialId >>> 4) << 16) | (1 << (this.initialId & 0xf))) >>> 0;
  }

  private writeApicBase(lo: number, hi: number): boolean {
    if (lo & 0x2ff) return false; // bits 0-7 and 9 are reserved
    const hiBits = this.physAddrBits - 32;
    if (hi >>> hiBits !== 0 && hiBits < 32) return false;
    const en = (lo & BASE_EN) !== 0;
    const extd = (lo & BASE_EXTD) !== 0;
    if (extd && !this.x2apicSupported) return false;
    if (extd && !en) return false; // invalid state
    if (this.x2 && en && !extd) return false; // x2APIC → xAPIC must go through disabled
    if (!this.enabled && extd) return false; // disabled → x2APIC must go through xAPIC
    const base = ((lo & 0xfffff000) >>> 0) + hi * 0x1_0000_0000;
    if (base !== this.baseAddr && base !== APIC_DEFAULT_BASE) {
      this.log(`LAPIC ${this.cpu}: base relocated to 0x${base.toString(16)}; the MMIO page stays at 0xfee00000`);
    }
    this.baseAddr = base;
    if (!en) {
      if (this.enabled) {
        // Globally disabling returns the APIC to its reset state (ID and base kept).
        this.enabled = false;
        this.x2 = false;
        this.id = this.initialId;
        this.initReset();
      }
    } else {
      this.enabled = true;
      if (extd && !this.x2) {
        this.x2 = true;
        this.id = this.initialId;
        this.ldr = this.x2Ldr();
      }
    }
    this.refresh();
    if (this.hasInterrupt()) this.control.kick(this.cpu);
    return true;
  }

  // --- inspection -------------------------------------------------------------

  /** A snapshot for debuggers and tests. */
  inspect(): {
    id: number;
    mode: 'disabled' | 'xapic' | 'x2apic';
    tpr: number;
    ppr: number;
    svr: number;
    irr: number[];
    isr: number[];
    lvt: number[];
    timer: { initial: number; current: number; divide: number; next: number };
  } {
    const bits = (a: Uint32Array): number[] => {
      const out: number[] = [];
      for (let v = 0; v < 256; v++) if (a[v >>> 5]! & (1 << (v & 31))) out.push(v);
      return out;
    };
    return {
      id: this.id,
      mode: !this.enabled ? 'disabled' : this.x2 ? 'x2apic' : 'xapic',
      tpr: this.tpr,
      ppr: this.ppr(),
      svr: this.svr,
      irr: bits(this.irr),
      isr: bits(this.isr),
      lvt: Array.from(this.lvt),
      timer: {
        initial: this.timer.initial,
        current: this.timer.current(this.clock.now()),
        divide: this.timer.divide,
        next: this.timer.nextDeadline(),
      },
    };
  }
}
