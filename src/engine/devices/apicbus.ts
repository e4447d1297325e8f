// The interrupt-message fabric between the IOAPIC and the local APICs (the
// "APIC bus" of the P6, the system bus since): resolves a destination to the
// local APICs it names and hands each the message. IPIs from one local APIC
// to others travel the same way.
//
// Destination matching (SDM Vol. 3A, "Determining IPI Destination"):
//  - physical: the APIC ID, or the broadcast ID (0xFF for 8-bit senders such
//    as the IOAPIC and xAPIC ICRs, 0xFFFFFFFF for x2APIC ICRs);
//  - logical: each target's LDR under its own model (xAPIC flat or cluster
//    per DFR, x2APIC cluster), see LocalApic.matchesLogical.
// Lowest-priority delivery goes to the first matching APIC in CPU order, as
// QEMU does (deterministic; no arbitration priority modelled).
// Globally disabled local APICs (IA32_APIC_BASE.EN = 0) receive nothing.

import type { ExtIntSource } from './pic8259';
import { NO_LOG, type DeviceLog } from './irq';

/** Delivery modes (ICR, IOAPIC redirection entries, LVT entries). */
export const DM_FIXED = 0;
export const DM_LOWEST = 1;
export const DM_SMI = 2;
export const DM_NMI = 4;
export const DM_INIT = 5;
export const DM_STARTUP = 6;
export const DM_EXTINT = 7;

/** Destination shorthands (ICR bits 19:18). */
export const SH_NONE = 0;
export const SH_SELF = 1;
export const SH_ALL = 2;
export const SH_ALL_BUT_SELF = 3;

/** What the bus needs from a local APIC. */
export interface ApicTarget {
  readonly cpu: number;
  /** IA32_APIC_BASE.EN: a globally disabled APIC is off the bus. */
  readonly hardwareEnabled: boolean;
  matchesPhysical(dest: number, broadcast: number): boolean;
  matchesLogical(dest: number, wide: boolean): boolean;
  acceptFixed(vector: number, levelTriggered: boolean): void;
  acceptNmi(): void;
  acceptInit(): void;
  acceptStartup(vector: number): void;
}

export class ApicBus {
  readonly targets: ApicTarget[] = [];
  /** EOI broadcast for level-triggered vectors (the IOAPIC clears Remote IRR). */
  onEoi: (vector: number) => void = () => {};
  /** Source of vectors for ExtINT messages (the 8259), if any. */
  extInt: ExtIntSource | undefined;

  constructor(private readonly log: DeviceLog = NO_LOG) {}

  /**
   * Sends one interrupt message.
   * @param dest destination field (8 bits, or 32 bits when `wide`)
   * @param logical destination mode (false: physical)
   * @param mode delivery mode (DM_*)
   * @param vector vector for fixed/lowest/startup
   * @param levelTriggered trigger mode (sets the target's TMR bit)
   * @param wide the destination is a 32-bit x2APIC ID
   * @param shorthand ICR destination shorthand (SH_*), relative to `source`
   */
  deliver(
    dest: number,
    logical: boolean,
    mode: number,
    vector: number,
    levelTriggered: boolean,
    wide = false,
    shorthand = SH_NONE,
    source?: ApicTarget,
  ): void {
    if (mode === DM_EXTINT) {
      // QEMU reads the vector from the 8259 (an INTA cycle) and sends it as a fixed interrupt.
      if (!this.extInt) return;
      vector = this.extInt.acknowledge();
      mode = DM_FIXED;
    }
    const broadcast = wide ? 0xffffffff : 0xff;
    let lowest: ApicTarget | undefined;
    for (let i = 0; i < this.targets.length; i++) {
      const t = this.targets[i]!;
      if (!t.hardwareEnabled) continue;
      let hit: boolean;
      switch (shorthand) {
        case SH_SELF:
          hit = t === source;
          break;
        case SH_ALL:
          hit = true;
          break;
        case SH_ALL_BUT_SELF:
          hit = t !== source;
          break;
        default:
          hit = logical ? t.matchesLogical(dest, wide) : t.matchesPhysical(dest, broadcast);
      }
      if (!hit) continue;
      switch (mode) {
        case DM_FIXED:
          t.acceptFixed(vector, levelTriggered);
          break;
        case DM_LOWEST:
          lowest ??= t;
          break;
        case DM_NMI:
          t.acceptNmi();
          break;
        case DM_INIT:
          t.acceptInit();
          break;
        case DM_STARTUP:
          t.acceptStartup(vector);
          break;
        case DM_SMI:
          this.log(`APIC: SMI to CPU ${t.cpu} ignored (no SMM)`);
          break;
        default:
          this.log(`APIC: reserved delivery mode ${mode} ignored`);
      }
    }
    lowest?.acceptFixed(vector, levelTriggered);
  }
}
