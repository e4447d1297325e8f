// The PC's pair of 8259A interrupt controllers: master at 0x20/0x21 (IRQ0-7),
// slave at 0xA0/0xA1 (IRQ8-15) cascaded into the master's IR2, plus the
// edge/level control registers (ELCR) at 0x4D0/0x4D1 as on PIIX chipsets.
//
// Behaviour follows the 8259A data sheet as QEMU models it: ICW1-ICW4, OCW1
// (mask), OCW2 (non-specific, specific and rotating EOI, set priority), OCW3
// (read IRR/ISR, poll, special mask mode), auto-EOI and rotate-on-auto-EOI,
// special fully nested mode, spurious IRQ7/IRQ15 when an INTA finds nothing.
//
// Reset state: every input masked (IMR = 0xFF). The data sheet leaves the
// power-on IMR undefined; with no BIOS in front of the guest we choose
// "nothing gets through until the guest programs the PIC", and ICW1 clears
// the IMR as the data sheet says. Vector bases start at 0 until ICW2.
//
// ICW1.LTIM (level-triggered mode for all inputs) is honoured; otherwise the
// ELCR selects level triggering per input (IRQ0-2, 8 and 13 are always edge).

import type { IoSize, PortDevice } from './bus';

/** What an interrupt controller offers to a CPU's INTR pin (the APIC's ExtINT path). */
export interface ExtIntSource {
  /** The INT output: an unmasked request beats everything in service. */
  interruptPending(): boolean;
  /** The INTA cycle: returns the vector and marks the request in service. */
  acknowledge(): number;
}

/** Which ELCR bits exist on PIIX: IRQ0, 1, 2, 8 and 13 cannot be level-triggered. */
const ELCR_MASK = [0xf8, 0xde] as const;

/** One 8259A. */
class PicChip {
  irr = 0;
  isr = 0;
  imr = 0xff;
  /** Input lines as last driven, for edge detection. */
  lines = 0;
  elcr = 0;
  base = 0;
  /** Rotation: the IR that currently has the highest priority. */
  priorityAdd = 0;
  initState = 0; // 0: operational, 1-3: expecting ICW2-ICW4
  needIcw4 = false;
  single = false;
  ltim = false;
  autoEoi = false;
  rotateOnAutoEoi = false;
  specialFullyNested = false;
  specialMask = false;
  readIsr = false;
  poll = false;
  icw3 = 0;

  constructor(readonly isMaster: boolean, readonly elcrMask: number) {}

  levelMask(): number {
    return this.ltim ? 0xff : this.elcr;
  }

  setLine(irq: number, level: boolean): void {
    const bit = 1 << irq;
    if (this.levelMask() & bit) {
      if (level) this.irr |= bit;
      else this.irr &= ~bit;
    } else if (level && !(this.lines & bit)) {
      this.irr |= bit; // rising edge
    }
    if (level) this.lines |= bit;
    else this.lines &= ~bit;
  }

  /** Position in the rotating priority order of the first set bit, 8 if none. */
  priorityOf(mask: number): number {
    if (!(mask & 0xff)) return 8;
    let p = 0;
    while (!(mask & (1 << ((p + this.priorityAdd) & 7)))) p++;
    return p;
  }

  /** The IR that would be delivered now, or -1. */
  pendingIrq(): number {
    const p = this.priorityOf(this.irr & ~this.imr);
    if (p === 8) return -1;
    let inService = this.isr;
    if (this.specialMask) inService &= ~this.imr;
    // Special fully nested mode: a slave request may interrupt its own cascade IR.
    if (this.specialFullyNested && this.isMaster) inService &= ~(1 << 2);
    return p < this.priorityOf(inService) ? (p + this.priorityAdd) & 7 : -1;
  }

  /** The INTA bookkeeping for an accepted IR. */
  intack(irq: number): void {
    const bit = 1 << irq;
    if (this.autoEoi) {
      if (this.rotateOnAutoEoi) this.priorityAdd = (irq + 1) & 7;
    } else {
      this.isr |= bit;
    }
    if (!(this.levelMask() & bit)) this.irr &= ~bit;
  }

  /** ICW1: starts initialisation and resets the state the data sheet lists. */
  icw1(v: number): void {
    this.irr &= this.levelMask();
    this.lines = 0;
    this.imr = 0;
    this.isr = 0;
    this.priorityAdd = 0;
    this.specialMask = false;
    this.readIsr = false;
    this.poll = false;
    this.autoEoi = false;
    this.rotateOnAutoEoi = false;
    this.specialFullyNested = false;
    this.needIcw4 = (v & 0x01) !== 0;
    this.single = (v & 0x02) !== 0;
    this.ltim = (v & 0x08) !== 0;
    this.initState = 1;
  }

  writeCommand(v: number): void {
    if (v & 0x10) {
      this.icw1(v);
    } else if (v & 0x08) {
      // OCW3
      if (v & 0x04) this.poll = true;
      if (v & 0x02) this.readIsr = (v & 0x01) !== 0;
      if (v & 0x40) this.specialMask = (v & 0x20) !== 0;
    } else {
      this.ocw2(v);
    }
  }

  private ocw2(v: number): void {
    switch (v >>> 5) {
      case 0: // clear rotate in auto-EOI mode
        this.rotateOnAutoEoi = false;
        break;
      case 4: // set rotate in auto-EOI mode
        this.rotateOnAutoEoi = true;
        break;
      case 1: // non-specific EOI
      case 5: {
        // rotate on non-specific EOI
        const p = this.priorityOf(this.isr);
        if (p !== 8) {
          const irq = (p + this.priorityAdd) & 7;
          this.isr &= ~(1 << irq);
          if (v >>> 5 === 5) this.priorityAdd = (irq + 1) & 7;
        }
        break;
      }
      case 3: // specific EOI
        this.isr &= ~(1 << (v & 7));
        break;
      case 6: // set priority: IR v&7 becomes the lowest
        this.priorityAdd = ((v & 7) + 1) & 7;
        break;
      case 7: // rotate on specific EOI
        this.isr &= ~(1 << (v & 7));
        this.priorityAdd = ((v & 7) + 1) & 7;
        break;
      default: // 2: no operation
        break;
    }
  }

  writeData(v: number): void {
    switch (this.initState) {
      case 0:
        this.imr = v; // OCW1
        return;
      case 1:
        this.base = v & 0xf8; // ICW2 (8086 mode: low 3 bits come from the IR)
        this.initState = this.single ? (this.needIcw4 ? 3 : 0) : 2;
        return;
      case 2:
        this.icw3 = v;
        this.initState = this.needIcw4 ? 3 : 0;
        return;
      default:
        // ICW4: bit 1 AEOI, bit 4 SFNM (bit 0 8086 mode and buffering have no effect here)
        this.autoEoi = (v & 0x02) !== 0;
        this.specialFullyNested = (v & 0x10) !== 0;
        this.initState = 0;
    }
  }
}

export interface Pic8259Options {
  /** Called when the master's INT output changes (wired to LINT0 of the local APICs). */
  onOutput?: (level: boolean) => void;
}

export class Pic8259 implements PortDevice, ExtIntSource {
  readonly name = 'pic8259';
  private readonly master = new PicChip(true, ELCR_MASK[0]);
  private readonly slave = new PicChip(false, ELCR_MASK[1]);
  private readonly onOutput: (level: boolean) => void;
  private output = false;

  constructor(opts: Pic8259Options = {}) {
    this.onOutput = opts.onOutput ?? (() => {});
  }

  /** Drives ISA IRQ line 0-15. IRQ2 is the cascade input and ignores device requests. */
  setIrq(irq: number, level: boolean): void {
    if (irq < 8) {
      if (irq === 2) return;
      this.master.setLine(irq, level);
    } else {
      this.slave.setLine(irq - 8, level);
    }
    this.update();
  }

  interruptPending(): boolean {
    return this.output;
  }

  acknowledge(): number {
    const m = this.master;
    const irq = m.pendingIrq();
    let vector: number;
    if (irq < 0) {
      vector = m.base + 7; // spurious: nothing left by the time of INTA
    } else {
      if (irq === 2 && !m.single) {
        const s = this.slave;
        const irq2 = s.pendingIrq();
        if (irq2 >= 0) s.intack(irq2);
        vector = s.base + (irq2 >= 0 ? irq2 : 7);
      } else {
        vector = m.base + irq;
      }
      m.intack(irq);
    }
    this.update();
    return vector;
  }

  in(port: number, _size: IoSize): number {
    switch (port) {
      case 0x4d0:
        return this.master.elcr;
      case 0x4d1:
        return this.slave.elcr;
    }
    const chip = port >= 0xa0 ? this.slave : this.master;
    if (chip.poll) {
      chip.poll = false;
      const irq = chip.pendingIrq();
      if (irq < 0) return 0;
      chip.intack(irq);
      this.update();
      return 0x80 | irq;
    }
    if (port & 1) return chip.imr;
    return chip.readIsr ? chip.isr : chip.irr;
  }

  out(port: number, _size: IoSize, value: number): void {
    const v = value & 0xff;
    switch (port) {
      case 0x4d0:
        this.master.elcr = v & this.master.elcrMask;
        break;
      case 0x4d1:
        this.slave.elcr = v & this.slave.elcrMask;
        break;
      default: {
        const chip = port >= 0xa0 ? this.slave : this.master;
        if (port & 1) chip.writeData(v);
        else chip.writeCommand(v);
      }
    }
    this.update();
  }

  /** Register state for debuggers and tests: [master, slave]. */
  state(): { irr: number; isr: number; imr: number; base: number }[] {
    return [this.master, this.slave].map((c) => ({ irr: c.irr, isr: c.isr, imr: c.imr, base: c.base }));
  }

  /** Propagates the slave's output into IR2 and the master's to the CPU. */
  private update(): void {
    this.master.setLine(2, this.slave.pendingIrq() >= 0);
    const out = this.master.pendingIrq() >= 0;
    if (out !== this.output) {
      this.output = out;
      this.onOutput(out);
    }
  }
}
