// The assembled pc platform: ports, MMIO pages and interrupt routing end to end.
import { describe, expect, it } from 'vitest';
import { createPcPlatform } from '../../../src/engine/devices/platform';
import { PhysicalMemory } from '../../../src/engine/mmu/physmem';

function setup(cpus = 2) {
  let t = 0;
  const memory = new PhysicalMemory(64 * 1024 * 1024);
  const serial: number[] = [];
  const exits: number[] = [];
  const calls: string[] = [];
  let resets = 0;
  let current = 0;
  const p = createPcPlatform({
    memory,
    cpus,
    clock: { now: () => t },
    control: {
      sendInit: (c) => calls.push(`init ${c}`),
      sendSipi: (c, v) => calls.push(`sipi ${c} ${v}`),
      kick: (c) => calls.push(`kick ${c}`),
    },
    currentCpu: () => current,
    onSerial: (b) => serial.push(b),
    onExit: (s) => exits.push(s),
    onReset: () => resets++,
  });
  const outb = (port: number, v: number) => p.io.out(port, 1, v);
  const inb = (port: number) => p.io.in(port, 1);
  const fire = (to: number) => {
    for (;;) {
      let next = Infinity;
      for (const d of p.timedDevices) next = Math.min(next, d.nextDeadline());
      if (next > to) break;
      t = next;
      for (const d of p.timedDevices) if (d.nextDeadline() <= t) d.onDeadline(t);
    }
    t = to;
  };
  return {
    p, memory, serial, exits, calls, outb, inb, fire,
    resets: () => resets,
    setCpu: (c: number) => (current = c),
  };
}

function initPics(outb: (p: number, v: number) => void) {
  for (const [port, v] of [[0x20, 0x11], [0xa0, 0x11], [0x21, 0x20], [0xa1, 0x28], [0x21, 4], [0xa1, 2], [0x21, 1], [0xa1, 1]] as const) {
    outb(port, v);
  }
}

describe('pc platform', () => {
  it('routes COM1 interrupts through the 8259 to the BSP (virtual wire)', () => {
    const { p, outb, calls, serial } = setup();
    initPics(outb);
    outb(0x21, 0xef); // unmask IRQ4 only
    outb(0x3f9, 0x02); // UART: THR-empty interrupt
    const bsp = p.interruptLines[0]!;
    expect(bsp.hasInterrupt()).toBe(true);
    expect(calls).toContain('kick 0');
    expect(p.interruptLines[1]!.hasInterrupt()).toBe(false);
    expect(bsp.acknowledgeInterrupt()).toBe(0x24);
    outb(0x3f8, 0x41);
    expect(serial).toEqual([0x41]);
  });

  it('delivers the PIT on IOAPIC pin 2 and on 8259 IRQ0', () => {
    const { p, memory, outb, fire } = setup();
    memory.write32(0xfec00000, 0x14); // redirection entry 2, low
    memory.write32(0xfec00010, 0x30);
    outb(0x43, 0x34);
    outb(0x40, 0xa9);
    outb(0x40, 0x04); // 1193 ticks ≈ 1 ms
    fire(1_000_000);
    expect(p.apics[0]!.inspect().irr).toEqual([0x30]);
    initPics(outb);
    outb(0x21, 0xfe);
    fire(2_000_000);
    const bsp = p.interruptLines[0]!;
    expect(bsp.acknowledgeInterrupt()).toBe(0x30); // the APIC's own vector comes first
    memory.write32(0xfee000b0, 0);
    expect(bsp.acknowledgeInterrupt()).toBe(0x20); // then ExtINT from the 8259
  });

  it('maps the LAPIC and IOAPIC pages', () => {
    const { memory, setCpu } = setup();
    expect(memory.read32(0xfee00030) >>> 0).toBe(0x50014);
    setCpu(1);
    expect(memory.read32(0xfee00020) >>> 0).toBe(0x01000000);
    memory.write32(0xfec00000, 1);
    expect(memory.read32(0xfec00010) >>> 0).toBe(0x170020);
  });

  it('forwards INIT and SIPI IPIs to the machine', () => {
    const { memory, calls } = setup();
    memory.write32(0xfee00310, 0x01000000);
    memory.write32(0xfee00300, 0x4500);
    memory.write32(0xfee00300, 0x4610);
    expect(calls).toEqual(['init 1', 'sipi 1 16']);
  });

  it('answers the legacy ports guests poll', () => {
    const { outb, inb, resets } = setup();
    expect(inb(0x64)).toBe(0x1c);
    outb(0x64, 0xaa);
    expect(inb(0x64) & 1).toBe(1);
    expect(inb(0x60)).toBe(0x55);
    expect(inb(0x64) & 1).toBe(0);
    expect(inb(0x92) & 0x02).toBe(0x02);
    outb(0x80, 0x12);
    expect(inb(0x80)).toBe(0xff);
    outb(0x92, 0x03);
    outb(0x64, 0xfe);
    expect(resets()).toBe(2);
    expect(inb(0x2f8)).toBe(0xff); // no COM2
  });

  it('exposes debug-exit, fw_cfg and CMOS with the machine configuration', () => {
    const { p, outb, inb, exits } = setup(2);
    p.io.out(0x510, 2, 0x0003);
    const ram = Array.from({ length: 8 }, () => inb(0x511));
    expect(ram.reduceRight((a, x) => a * 256 + x, 0)).toBe(64 * 1024 * 1024);
    outb(0x70, 0x34);
    expect(inb(0x71)).toBe(0x00); // (64 - 16) MiB / 64 KiB = 768 = 0x0300
    outb(0x70, 0x35);
    expect(inb(0x71)).toBe(0x03);
    outb(0xf4, 0x01);
    expect(exits).toEqual([3]);
    expect(p.timedDevices.length).toBe(4);
  });
});
