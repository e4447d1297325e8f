// IOAPIC programmed through its MMIO window, delivering into local APICs.
import { describe, expect, it } from 'vitest';
import { ApicBus } from '../../../src/engine/devices/apicbus';
import { IoApic } from '../../../src/engine/devices/ioapic';
import { ApicMmio, LocalApic } from '../../../src/engine/devices/lapic';
import { PhysicalMemory } from '../../../src/engine/mmu/physmem';

const IOAPIC = 0xfec00000;
const LAPIC = 0xfee00000;

function setup(cpus = 2) {
  const clock = { now: () => 0 };
  const control = { sendInit: () => {}, sendSipi: () => {}, kick: () => {} };
  const bus = new ApicBus();
  const ioapic = new IoApic(bus);
  bus.onEoi = (v) => ioapic.eoi(v);
  const apics = Array.from({ length: cpus }, (_, cpu) => new LocalApic({ cpu, clock, control, bus }));
  bus.targets.push(...apics);
  let current = 0;
  const memory = new PhysicalMemory(1024 * 1024);
  memory.mapMmio(IOAPIC, 0x1000, ioapic);
  memory.mapMmio(LAPIC, 0x1000, new ApicMmio(apics, () => current));
  const readReg = (r: number) => {
    memory.write32(IOAPIC, r);
    return memory.read32(IOAPIC + 0x10) >>> 0;
  };
  const writeReg = (r: number, v: number) => {
    memory.write32(IOAPIC, r);
    memory.write32(IOAPIC + 0x10, v | 0);
  };
  const route = (pin: number, lo: number, hi = 0) => {
    writeReg(0x11 + 2 * pin, hi);
    writeReg(0x10 + 2 * pin, lo);
  };
  const lapicWrite = (cpu: number, off: number, v: number) => {
    current = cpu;
    memory.write32(LAPIC + off, v);
  };
  for (let c = 0; c < cpus; c++) lapicWrite(c, 0xf0, 0x1ff); // software-enable every APIC
  return { ioapic, apics, readReg, writeReg, route, lapicWrite };
}

describe('IOAPIC', () => {
  it('identifies itself as QEMU does: version 0x20 with 24 entries', () => {
    const { readReg, writeReg } = setup();
    expect(readReg(0x01)).toBe(0x00170020);
    writeReg(0x00, 0x05000000);
    expect(readReg(0x00)).toBe(0x05000000);
    expect(readReg(0x02)).toBe(0x05000000);
    expect(readReg(0x10)).toBe(0x00010000); // entries start masked
  });

  it('routes an edge-triggered pin to a LAPIC by physical destination', () => {
    const { ioapic, apics, route, lapicWrite } = setup();
    route(4, 0x31, 0x01000000); // vector 0x31, fixed, physical, to APIC 1
    ioapic.setIrq(4, true);
    expect(apics[0]!.hasInterrupt()).toBe(false);
    expect(apics[1]!.acknowledgeInterrupt()).toBe(0x31);
    lapicWrite(1, 0xb0, 0);
    ioapic.setIrq(4, true); // no new edge
    expect(apics[1]!.hasInterrupt()).toBe(false);
    ioapic.setIrq(4, false);
    ioapic.setIrq(4, true);
    expect(apics[1]!.hasInterrupt()).toBe(true);
  });

  it('drops edges on a masked pin', () => {
    const { ioapic, apics, route } = setup();
    route(3, 0x10033);
    ioapic.setIrq(3, true);
    ioapic.setIrq(3, false);
    route(3, 0x33);
    expect(apics[0]!.hasInterrupt()).toBe(false);
  });

  it('holds Remote IRR for level-triggered pins until the LAPIC EOI', () => {
    const { ioapic, apics, route, readReg, lapicWrite } = setup();
    route(9, 0x8039); // level, vector 0x39, to APIC 0
    ioapic.setIrq(9, true);
    expect(readReg(0x10 + 18) & 0x4000).toBe(0x4000);
    const a = apics[0]!;
    expect(a.acknowledgeInterrupt()).toBe(0x39);
    expect(a.hasInterrupt()).toBe(false);
    lapicWrite(0, 0xb0, 0); // EOI: line still asserted → delivered again
    expect(readReg(0x10 + 18) & 0x4000).toBe(0x4000);
    expect(a.acknowledgeInterrupt()).toBe(0x39);
    ioapic.setIrq(9, false);
    lapicWrite(0, 0xb0, 0);
    expect(readReg(0x10 + 18) & 0x4000).toBe(0);
    expect(a.hasInterrupt()).toBe(false);
  });

  it('matches logical flat destinations', () => {
    const { ioapic, apics, route, lapicWrite } = setup(2);
    lapicWrite(1, 0xd0, 0x02000000);
    route(5, 0x0845, 0x02000000); // logical
    ioapic.setIrq(5, true);
    expect(apics[0]!.hasInterrupt()).toBe(false);
    expect(apics[1]!.acknowledgeInterrupt()).toBe(0x45);
  });

  it('delivers NMI-mode entries as NMIs', () => {
    const { ioapic, apics, route } = setup(1);
    route(7, 0x0400);
    ioapic.setIrq(7, true);
    expect(apics[0]!.takeNmi()).toBe(true);
  });
});
