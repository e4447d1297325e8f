// The local APIC timer: initial/current count, divide configuration and the
// IA32_TSC_DEADLINE MSR, against virtual time.
//
// The APIC bus clock is 1 GHz, the same rate as virtual time, so with
// divide-by-1 the current count drops by one every virtual ns; divide-by-N
// takes N ns per count. TSC-deadline mode compares against the CPU's TSC,
// also taken to run at 1 GHz (the LocalApic's `tsc` option).
//
// Semantics per the SDM's "APIC Timer" section: writing the initial count
// (re)starts one-shot/periodic counting, 0 stops it; a divider change keeps
// the current count; switching to or from TSC-deadline mode disarms the
// timer; in TSC-deadline mode the initial count is ignored and the deadline
// MSR clears when it fires; outside it the MSR reads 0 and ignores writes.
// When the machine reaches a periodic deadline late, the missed expiries
// coalesce into one and the next is scheduled after `now`.

import type { VirtualClock } from './types';

export const TIMER_ONESHOT = 0;
export const TIMER_PERIODIC = 1;
export const TIMER_TSC_DEADLINE = 2;

/** The timer mode encoded in an LVT timer entry (bits 18:17); 3 is reserved and acts as one-shot. */
export function timerModeOf(lvtTimer: number): number {
  const m = (lvtTimer >>> 17) & 3;
  return m === 3 ? TIMER_ONESHOT : m;
}

export class ApicTimer {
  private mode = TIMER_ONESHOT;
  private initialCount = 0;
  private divideConf = 0;
  private divisor = 2;
  private start = 0;
  private armed = false;
  private deadlineLo = 0;
  private deadlineHi = 0;
  private next = Infinity;

  constructor(
    private readonly clock: VirtualClock,
    private readonly tsc: () => number,
  ) {}

  /** Power-on / INIT state: stopped, divide by 2, one-shot. */
  reset(): void {
    this.mode = TIMER_ONESHOT;
    this.initialCount = 0;
    this.setDivide(0);
    this.armed = false;
    this.deadlineLo = this.deadlineHi = 0;
    this.next = Infinity;
  }

  get initial(): number {
    return this.initialCount;
  }

  get divideConfig(): number {
    return this.divideConf;
  }

  get divide(): number {
    return this.divisor;
  }

  /** Follows a write of the LVT timer entry. */
  setMode(mode: number, now: number): void {
    const wasDeadline = this.mode === TIMER_TSC_DEADLINE;
    this.mode = mode;
    if ((mode === TIMER_TSC_DEADLINE) !== wasDeadline) {
      this.armed = false;
      this.initialCount = 0;
      this.deadlineLo = this.deadlineHi = 0;
      this.next = Infinity;
    } else {
      this.scheduleCountdown(now);
    }
  }

  current(now: number): number {
    if (this.mode === TIMER_TSC_DEADLINE || this.initialCount === 0 || !this.armed) return 0;
    const ticks = Math.floor((now - this.start) / this.divisor);
    if (this.mode === TIMER_PERIODIC) return this.initialCount - (ticks % this.initialCount);
    return ticks >= this.initialCount ? 0 : this.initialCount - ticks;
  }

  writeInitial(v: number, now: number): void {
    if (this.mode === TIMER_TSC_DEADLINE) return;
    this.initialCount = v >>> 0;
    this.start = now;
    this.armed = v !== 0;
    this.scheduleCountdown(now);
  }

  writeDivide(v: number, now: number): void {
    const cc = this.current(now);
    this.setDivide(v);
    if (this.armed && this.initialCount) {
      this.start = now - (this.initialCount - cc) * this.divisor;
      this.scheduleCountdown(now);
    }
  }

  /** IA32_TSC_DEADLINE as RDMSR returns it: [lo, hi]. */
  deadlineLow(): number {
    return this.mode === TIMER_TSC_DEADLINE ? this.deadlineLo : 0;
  }
  deadlineHigh(): number {
    return this.mode === TIMER_TSC_DEADLINE ? this.deadlineHi : 0;
  }

  writeDeadline(lo: number, hi: number): void {
    if (this.mode !== TIMER_TSC_DEADLINE) return;
    this.deadlineLo = lo >>> 0;
    this.deadlineHi = hi >>> 0;
    const deadline = this.deadlineHi * 0x1_0000_0000 + this.deadlineLo;
    if (deadline === 0) {
      this.next = Infinity;
      return;
    }
    const now = this.clock.now();
    this.next = Math.max(now, now + (deadline - this.tsc()));
  }

  nextDeadline(): number {
    return this.next;
  }

  /** At or after the deadline: advances the timer; true when it expired (deliver LVT timer). */
  expire(now: number): boolean {
    if (now < this.next) return false;
    if (this.mode === TIMER_TSC_DEADLINE) {
      this.deadlineLo = this.deadlineHi = 0;
      this.next = Infinity;
    } else if (this.mode === TIMER_PERIODIC) {
      this.scheduleCountdown(now);
    } else {
      this.armed = false;
      this.next = Infinity;
    }
    return true;
  }

  private setDivide(v: number): void {
    this.divideConf = v & 0xb;
    const code = (v & 3) | ((v >>> 1) & 4);
    this.divisor = 1 << ((code + 1) & 7); // 000→2 ... 110→128, 111→1
  }

  private scheduleCountdown(now: number): void {
    if (this.mode === TIMER_TSC_DEADLINE) return;
    if (!this.armed || this.initialCount === 0) {
      this.next = Infinity;
      return;
    }
    const period = this.initialCount * this.divisor;
    if (this.mode === TIMER_PERIODIC) {
      this.next = this.start + (Math.floor((now - this.start) / period) + 1) * period;
    } else {
      this.next = this.start + period;
    }
  }
}
