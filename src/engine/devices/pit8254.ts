// The 8254 programmable interval timer (ports 0x40-0x43) and the PC's
// "system control port B" at 0x61 that gates channel 2 and reads its output.
//
// The counters run at 1.193182 MHz against the VirtualClock (1 instruction =
// 1 virtual ns), so nothing depends on the host. Tick k after a count load
// happens at the first virtual ns t with floor((t - load) * 1193182 / 1e9) >= k;
// the arithmetic is split so it stays exact for any realistic run length.
//
// Modes 0-5 are implemented after the 8254 data sheet:
//   0 interrupt on terminal count   3 square wave (IRQ period = count)
//   1 gate-triggered one-shot       4 software-triggered strobe
//   2 rate generator                5 gate-triggered strobe
// Channel 0's OUT drives IRQ0 through TimedDevice deadlines: a rising edge of
// OUT pulses the line. Channels 0 and 1 have their gate tied high, so modes 1
// and 5 never trigger on them (as on a PC); channel 2's gate is port 0x61 bit 0.
//
// Simplifications, documented because a guest could notice them:
// - a new count takes effect immediately in every mode (QEMU does the same;
//   the data sheet defers it to the end of the current period in modes 2/3);
// - "null count" in the status byte clears as soon as a full count is written;
// - when the machine reaches a deadline late, missed periodic edges are
//   coalesced into one interrupt (the next one is scheduled after now);
// - port 0x61 bit 4 (refresh request) toggles every 15.085 µs of virtual time.

import type { IoSize, PortDevice } from './bus';
import type { TimedDevice, VirtualClock } from './types';
import { NO_IRQ, pulse, type IrqLine } from './irq';

export const PIT_HZ = 1_193_182;
const NS_PER_S = 1_000_000_000;

/** Whole PIT ticks in `ns` nanoseconds (exact for ns < 2^53). */
export function pitTicks(ns: number): number {
  const secs = Math.floor(ns / NS_PER_S);
  const rem = ns - secs * NS_PER_S;
  return secs * PIT_HZ + Math.floor((rem * PIT_HZ) / NS_PER_S);
}

/** The smallest ns offset at which pitTicks(ns) >= ticks. */
export function pitTicksToNs(ticks: number): number {
  const secs = Math.floor(ticks / PIT_HZ);
  const rem = ticks - secs * PIT_HZ;
  return secs * NS_PER_S + Math.ceil((rem * NS_PER_S) / PIT_HZ);
}

const RW_LATCH = 0;
const RW_LSB = 1;
const RW_MSB = 2;
const RW_WORD = 3;

function toBcd(n: number): number {
  return (n % 10) | (Math.floor(n / 10) % 10) << 4 | (Math.floor(n / 100) % 10) << 8 | (Math.floor(n / 1000) % 10) << 12;
}
function fromBcd(v: number): number {
  return (v & 0xf) + ((v >>> 4) & 0xf) * 10 + ((v >>> 8) & 0xf) * 100 + ((v >>> 12) & 0xf) * 1000;
}

class PitChannel {
  mode = 0;
  bcd = false;
  rw = RW_WORD;
  /** The count in effect, 1..65536 (or 1..10000 in BCD). */
  count = 0x10000;
  /** Virtual ns of the last count load or gate trigger; NaN while not counting. */
  start = NaN;
  gate: boolean;
  /** Ticks already counted when the gate went low in modes 0/4 (counting paused). */
  frozen = -1;
  /** Modes 1/5: waiting for a gate edge. */
  armed = false;
  nullCount = true;
  writeLow = -1; // LSB written, MSB awaited (RW_WORD)
  readHigh = false; // next read returns the MSB (RW_WORD)
  latched = -1; // latched count, or -1
  latchHigh = false;
  status = -1; // latched status byte, or -1
  /** OUT before the first count is written (mode 0 low, others high). */
  idleOut = true;

  constructor(gateTiedHigh: boolean) {
    this.gate = gateTiedHigh;
  }

  /** Ticks counted since start, honouring a paused gate. */
  elapsed(now: number): number {
    if (this.frozen >= 0) return this.frozen;
    return pitTicks(now - this.start);
  }

  counting(): boolean {
    return !Number.isNaN(this.start) && !this.armed;
  }

  /** The counting element's value as software reads it. */
  value(now: number): number {
    if (!this.counting()) return this.encode(this.count & 0xffff);
    const d = this.elapsed(now);
    const n = this.count;
    let v: number;
    switch (this.mode) {
      case 2:
        v = n - (d % n);
        break;
      case 3:
        v = n - ((2 * d) % n); // counts down by two each tick
        break;
      default:
        v = (n - d) & 0xffff; // modes 0, 1, 4, 5 keep counting past terminal count
    }
    return this.encode(v === 0x10000 ? 0 : v & 0xffff);
  }

  private encode(v: number): number {
    return this.bcd ? toBcd(v % 10000) : v;
  }

  out(now: number): boolean {
    if (!this.counting()) return this.idleOut;
    const d = this.elapsed(now);
    const n = this.count;
    switch (this.mode) {
      case 0:
        return d >= n;
      case 1:
        return d >= n;
      case 2:
        if (!this.gate) return true;
        return d % n !== n - 1; // low for the one tick the counter holds 1
      case 3:
        if (!this.gate) return true;
        return d % n < (n + 1) >>> 1;
      default:
        return d !== n; // modes 4/5: one-tick low strobe at terminal count
    }
  }

  /** Tick number (relative to start) of the next rising edge of OUT after tick d, or Infinity. */
  nextRise(d: number): number {
    const n = this.count;
    switch (this.mode) {
      case 0:
      case 1:
        return d < n ? n : Infinity;
      case 2:
      case 3:
        return this.gate ? (Math.floor(d / n) + 1) * n : Infinity;
      default:
        return d < n + 1 ? n + 1 : Infinity;
    }
  }

  statusByte(now: number): number {
    return (this.out(now) ? 0x80 : 0) | (this.nullCount ? 0x40 : 0) | (this.rw << 4) | (this.mode << 1) | (this.bcd ? 1 : 0);
  }

  control(v: number, now: number): void {
    const rw = (v >>> 4) & 3;
    if (rw === RW_LATCH) {
      if (this.latched < 0) this.latch(now);
      return;
    }
    this.rw = rw;
    let mode = (v >>> 1) & 7;
    if (mode > 5) mode -= 4; // 6 and 7 are aliases of 2 and 3
    this.mode = mode;
    this.bcd = (v & 1) !== 0;
    this.start = NaN; // counting stops until a new count is written
    this.frozen = -1;
    this.armed = false;
    this.nullCount = true;
    this.writeLow = -1;
    this.readHigh = false;
    this.latched = -1;
    this.status = -1;
    this.idleOut = mode !== 0;
  }

  latch(now: number): void {
    this.latched = this.value(now);
    this.latchHigh = false;
  }

  read(now: number): number {
    if (this.status >= 0) {
      const s = this.status;
      this.status = -1;
      return s;
    }
    const fromLatch = this.latched >= 0;
    const v = fromLatch ? this.latched : this.value(now);
    let byte: number;
    switch (this.rw) {
      case RW_LSB:
        byte = v & 0xff;
        if (fromLatch) this.latched = -1;
        break;
      case RW_MSB:
        byte = (v >>> 8) & 0xff;
        if (fromLatch) this.latched = -1;
        break;
      default: {
        const high = fromLatch ? this.latchHigh : this.readHigh;
        byte = high ? (v >>> 8) & 0xff : v & 0xff;
        if (fromLatch) {
          if (high) this.latched = -1;
          else this.latchHigh = true;
        } else {
          this.readHigh = !high;
        }
      }
    }
    return byte;
  }

  /** A data write; returns true when a complete count was loaded. */
  write(v: number, now: number): boolean {
    let raw: number;
    switch (this.rw) {
      case RW_LSB:
        raw = v;
        break;
      case RW_MSB:
        raw = v << 8;
        break;
      default:
        if (this.writeLow < 0) {
          this.writeLow = v;
          return false;
        }
        raw = this.writeLow | (v << 8);
        this.writeLow = -1;
    }
    let n = this.bcd ? fromBcd(raw) : raw;
    if (n === 0) n = this.bcd ? 10000 : 0x10000;
    this.count = n;
    this.nullCount = false;
    this.frozen = -1;
    this.start = now;
    // Modes 1 and 5 wait for a gate edge; with the gate tied high that never comes.
    this.armed = this.mode === 1 || this.mode === 5;
    if (!this.armed && !this.gate && (this.mode === 0 || this.mode === 4)) this.frozen = 0;
    return true;
  }

  setGate(level: boolean, now: number): void {
    if (level === this.gate) return;
    this.gate = level;
    if (Number.isNaN(this.start)) return;
    switch (this.mode) {
      case 0:
      case 4:
        // The gate pauses counting.
        if (!level) this.frozen = pitTicks(now - this.start);
        else if (this.frozen >= 0) {
          this.start = now - pitTicksToNs(this.frozen);
          this.frozen = -1;
        }
        break;
      default:
        // Modes 1, 2, 3, 5: a rising edge (re)starts the count.
        if (level) {
          this.start = now;
          this.armed = false;
        }
    }
  }
}

export interface Pit8254Options {
  clock: VirtualClock;
  irq0?: IrqLine;
}

export class Pit8254 implements PortDevice, TimedDevice {
  readonly name = 'pit8254';
  readonly channels: readonly PitChannel[] = [new PitChannel(true), new PitChannel(true), new PitChannel(false)];
  private readonly clock: VirtualClock;
  private readonly irq0: IrqLine;
  /** Virtual ns of channel 0's next rising OUT edge. */
  private deadline = Infinity;

  constructor(opts: Pit8254Options) {
    this.clock = opts.clock;
    this.irq0 = opts.irq0 ?? NO_IRQ;
  }

  in(port: number, _size: IoSize): number {
    const idx = port - 0x40;
    if (idx === 3) return 0xff; // the control word register is write-only
    return this.channels[idx]!.read(this.clock.now());
  }

  out(port: number, _size: IoSize, value: number): void {
    const now = this.clock.now();
    const v = value & 0xff;
    const idx = port - 0x40;
    if (idx < 3) {
      if (this.channels[idx]!.write(v, now) && idx === 0) this.schedule(now);
      return;
    }
    const sel = v >>> 6;
    if (sel === 3) {
      this.readBack(v, now);
      return;
    }
    this.channels[sel]!.control(v, now);
    if (sel === 0) this.schedule(now);
  }

  /** Read-back command: bit 5 clear latches counts, bit 4 clear latches status. */
  private readBack(v: number, now: number): void {
    for (let i = 0; i < 3; i++) {
      if (!(v & (2 << i))) continue;
      const ch = this.channels[i]!;
      if (!(v & 0x20) && ch.latched < 0) ch.latch(now);
      if (!(v & 0x10) && ch.status < 0) ch.status = ch.statusByte(now);
    }
  }

  /** Channel 2's gate (port 0x61 bit 0). */
  setGate2(level: boolean): void {
    this.channels[2]!.setGate(level, this.clock.now());
  }

  /** Channel 2's OUT (port 0x61 bit 5). */
  out2(): boolean {
    return this.channels[2]!.out(this.clock.now());
  }

  nextDeadline(): number {
    return this.deadline;
  }

  onDeadline(now: number): void {
    if (now < this.deadline) return;
    pulse(this.irq0);
    this.schedule(now);
  }

  /** Finds channel 0's next rising edge strictly after `now`. */
  private schedule(now: number): void {
    const ch = this.channels[0]!;
    if (!ch.counting() || ch.frozen >= 0) {
      this.deadline = Infinity;
      return;
    }
    const d = pitTicks(now - ch.start);
    const rise = ch.nextRise(d);
    this.deadline = rise === Infinity ? Infinity : ch.start + pitTicksToNs(rise);
    // The edge exactly at `now` was just delivered (or is the load instant itself).
    if (this.deadline <= now) {
      const later = ch.nextRise(rise);
      this.deadline = later === Infinity ? Infinity : ch.start + pitTicksToNs(later);
    }
  }
}

/**
 * Port 0x61, "system control port B": bit 0 gates PIT channel 2, bit 1 enables
 * the speaker, bits 2-3 are stored, bit 4 is the refresh toggle, bit 5 is
 * channel 2's OUT. Nothing is played; guests use it for timer calibration.
 */
export class SystemControlPortB implements PortDevice {
  readonly name = 'port61';
  private value = 0;

  constructor(private readonly pit: Pit8254, private readonly clock: VirtualClock) {}

  in(_port: number, _size: IoSize): number {
    const refresh = Math.floor(this.clock.now() / 15_085) & 1;
    return (this.value & 0x0f) | (refresh << 4) | (this.pit.out2() ? 0x20 : 0);
  }

  out(_port: number, _size: IoSize, value: number): void {
    this.value = value & 0x0f;
    this.pit.setGate2((value & 1) !== 0);
  }
}
