// I/O APIC (82093AA-compatible, as QEMU's `ioapic` version 0x20) at
// 0xFEC00000: IOREGSEL at +0x00, IOWIN at +0x10, EOI register at +0x40.
// Registers through the window: 0x00 ID (bits 27:24), 0x01 version
// (0x00170020: 24 entries, version 0x20), 0x02 arbitration ID, 0x10+2n /
// 0x11+2n redirection entry n (low / high dword).
//
// Pins carry the asserted state (see irq.ts). Edge-triggered pins deliver on
// a rising edge while unmasked; an edge on a masked pin is dropped (82093AA,
// as QEMU). Level-triggered pins deliver while asserted, set Remote IRR, and
// deliver again after the local APIC's EOI (or an EOI-register write) clears
// Remote IRR if the line is still asserted. Writing an entry as edge-triggered
// clears its Remote IRR (Linux relies on that, QEMU does it). Delivery goes
// through the ApicBus by physical or logical destination (bits 63:56).
//
// ISA IRQ n is wired to pin n except IRQ0 (the PIT), which arrives on pin 2,
// as on QEMU's pc machine (the MADT carries the matching override); the
// platform does that mapping, this device only knows pins.

import type { MmioHandler } from '../mmu/physmem';
import type { ApicBus } from './apicbus';

export const IOAPIC_DEFAULT_BASE = 0xfec00000;
export const IOAPIC_MMIO_SIZE = 0x1000;
export const IOAPIC_PINS = 24;
export const IOAPIC_VERSION = 0x20;

const REG_ID = 0x00;
const REG_VERSION = 0x01;
const REG_ARB = 0x02;
const REG_REDTBL = 0x10;

const OFF_REGSEL = 0x00;
const OFF_WINDOW = 0x10;
const OFF_EOI = 0x40;

// Redirection entry, low dword.
const RTE_VECTOR = 0xff;
const RTE_DELIVERY_STATUS = 1 << 12;
const RTE_REMOTE_IRR = 1 << 14;
const RTE_LEVEL = 1 << 15;
const RTE_MASKED = 1 << 16;
/** Writable bits of the low dword: vector, delivery/destination mode, polarity, trigger, mask. */
const RTE_LO_WRITABLE = 0x0001afff;
const RTE_HI_WRITABLE = 0xff000000;

export class IoApic implements MmioHandler {
  readonly name = 'ioapic';
  private regsel = 0;
  private id = 0;
  private readonly lo = new Uint32Array(IOAPIC_PINS).fill(RTE_MASKED);
  private readonly hi = new Uint32Array(IOAPIC_PINS);
  /** Current asserted state of each pin. */
  private lines = 0;

  constructor(private readonly bus: ApicBus, id = 0) {
    this.id = id & 0xf;
  }

  /** Drives input pin `pin` (0-23). */
  setIrq(pin: number, level: boolean): void {
    if (pin < 0 || pin >= IOAPIC_PINS) return;
    const bit = 1 << pin;
    const was = (this.lines & bit) !== 0;
    if (level) this.lines |= bit;
    else this.lines &= ~bit;
    const entry = this.lo[pin]!;
    if (entry & RTE_LEVEL) {
      if (level) this.service(pin);
    } else if (level && !was) {
      this.service(pin);
    }
  }

  /** Tries to deliver pin's interrupt now. */
  private service(pin: number): void {
    const entry = this.lo[pin]!;
    if (entry & RTE_MASKED) return;
    if (entry & RTE_LEVEL) {
      if (entry & RTE_REMOTE_IRR || !(this.lines & (1 << pin))) return;
      this.lo[pin] = entry | RTE_REMOTE_IRR;
    }
    const dest = this.hi[pin]! >>> 24;
    this.bus.deliver(dest, (entry & (1 << 11)) !== 0, (entry >>> 8) & 7, entry & RTE_VECTOR, (entry & RTE_LEVEL) !== 0);
  }

  /** EOI for `vector` (broadcast from a local APIC or written to the EOI register). */
  eoi(vector: number): void {
    for (let pin = 0; pin < IOAPIC_PINS; pin++) {
      const entry = this.lo[pin]!;
      if ((entry & RTE_VECTOR) !== vector || !(entry & RTE_LEVEL) || !(entry & RTE_REMOTE_IRR)) continue;
      this.lo[pin] = entry & ~RTE_REMOTE_IRR;
      this.service(pin); // still asserted: deliver again
    }
  }

  read(offset: number, size: 1 | 2 | 4): number {
    switch (offset & 0xff) {
      case OFF_REGSEL:
        return this.regsel;
      case OFF_WINDOW:
        return size === 4 ? this.readRegister(this.regsel) : 0;
      default:
        return 0;
    }
  }

  write(offset: number, size: 1 | 2 | 4, value: number): void {
    switch (offset & 0xff) {
      case OFF_REGSEL:
        this.regsel = value & 0xff;
        return;
      case OFF_WINDOW:
        if (size === 4) this.writeRegister(this.regsel, value >>> 0);
        return;
      case OFF_EOI:
        if (size === 4) this.eoi(value & 0xff);
        return;
    }
  }

  private readRegister(r: number): number {
    switch (r) {
      case REG_ID:
      case REG_ARB:
        return (this.id << 24) >>> 0;
      case REG_VERSION:
        return ((IOAPIC_PINS - 1) << 16) | IOAPIC_VERSION;
    }
    const pin = (r - REG_REDTBL) >> 1;
    if (pin < 0 || pin >= IOAPIC_PINS) return 0;
    // Delivery is instant, so Delivery Status always reads idle.
    return r & 1 ? this.hi[pin]! : this.lo[pin]! & ~RTE_DELIVERY_STATUS;
  }

  private writeRegister(r: number, v: number): void {
    if (r === REG_ID) {
      this.id = (v >>> 24) & 0xf;
      return;
    }
    const pin = (r - REG_REDTBL) >> 1;
    if (r < REG_REDTBL || pin >= IOAPIC_PINS) return; // version, arbitration: read-only
    if (r & 1) {
      this.hi[pin] = v & RTE_HI_WRITABLE;
    } else {
      let entry = (v & RTE_LO_WRITABLE) | (this.lo[pin]! & RTE_REMOTE_IRR);
      if (!(entry & RTE_LEVEL)) entry &= ~RTE_REMOTE_IRR;
      this.lo[pin] = entry;
    }
    // Unmasking a level-triggered pin that is still asserted delivers it
    // (edge-triggered pins only deliver on a new edge).
    if (this.lo[pin]! & RTE_LEVEL) this.service(pin);
  }

  /** Redirection entries for debuggers and tests, as 64-bit pairs [lo, hi]. */
  redirection(pin: number): [lo: number, hi: number] {
    return [this.lo[pin]!, this.hi[pin]!];
  }
}
