// Contracts between devices, the machine and the vCPUs: virtual time, the
// interrupt lines into each vCPU, and what a device may ask of the machine.
// Time is virtual: one retired instruction is one nanosecond (a 1 GHz guest),
// so every run is reproducible.

/** Virtual time in nanoseconds since power-on. */
export interface VirtualClock {
  now(): number;
}

/** What a vCPU's interrupt logic sees: the local APIC (or the PIC in virtual-wire mode) behind it. */
export interface CpuInterruptLines {
  /** A maskable interrupt is ready to be delivered (honours the APIC's TPR/PPR). */
  hasInterrupt(): boolean;
  /** Acknowledges the highest-priority pending interrupt and returns its vector. */
  acknowledgeInterrupt(): number;
  /** Consumes a pending NMI; true when one was pending. */
  takeNmi(): boolean;
  /** Whether an NMI is pending, without consuming it (the run loop peeks between blocks). */
  hasNmi(): boolean;
}

/** Requests from the APIC system to the machine (INIT and SIPI to other vCPUs). */
export interface CpuControl {
  sendInit(cpu: number): void;
  sendSipi(cpu: number, vector: number): void;
  /** Wakes a halted vCPU because an interrupt became pending. */
  kick(cpu: number): void;
}

/** A device with a timer tells the machine when it next needs to run. */
export interface TimedDevice {
  /** Virtual ns of the next event, or Infinity. */
  nextDeadline(): number;
  /** Called when now() >= nextDeadline(). */
  onDeadline(now: number): void;
}
