// 8254 PIT against virtual time (1 instruction = 1 ns), driven through ports.
import { describe, expect, it } from 'vitest';
import { IoBus } from '../../../src/engine/devices/bus';
import { Pit8254, SystemControlPortB, pitTicks, pitTicksToNs } from '../../../src/engine/devices/pit8254';

function setup() {
  let t = 0;
  const clock = { now: () => t };
  const irqs: number[] = [];
  let level = false;
  const pit = new Pit8254({
    clock,
    irq0: (l) => {
      if (l && !level) irqs.push(t);
      level = l;
    },
  });
  const io = new IoBus();
  io.register(0x40, 4, pit);
  io.register(0x61, 1, new SystemControlPortB(pit, clock));
  const outb = (p: number, v: number) => io.out(p, 1, v);
  const inb = (p: number) => io.in(p, 1);
  /** Advances virtual time, firing deadlines as the machine would. */
  const advance = (to: number) => {
    for (;;) {
      const d = pit.nextDeadline();
      if (d > to) break;
      t = d;
      pit.onDeadline(t);
    }
    t = to;
  };
  return { pit, outb, inb, irqs, advance, setTime: (v: number) => (t = v) };
}

describe('8254 PIT', () => {
  it('converts between ticks and virtual ns exactly', () => {
    expect(pitTicksToNs(1193)).toBe(999_848);
    expect(pitTicks(999_847)).toBe(1192);
    expect(pitTicks(999_848)).toBe(1193);
    expect(pitTicks(1_000_000_000)).toBe(1_193_182);
    expect(pitTicksToNs(1_193_182 * 3600)).toBe(3600e9);
  });

  it('raises IRQ0 every `count` ticks in mode 2', () => {
    const { pit, outb, irqs, advance } = setup();
    outb(0x43, 0x34); // channel 0, lobyte/hibyte, mode 2, binary
    outb(0x40, 1193 & 0xff);
    outb(0x40, 1193 >> 8);
    expect(pit.nextDeadline()).toBe(999_848);
    advance(5_000_000);
    // Tick k is at ceil(k * 1193 * 1e9 / 1193182) ns: no drift accumulates.
    expect(irqs).toEqual([999_848, 1_999_695, 2_999_543, 3_999_390, 4_999_238]);
  });

  it('fires once at terminal count in mode 0', () => {
    const { outb, irqs, advance } = setup();
    outb(0x43, 0x30); // mode 0
    outb(0x40, 0x9c);
    outb(0x40, 0x2e); // 11932 ticks ≈ 10 ms
    advance(50_000_000);
    expect(irqs).toEqual([10_000_151]);
  });

  it('uses a full 65536 count for 0 in mode 3 (18.2 Hz)', () => {
    const { pit, outb } = setup();
    outb(0x43, 0x36);
    outb(0x40, 0);
    outb(0x40, 0);
    expect(pit.nextDeadline()).toBe(54_925_402);
  });

  it('latches the count and reads it back low byte first', () => {
    const { outb, inb, setTime } = setup();
    outb(0x43, 0x34);
    outb(0x40, 0x00);
    outb(0x40, 0x10); // 4096
    setTime(pitTicksToNs(100));
    outb(0x43, 0x00); // latch channel 0
    setTime(pitTicksToNs(200)); // the latch holds the old value
    const lo = inb(0x40);
    const hi = inb(0x40);
    expect((hi << 8) | lo).toBe(4096 - 100);
  });

  it('answers the read-back command with status and count', () => {
    const { outb, inb, setTime } = setup();
    outb(0x43, 0x34);
    outb(0x40, 0x00);
    outb(0x40, 0x10);
    setTime(pitTicksToNs(10));
    outb(0x43, 0xc2); // read-back: latch count and status of channel 0
    expect(inb(0x40)).toBe(0x80 | 0x30 | 0x04); // OUT high, lobyte/hibyte, mode 2
    const lo = inb(0x40);
    const hi = inb(0x40);
    expect((hi << 8) | lo).toBe(4096 - 10);
  });

  it('counts in BCD when asked', () => {
    const { outb, inb, setTime } = setup();
    outb(0x43, 0x31); // mode 0, BCD
    outb(0x40, 0x00);
    outb(0x40, 0x10); // BCD 1000
    setTime(pitTicksToNs(1));
    outb(0x43, 0x00);
    expect(inb(0x40)).toBe(0x99);
    expect(inb(0x40)).toBe(0x09); // 0999
  });

  it('gates channel 2 and shows its OUT on port 0x61 (calibration loop)', () => {
    const { outb, inb, setTime } = setup();
    outb(0x61, (inb(0x61) & ~0x02) | 0x01); // gate on, speaker off
    outb(0x43, 0xb0); // channel 2, mode 0
    outb(0x42, 0xff);
    outb(0x42, 0xff); // 65535 ticks
    expect(inb(0x61) & 0x20).toBe(0);
    setTime(pitTicksToNs(65534));
    expect(inb(0x61) & 0x20).toBe(0);
    setTime(pitTicksToNs(65535));
    expect(inb(0x61) & 0x20).toBe(0x20);
    expect(inb(0x61) & 0x01).toBe(1);
  });

  it('pauses a mode 0 count while channel 2 is gated off', () => {
    const { outb, inb, setTime } = setup();
    outb(0x61, 0x01);
    outb(0x43, 0xb0);
    outb(0x42, 100);
    outb(0x42, 0);
    setTime(pitTicksToNs(40));
    outb(0x61, 0x00); // gate off at tick 40
    setTime(pitTicksToNs(1000));
    expect(inb(0x61) & 0x20).toBe(0);
    outb(0x43, 0x80);
    expect(inb(0x42)).toBe(60);
  });

  it('produces a square wave in mode 3', () => {
    const { outb, inb, setTime } = setup();
    outb(0x61, 0x01);
    outb(0x43, 0xb6); // channel 2, mode 3
    outb(0x42, 10);
    outb(0x42, 0);
    const outs: number[] = [];
    for (let k = 0; k < 10; k++) {
      setTime(pitTicksToNs(k));
      outs.push((inb(0x61) >> 5) & 1);
    }
    expect(outs).toEqual([1, 1, 1, 1, 1, 0, 0, 0, 0, 0]);
  });
});
