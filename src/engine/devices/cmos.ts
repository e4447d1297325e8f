// MC146818 real-time clock and CMOS RAM at ports 0x70 (index) / 0x71 (data),
// IRQ8, filled the way QEMU's pc machine fills it.
//
// Time is deterministic: the clock reads 2000-01-01 00:00:00 UTC at virtual
// time 0 (override with `epochSeconds`) and advances with virtual time, so a
// run prints the same dates every time. The guest may set the clock (SET bit
// in status B, or plain writes to the time registers, as QEMU accepts); writes
// rebase the clock at the current virtual time. Day of week is derived from
// the date (writes to register 6 are ignored).
//
// Formats follow status B: BCD unless DM (bit 2) is set, 24-hour when bit 1 is
// set, else 12-hour with bit 7 of the hour as PM. Status A defaults to 0x26
// (32.768 kHz divider, 1024 Hz periodic rate), B to 0x02 (24-hour BCD), D to
// 0x80 (valid RAM and time), as QEMU. UIP reads set during the last 244 µs of
// each second. The divider-chain bits of status A are stored but do not stop
// the clock.
//
// Interrupts: periodic (PIE, rate from status A), alarm (AIE, with 0xC0-0xFF
// as "don't care") and update-ended (UIE). Flags in status C are computed
// lazily from virtual time, so a guest polling C sees PF/UF/AF without any
// interrupt enabled; deadlines are only requested while an enabled flag is
// still clear (an idle guest costs nothing). Reading C clears the flags and
// drops IRQ8.
//
// Index port bit 7 is the NMI mask (as on a PC); `nmiDisabled` exposes it.
//
// Memory-size bytes (QEMU's pc_cmos_init): 0x15/0x16 base memory in KiB
// (max 640), 0x17/0x18 and 0x30/0x31 KiB above 1 MiB (max 65535), 0x34/0x35
// 64 KiB units above 16 MiB below 4 GiB (max 65535), 0x5B-0x5D 64 KiB units
// above 4 GiB, 0x5F CPUs - 1, 0x14 equipment (FPU and PS/2 mouse), checksum
// of 0x10-0x2D at 0x2E/0x2F; century at 0x32.

import type { IoSize, PortDevice } from './bus';
import type { TimedDevice, VirtualClock } from './types';
import { NO_IRQ, type IrqLine } from './irq';

export const RTC_IRQ = 8;
/** 2000-01-01T00:00:00Z. */
export const DEFAULT_RTC_EPOCH = 946_684_800;

const REG_SEC = 0x00;
const REG_SEC_ALARM = 0x01;
const REG_MIN = 0x02;
const REG_MIN_ALARM = 0x03;
const REG_HOUR = 0x04;
const REG_HOUR_ALARM = 0x05;
const REG_DOW = 0x06;
const REG_DAY = 0x07;
const REG_MONTH = 0x08;
const REG_YEAR = 0x09;
const REG_A = 0x0a;
const REG_B = 0x0b;
const REG_C = 0x0c;
const REG_D = 0x0d;
const REG_CENTURY = 0x32;

const A_UIP = 0x80;
const B_SET = 0x80;
const B_PIE = 0x40;
const B_AIE = 0x20;
const B_UIE = 0x10;
const B_DM_BINARY = 0x04;
const B_24H = 0x02;
const C_IRQF = 0x80;
const C_PF = 0x40;
const C_AF = 0x20;
const C_UF = 0x10;

const NS_PER_S = 1_000_000_000;
const UIP_NS = 244_000;
/** 1 / 32768 s in ns: exact in binary floating point. */
const NS_PER_32K_TICK = NS_PER_S / 32768;

export interface CmosOptions {
  clock: VirtualClock;
  irq?: IrqLine;
  /** Guest RAM in bytes (fills the memory-size bytes). */
  memoryBytes: number;
  cpus: number;
  /** Seconds since the Unix epoch that the RTC shows at virtual time 0. */
  epochSeconds?: number;
}

interface Tm {
  sec: number;
  min: number;
  hour: number;
  day: number;
  month: number; // 1-12
  year: number; // full year
  dow: number; // 1 = Sunday
}

function toBcd(n: number): number {
  return ((Math.floor(n / 10) % 10) << 4) | n % 10;
}
function fromBcd(v: number): number {
  return (v >>> 4) * 10 + (v & 0xf);
}

export class Cmos implements PortDevice, TimedDevice {
  readonly name = 'cmos-rtc';
  /** The 128 bytes of CMOS (time registers are computed on read). */
  readonly ram = new Uint8Array(128);
  private index = 0;
  private nmiMask = false;
  private readonly clock: VirtualClock;
  private readonly irq: IrqLine;
  /** RTC seconds (Unix) at virtual time baseNs. */
  private baseSeconds: number;
  private baseNs = 0;
  /** Time frozen while status B SET is on, in Unix seconds. */
  private frozenSeconds = -1;
  /** Flags already folded into status C up to this virtual time. */
  private checkedNs = 0;
  private irqLevel = false;

  constructor(opts: CmosOptions) {
    this.clock = opts.clock;
    this.irq = opts.irq ?? NO_IRQ;
    this.baseSeconds = opts.epochSeconds ?? DEFAULT_RTC_EPOCH;
    this.baseNs = this.clock.now();
    this.checkedNs = this.baseNs;
    this.ram[REG_A] = 0x26;
    this.ram[REG_B] = B_24H;
    this.ram[REG_D] = 0x80;
    this.fillConfiguration(opts.memoryBytes, opts.cpus);
  }

  get nmiDisabled(): boolean {
    return this.nmiMask;
  }

  in(port: number, _size: IoSize): number {
    if (port === 0x70) return 0xff; // the index register is write-only
    return this.read(this.index);
  }

  out(port: number, _size: IoSize, value: number): void {
    if (port === 0x70) {
      this.index = value & 0x7f;
      this.nmiMask = (value & 0x80) !== 0;
      return;
    }
    this.write(this.index, value & 0xff);
  }

  // --- configuration bytes --------------------------------------------------

  private fillConfiguration(memoryBytes: number, cpus: number): void {
    const KiB = 1024;
    const MiB = 1024 * KiB;
    const below4g = Math.min(memoryBytes, 0x1_0000_0000);
    const above4g = memoryBytes - below4g;
    const set16 = (at: number, v: number): void => {
      this.ram[at] = v & 0xff;
      this.ram[at + 1] = (v >>> 8) & 0xff;
    };
    set16(0x15, Math.min(Math.floor(below4g / KiB), 640));
    const ext = below4g > MiB ? Math.min(Math.floor((below4g - MiB) / KiB), 65535) : 0;
    set16(0x17, ext);
    set16(0x30, ext);
    const high = below4g > 16 * MiB ? Math.min(Math.floor((below4g - 16 * MiB) / (64 * KiB)), 65535) : 0;
    set16(0x34, high);
    const over = Math.floor(above4g / (64 * KiB));
    this.ram[0x5b] = over & 0xff;
    this.ram[0x5c] = (over >>> 8) & 0xff;
    this.ram[0x5d] = (over >>> 16) & 0xff;
    this.ram[0x5f] = (cpus - 1) & 0xff;
    this.ram[0x14] = 0x02 | 0x04; // FPU present, PS/2 mouse installed
    let sum = 0;
    for (let i = 0x10; i <= 0x2d; i++) sum += this.ram[i]!;
    this.ram[0x2e] = (sum >>> 8) & 0xff;
    this.ram[0x2f] = sum & 0xff;
  }

  // --- clock ----------------------------------------------------------------

  private nowSeconds(): number {
    if (this.frozenSeconds >= 0) return this.frozenSeconds;
    return this.baseSeconds + Math.floor((this.clock.now() - this.baseNs) / NS_PER_S);
  }

  private static breakDown(seconds: number): Tm {
    const d = new Date(seconds * 1000);
    return {
      sec: d.getUTCSeconds(),
      min: d.getUTCMinutes(),
      hour: d.getUTCHours(),
      day: d.getUTCDate(),
      month: d.getUTCMonth() + 1,
      year: d.getUTCFullYear(),
      dow: d.getUTCDay() + 1,
    };
  }

  private encode(v: number): number {
    return this.ram[REG_B]! & B_DM_BINARY ? v : toBcd(v);
  }
  private decode(v: number): number {
    return this.ram[REG_B]! & B_DM_BINARY ? v : fromBcd(v);
  }

  private encodeHour(h: number): number {
    if (this.ram[REG_B]! & B_24H) return this.encode(h);
    const h12 = h % 12 === 0 ? 12 : h % 12;
    return this.encode(h12) | (h >= 12 ? 0x80 : 0);
  }
  private decodeHour(v: number): number {
    if (this.ram[REG_B]! & B_24H) return this.decode(v);
    const h12 = this.decode(v & 0x7f) % 12;
    return v & 0x80 ? h12 + 12 : h12;
  }

  /** Current time as the guest reads it (encoded) for register r. */
  private timeRegister(r: number, tm: Tm): number {
    switch (r) {
      case REG_SEC:
        return this.encode(tm.sec);
      case REG_MIN:
        return this.encode(tm.min);
      case REG_HOUR:
        return this.encodeHour(tm.hour);
      case REG_DOW:
        return this.encode(tm.dow);
      case REG_DAY:
        return this.encode(tm.day);
      case REG_MONTH:
        return this.encode(tm.month);
      case REG_YEAR:
        return this.encode(tm.year % 100);
      default:
        return this.encode(Math.floor(tm.year / 100));
    }
  }

  private setTimeField(r: number, v: number): void {
    const tm = Cmos.breakDown(this.nowSeconds());
    switch (r) {
      case REG_SEC:
        tm.sec = this.decode(v);
        break;
      case REG_MIN:
        tm.min = this.decode(v);
        break;
      case REG_HOUR:
        tm.hour = this.decodeHour(v);
        break;
      case REG_DAY:
        tm.day = this.decode(v);
        break;
      case REG_MONTH:
        tm.month = this.decode(v);
        break;
      case REG_YEAR:
        tm.year = Math.floor(tm.year / 100) * 100 + this.decode(v);
        break;
      case REG_CENTURY:
        tm.year = this.decode(v) * 100 + (tm.year % 100);
        break;
      default:
        return; // day of week follows the date
    }
    const secs = Math.floor(Date.UTC(tm.year, tm.month - 1, tm.day, tm.hour, tm.min, tm.sec) / 1000);
    if (!Number.isFinite(secs)) return;
    this.foldFlags(this.clock.now());
    if (this.frozenSeconds >= 0) {
      this.frozenSeconds = secs;
    } else {
      this.baseSeconds = secs;
      this.baseNs = this.clock.now();
    }
  }

  // --- register access ------------------------------------------------------

  private read(r: number): number {
    switch (r) {
      case REG_SEC:
      case REG_MIN:
      case REG_HOUR:
      case REG_DOW:
      case REG_DAY:
      case REG_MONTH:
      case REG_YEAR:
      case REG_CENTURY:
        return this.timeRegister(r, Cmos.breakDown(this.nowSeconds()));
      case REG_A:
        return (this.ram[REG_A]! & 0x7f) | (this.updateInProgress() ? A_UIP : 0);
      case REG_C: {
        this.foldFlags(this.clock.now());
        const v = this.ram[REG_C]!;
        this.ram[REG_C] = 0;
        this.updateIrq();
        return v;
      }
      default:
        return this.ram[r]!;
    }
  }

  private write(r: number, v: number): void {
    switch (r) {
      case REG_SEC:
      case REG_MIN:
      case REG_HOUR:
      case REG_DOW:
      case REG_DAY:
      case REG_MONTH:
      case REG_YEAR:
      case REG_CENTURY:
        this.setTimeField(r, v);
        return;
      case REG_A:
        this.foldFlags(this.clock.now());
        this.ram[REG_A] = v & 0x7f;
        return;
      case REG_B: {
        this.foldFlags(this.clock.now());
        const old = this.ram[REG_B]!;
        if (v & B_SET) v &= ~B_UIE; // setting SET clears UIE (data sheet)
        if (v & B_SET && !(old & B_SET)) this.frozenSeconds = this.nowSeconds();
        if (!(v & B_SET) && old & B_SET) {
          this.baseSeconds = this.frozenSeconds;
          this.baseNs = this.clock.now();
          this.frozenSeconds = -1;
        }
        this.ram[REG_B] = v;
        this.updateIrq();
        return;
      }
      case REG_C:
      case REG_D:
        return; // read-only
      default:
        if (r === REG_SEC_ALARM || r === REG_MIN_ALARM || r === REG_HOUR_ALARM) this.foldFlags(this.clock.now());
        this.ram[r] = v;
    }
  }

  private updateInProgress(): boolean {
    if (this.frozenSeconds >= 0) return false;
    const phase = (this.clock.now() - this.baseNs) % NS_PER_S;
    return phase >= NS_PER_S - UIP_NS;
  }

  // --- interrupt flags --------------------------------------------------------

  /** Periodic interrupt period in ns for status A's rate, or 0 when off. */
  private periodNs(): number {
    let rate = this.ram[REG_A]! & 0x0f;
    if (rate === 0) return 0;
    if (rate <= 2) rate += 7; // rates 1 and 2 alias 8 and 9 with a 32.768 kHz base
    return (1 << (rate - 1)) * NS_PER_32K_TICK;
  }

  /** Second boundaries (as RTC seconds) crossed in (fromNs, toNs]. */
  private secondsCrossed(fromNs: number, toNs: number): [first: number, count: number] {
    if (this.frozenSeconds >= 0) return [0, 0];
    const a = Math.floor((fromNs - this.baseNs) / NS_PER_S);
    const b = Math.floor((toNs - this.baseNs) / NS_PER_S);
    return [this.baseSeconds + a + 1, b - a];
  }

  private alarmMatches(seconds: number): boolean {
    const tm = Cmos.breakDown(seconds);
    const match = (alarm: number, now: number): boolean => (alarm & 0xc0) === 0xc0 || alarm === now;
    return (
      match(this.ram[REG_SEC_ALARM]!, this.encode(tm.sec)) &&
      match(this.ram[REG_MIN_ALARM]!, this.encode(tm.min)) &&
      match(this.ram[REG_HOUR_ALARM]!, this.encodeHour(tm.hour))
    );
  }

  /** Sets PF/UF/AF for everything that happened between checkedNs and now. */
  private foldFlags(now: number): void {
    if (now <= this.checkedNs) return;
    let c = this.ram[REG_C]!;
    const period = this.periodNs();
    if (period && Math.floor(now / period) > Math.floor(this.checkedNs / period)) c |= C_PF;
    const [first, count] = this.secondsCrossed(this.checkedNs, now);
    if (count > 0) {
      c |= C_UF;
      // A day holds every alarm time there is; no need to look further.
      const limit = Math.min(count, 86_400);
      for (let i = 0; i < limit; i++) {
        if (this.alarmMatches(first + i)) {
          c |= C_AF;
          break;
        }
      }
    }
    this.checkedNs = now;
    this.ram[REG_C] = c;
    this.updateIrq();
  }

  private updateIrq(): void {
    const b = this.ram[REG_B]!;
    let c = this.ram[REG_C]! & ~C_IRQF;
    if ((c & C_PF && b & B_PIE) || (c & C_AF && b & B_AIE) || (c & C_UF && b & B_UIE)) c |= C_IRQF;
    this.ram[REG_C] = c;
    const level = (c & C_IRQF) !== 0;
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.irq(level);
    }
  }

  nextDeadline(): number {
    const b = this.ram[REG_B]!;
    const c = this.ram[REG_C]!;
    if (c & C_IRQF) return Infinity; // nothing new can happen until C is read
    let next = Infinity;
    const period = this.periodNs();
    if (b & B_PIE && period) next = (Math.floor(this.checkedNs / period) + 1) * period;
    if (b & (B_UIE | B_AIE) && this.frozenSeconds < 0) {
      const k = Math.floor((this.checkedNs - this.baseNs) / NS_PER_S) + 1;
      next = Math.min(next, this.baseNs + k * NS_PER_S);
    }
    return Math.ceil(next);
  }

  onDeadline(now: number): void {
    this.foldFlags(now);
  }
}
