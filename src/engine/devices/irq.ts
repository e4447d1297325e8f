// Interrupt request wiring between devices and interrupt controllers.
//
// A device drives a line with a level (true = asserted). Edge-triggered
// consumers (the 8259 in edge mode, edge-triggered IOAPIC pins) latch on the
// low-to-high transition, so a device that wants "one interrupt now" pulses
// the line (assert then deassert); a device whose hardware output is a level
// (the 16550's INTR, the RTC's IRQF) keeps it asserted until the cause clears.
// Polarity is logical: "asserted" already accounts for active-low wiring, as
// in QEMU, so the IOAPIC's polarity bit is stored but not applied.

/** One interrupt request line into the interrupt controllers. */
export type IrqLine = (level: boolean) => void;

/** A line that goes nowhere (unconnected devices, tests). */
export const NO_IRQ: IrqLine = () => {};

/** Asserts then deasserts a line: one edge for edge-triggered consumers. */
export function pulse(line: IrqLine): void {
  line(true);
  line(false);
}

/** Optional diagnostics sink shared by the devices (unsupported features, guest errors). */
export type DeviceLog = (message: string) => void;

export const NO_LOG: DeviceLog = () => {};
