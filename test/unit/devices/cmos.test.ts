// RTC/CMOS through ports 0x70/0x71, with deterministic virtual time.
import { describe, expect, it } from 'vitest';
import { IoBus } from '../../../src/engine/devices/bus';
import { Cmos } from '../../../src/engine/devices/cmos';

const S = 1_000_000_000;

function setup(memoryBytes = 128 * 1024 * 1024, cpus = 2) {
  let t = 0;
  const irq: boolean[] = [];
  const cmos = new Cmos({ clock: { now: () => t }, irq: (l) => irq.push(l), memoryBytes, cpus });
  const io = new IoBus();
  io.register(0x70, 2, cmos);
  const read = (r: number) => {
    io.out(0x70, 1, r);
    return io.in(0x71, 1);
  };
  const write = (r: number, v: number) => {
    io.out(0x70, 1, r);
    io.out(0x71, 1, v);
  };
  return { cmos, io, irq, read, write, setTime: (v: number) => (t = v) };
}

const time = (read: (r: number) => number) => [9, 8, 7, 4, 2, 0].map(read);

describe('RTC/CMOS', () => {
  it('starts at 2000-01-01 00:00:00 in BCD, 24-hour mode, with century 0x20', () => {
    const { read } = setup();
    expect(time(read)).toEqual([0x00, 0x01, 0x01, 0x00, 0x00, 0x00]);
    expect(read(0x32)).toBe(0x20);
    expect(read(0x06)).toBe(7); // a Saturday
    expect(read(0x0a) & 0x7f).toBe(0x26);
    expect(read(0x0b)).toBe(0x02);
    expect(read(0x0d)).toBe(0x80);
  });

  it('advances with virtual time', () => {
    const { read, setTime } = setup();
    setTime((86_400 * 31 + 3600 * 13 + 60 * 45 + 59) * S + S / 2);
    expect(time(read)).toEqual([0x00, 0x02, 0x01, 0x13, 0x45, 0x59]);
  });

  it('switches to binary and 12-hour formats per status B', () => {
    const { read, write, setTime } = setup();
    setTime((3600 * 13 + 60 * 45 + 59) * S);
    write(0x0b, 0x06); // binary, 24-hour
    expect(read(0)).toBe(59);
    expect(read(2)).toBe(45);
    expect(read(4)).toBe(13);
    write(0x0b, 0x00); // BCD, 12-hour
    expect(read(4)).toBe(0x81); // 1 PM
    expect(read(0)).toBe(0x59);
  });

  it('lets the guest set the clock', () => {
    const { read, write, setTime } = setup();
    write(0x0b, 0x82); // SET
    write(0x09, 0x24);
    write(0x08, 0x06);
    write(0x07, 0x15);
    write(0x04, 0x08);
    write(0x02, 0x30);
    write(0x00, 0x00);
    setTime(10 * S); // frozen while SET
    expect(time(read)).toEqual([0x24, 0x06, 0x15, 0x08, 0x30, 0x00]);
    write(0x0b, 0x02);
    setTime(15 * S);
    expect(read(0)).toBe(0x05);
  });

  it('latches the NMI mask from bit 7 of the index port', () => {
    const { cmos, io } = setup();
    io.out(0x70, 1, 0x8b);
    expect(cmos.nmiDisabled).toBe(true);
    expect(io.in(0x71, 1)).toBe(0x02); // register B: the index is 7 bits
    io.out(0x70, 1, 0x0b);
    expect(cmos.nmiDisabled).toBe(false);
  });

  it('fills memory sizes as QEMU does', () => {
    const { read } = setup(128 * 1024 * 1024, 2);
    const w = (lo: number) => read(lo) | (read(lo + 1) << 8);
    expect(w(0x15)).toBe(640);
    expect(w(0x17)).toBe(65535); // (128 MiB - 1 MiB) / 1 KiB caps at 65535
    expect(w(0x30)).toBe(65535);
    expect(w(0x34)).toBe((112 * 1024 * 1024) / 65536);
    expect(read(0x5f)).toBe(1);
    const small = setup(32 * 1024 * 1024, 1);
    const ws = (lo: number) => small.read(lo) | (small.read(lo + 1) << 8);
    expect(ws(0x17)).toBe(31 * 1024);
    expect(ws(0x34)).toBe(256);
    let sum = 0;
    for (let i = 0x10; i <= 0x2d; i++) sum += small.read(i);
    expect((small.read(0x2e) << 8) | small.read(0x2f)).toBe(sum);
  });

  it('raises IRQ8 for periodic interrupts and clears it when C is read', () => {
    const { cmos, irq, read, write, setTime } = setup();
    expect(cmos.nextDeadline()).toBe(Infinity); // nothing enabled, nothing scheduled
    write(0x0b, 0x42); // PIE
    const period = S / 1024; // rate 6
    expect(cmos.nextDeadline()).toBe(Math.ceil(period));
    setTime(cmos.nextDeadline());
    cmos.onDeadline(Math.ceil(period));
    expect(irq).toEqual([true]);
    expect(cmos.nextDeadline()).toBe(Infinity); // until C is read
    expect(read(0x0c)).toBe(0xc0);
    expect(irq).toEqual([true, false]);
    expect(read(0x0c)).toBe(0x00);
  });

  it('sets UF and AF at second boundaries even when only polled', () => {
    const { read, write, setTime } = setup();
    write(0x01, 0x03);
    write(0x03, 0xc0); // any minute
    write(0x05, 0xc0); // any hour
    setTime(2 * S + 1);
    expect(read(0x0c) & 0x30).toBe(0x10); // update ended, alarm (second 3) not yet
    setTime(3 * S);
    expect(read(0x0c) & 0x30).toBe(0x30);
  });

  it('shows UIP during the last 244 µs of each second', () => {
    const { read, setTime } = setup();
    setTime(S - 300_000);
    expect(read(0x0a) & 0x80).toBe(0);
    setTime(S - 200_000);
    expect(read(0x0a) & 0x80).toBe(0x80);
  });
});
