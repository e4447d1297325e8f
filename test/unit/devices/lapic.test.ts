// Local APICs driven through the xAPIC page and the x2APIC MSRs, as guests do.
import { describe, expect, it } from 'vitest';
import { ApicBus } from '../../../src/engine/devices/apicbus';
import { ApicMmio, LocalApic, type MsrValue } from '../../../src/engine/devices/lapic';
import type { ExtIntSource } from '../../../src/engine/devices/pic8259';
import { PhysicalMemory } from '../../../src/engine/mmu/physmem';

const APIC = 0xfee00000;

function setup(cpus = 2, opts: { extInt?: ExtIntSource; firmwareHandoff?: boolean } = {}) {
  let t = 0;
  const clock = { now: () => t };
  const calls: string[] = [];
  const control = {
    sendInit: (c: number) => calls.push(`init ${c}`),
    sendSipi: (c: number, v: number) => calls.push(`sipi ${c} ${v.toString(16)}`),
    kick: (c: number) => calls.push(`kick ${c}`),
  };
  const eois: number[] = [];
  const bus = new ApicBus();
  bus.onEoi = (v) => eois.push(v);
  const apics = Array.from({ length: cpus }, (_, cpu) => new LocalApic({ cpu, clock, control, bus, ...opts }));
  bus.targets.push(...apics);
  let current = 0;
  const memory = new PhysicalMemory(1024 * 1024);
  memory.mapMmio(APIC, 0x1000, new ApicMmio(apics, () => current));
  const rd = (off: number, cpu = 0) => {
    current = cpu;
    return memory.read32(APIC + off) >>> 0;
  };
  const wr = (off: number, v: number, cpu = 0) => {
    current = cpu;
    memory.write32(APIC + off, v | 0);
  };
  const msr: MsrValue = { lo: 0, hi: 0 };
  const rdmsr = (cpu: number, index: number) => (apics[cpu]!.readMsr(index, msr) ? [msr.lo, msr.hi] : '#GP');
  const wrmsr = (cpu: number, index: number, lo: number, hi = 0) => apics[cpu]!.writeMsr(index, lo, hi);
  return { apics, bus, calls, eois, rd, wr, rdmsr, wrmsr, setTime: (v: number) => (t = v), now: () => t };
}

/** Fires every due deadline up to `to`, like the machine's scheduler. */
function advance(apic: LocalApic, s: { setTime: (v: number) => number }, to: number): number[] {
  const fired: number[] = [];
  for (;;) {
    const d = apic.nextDeadline();
    if (d > to) break;
    s.setTime(d);
    apic.onDeadline(d);
    fired.push(d);
  }
  s.setTime(to);
  return fired;
}

describe('local APIC registers', () => {
  it('shows each CPU its own APIC at the same address', () => {
    const { rd } = setup(2);
    expect(rd(0x20, 0)).toBe(0x00000000);
    expect(rd(0x20, 1)).toBe(0x01000000);
    expect(rd(0x30)).toBe(0x00050014);
    expect(rd(0xe0)).toBe(0xffffffff);
  });

  it('starts the BSP as SeaBIOS leaves it and APs architecturally', () => {
    const { rd } = setup(2);
    expect(rd(0xf0, 0)).toBe(0x1ff);
    expect(rd(0x350, 0)).toBe(0x8700);
    expect(rd(0x360, 0)).toBe(0x8400);
    expect(rd(0xf0, 1)).toBe(0xff);
    expect(rd(0x350, 1)).toBe(0x10000);
    expect(rd(0x320, 1)).toBe(0x10000);
    const plain = setup(1, { firmwareHandoff: false });
    expect(plain.rd(0xf0)).toBe(0xff);
  });

  it('reports IA32_APIC_BASE with the BSP and enable bits', () => {
    const { rdmsr } = setup(2);
    expect(rdmsr(0, 0x1b)).toEqual([0xfee00900, 0]);
    expect(rdmsr(1, 0x1b)).toEqual([0xfee00800, 0]);
  });
});

describe('local APIC interrupt acceptance', () => {
  it('masks by TPR and computes PPR from the in-service vector', () => {
    const { apics, rd, wr } = setup(1);
    const a = apics[0]!;
    wr(0x80, 0x50);
    a.acceptFixed(0x45, false);
    expect(a.hasInterrupt()).toBe(false);
    expect(rd(0x200 + 0x20)).toBe(1 << 5); // IRR bit 0x45
    wr(0x80, 0x40);
    expect(a.hasInterrupt()).toBe(false); // same priority class as TPR: still blocked
    wr(0x80, 0x30);
    expect(a.hasInterrupt()).toBe(true);
    expect(a.acknowledgeInterrupt()).toBe(0x45);
    expect(rd(0xa0)).toBe(0x40); // PPR = ISR class
    expect(rd(0x100 + 0x20)).toBe(1 << 5); // ISR bit 0x45
    a.acceptFixed(0x41, false);
    expect(a.hasInterrupt()).toBe(false); // same class as in service
    a.acceptFixed(0x61, false);
    expect(a.acknowledgeInterrupt()).toBe(0x61);
    wr(0xb0, 0); // EOI 0x61
    wr(0xb0, 0); // EOI 0x45
    expect(rd(0xa0)).toBe(0x30);
    expect(a.acknowledgeInterrupt()).toBe(0x41);
  });

  it('honours CR8 as TPR[7:4]', () => {
    const { apics, rd } = setup(1);
    const a = apics[0]!;
    a.setCr8(0xe);
    expect(rd(0x80)).toBe(0xe0);
    expect(a.getCr8()).toBe(0xe);
  });

  it('holds IPIs to a software-disabled AP until it enables itself', () => {
    const { apics, wr } = setup(2);
    wr(0x310, 0x01000000);
    wr(0x300, 0x00000040);
    expect(apics[1]!.hasInterrupt()).toBe(false);
    wr(0xf0, 0x1ff, 1);
    expect(apics[1]!.acknowledgeInterrupt()).toBe(0x40);
  });

  it('delivers nothing while software-disabled and returns the spurious vector', () => {
    const { apics, wr } = setup(1);
    const a = apics[0]!;
    wr(0xf0, 0x0ef); // software disable, spurious vector 0xEF
    a.acceptFixed(0x50, false);
    expect(a.hasInterrupt()).toBe(false);
    expect(a.acknowledgeInterrupt()).toBe(0xef);
    wr(0xf0, 0x1ef);
    expect(a.acknowledgeInterrupt()).toBe(0x50);
  });

  it('broadcasts EOI for level-triggered vectors only', () => {
    const { apics, eois, wr } = setup(1);
    const a = apics[0]!;
    a.acceptFixed(0x30, true);
    a.acceptFixed(0x31, false);
    a.acknowledgeInterrupt();
    wr(0xb0, 0);
    a.acknowledgeInterrupt();
    wr(0xb0, 0);
    expect(eois).toEqual([0x30]);
  });

  it('passes ExtINT from the PIC through LINT0 in virtual-wire mode', () => {
    let pending = true;
    const pic: ExtIntSource = { interruptPending: () => pending, acknowledge: () => ((pending = false), 0x20) };
    const { apics, wrmsr } = setup(2, { extInt: pic });
    expect(apics[0]!.hasInterrupt()).toBe(true);
    expect(apics[1]!.hasInterrupt()).toBe(false); // AP: LINT0 masked
    expect(apics[0]!.acknowledgeInterrupt()).toBe(0x20);
    pending = true;
    expect(wrmsr(1, 0x1b, 0xfee00000)).toBe(true); // globally disable the AP's APIC
    expect(apics[1]!.hasInterrupt()).toBe(true); // INTR straight to the core
  });

  it('raises an error interrupt for illegal vectors', () => {
    const { apics, rd, wr } = setup(1);
    const a = apics[0]!;
    wr(0x370, 0xfe); // LVT error, vector 0xFE
    a.acceptFixed(0x05, false);
    wr(0x280, 0); // latch ESR
    expect(rd(0x280)).toBe(0x40);
    expect(a.acknowledgeInterrupt()).toBe(0xfe);
  });
});

describe('local APIC IPIs', () => {
  it('sends INIT and SIPI to CpuControl and ignores INIT de-assert', () => {
    const { calls, wr } = setup(2);
    wr(0x310, 0x01000000);
    wr(0x300, 0x00004500); // INIT, assert
    wr(0x300, 0x00008500); // INIT de-assert (level-triggered, level 0)
    wr(0x300, 0x00004608); // SIPI vector 0x08
    expect(calls).toEqual(['init 1', 'sipi 1 8']);
  });

  it('delivers fixed IPIs by ID and by shorthand', () => {
    const { apics, calls, rd, wr } = setup(3);
    wr(0xf0, 0x1ff, 1); // the APs enable their APICs first, as a kernel does
    wr(0xf0, 0x1ff, 2);
    wr(0x310, 0x02000000);
    wr(0x300, 0x00000040); // fixed 0x40 to APIC 2
    expect(apics[2]!.acknowledgeInterrupt()).toBe(0x40);
    expect(calls).toContain('kick 2');
    wr(0x300, 0x000c0041); // all excluding self
    expect(apics[0]!.hasInterrupt()).toBe(false);
    expect(apics[1]!.acknowledgeInterrupt()).toBe(0x41);
    wr(0x300, 0x00040042); // self
    expect(apics[0]!.acknowledgeInterrupt()).toBe(0x42);
    expect(rd(0x300) & 0x1000).toBe(0); // delivery status idle
  });

  it('matches logical destinations in flat mode', () => {
    const { apics, wr } = setup(3);
    wr(0xf0, 0x1ff, 1);
    wr(0xf0, 0x1ff, 2);
    wr(0xd0, 0x02000000, 1);
    wr(0xd0, 0x04000000, 2);
    wr(0x310, 0x06000000);
    wr(0x300, 0x00000850); // logical, fixed 0x50
    expect(apics[0]!.hasInterrupt()).toBe(false);
    expect(apics[1]!.acknowledgeInterrupt()).toBe(0x50);
    expect(apics[2]!.acknowledgeInterrupt()).toBe(0x50);
  });

  it('sends NMI', () => {
    const { apics, wr } = setup(2);
    wr(0x310, 0x01000000);
    wr(0x300, 0x00000400);
    expect(apics[1]!.takeNmi()).toBe(true);
    expect(apics[1]!.takeNmi()).toBe(false);
  });
});

describe('local APIC timer', () => {
  it('fires one-shot at initial count × divide virtual ns', () => {
    const s = setup(1);
    const a = s.apics[0]!;
    s.wr(0x3e0, 0x0b); // divide by 1
    s.wr(0x320, 0x40); // one-shot, vector 0x40
    s.wr(0x380, 1000);
    s.setTime(250);
    expect(s.rd(0x390)).toBe(750);
    expect(advance(a, s, 10_000)).toEqual([1000]);
    expect(s.rd(0x390)).toBe(0);
    expect(a.acknowledgeInterrupt()).toBe(0x40);
  });

  it('repeats in periodic mode with the divider applied', () => {
    const s = setup(1);
    const a = s.apics[0]!;
    s.wr(0x3e0, 0x00); // divide by 2
    s.wr(0x320, 0x20041); // periodic, vector 0x41
    s.wr(0x380, 500);
    expect(advance(a, s, 3500)).toEqual([1000, 2000, 3000]);
    expect(s.rd(0x390)).toBe(250);
    s.wr(0x380, 0); // stop
    expect(a.nextDeadline()).toBe(Infinity);
  });

  it('delivers nothing when the timer LVT is masked but keeps counting', () => {
    const s = setup(1);
    const a = s.apics[0]!;
    s.wr(0x3e0, 0x0b);
    s.wr(0x320, 0x10040);
    s.wr(0x380, 100);
    advance(a, s, 200);
    expect(a.hasInterrupt()).toBe(false);
  });

  it('fires at the TSC deadline and clears IA32_TSC_DEADLINE', () => {
    const s = setup(1);
    const a = s.apics[0]!;
    expect(s.wrmsr(0, 0x6e0, 5000)).toBe(true); // ignored outside TSC-deadline mode
    expect(a.nextDeadline()).toBe(Infinity);
    s.wr(0x320, 0x40042); // TSC-deadline, vector 0x42
    s.setTime(100);
    s.wrmsr(0, 0x6e0, 5000);
    expect(s.rdmsr(0, 0x6e0)).toEqual([5000, 0]);
    expect(advance(a, s, 10_000)).toEqual([5000]);
    expect(s.rdmsr(0, 0x6e0)).toEqual([0, 0]);
    expect(a.acknowledgeInterrupt()).toBe(0x42);
    s.wr(0x380, 1234); // initial count is ignored in TSC-deadline mode
    expect(s.rd(0x380)).toBe(0);
  });
});

describe('x2APIC', () => {
  it('is reached through MSRs once enabled, and the MMIO page goes quiet', () => {
    const s = setup(2);
    expect(s.rdmsr(0, 0x802)).toBe('#GP'); // not in x2APIC mode yet
    expect(s.wrmsr(0, 0x1b, 0xfee00c00)).toBe(true);
    expect(s.rdmsr(0, 0x1b)).toEqual([0xfee00d00, 0]);
    expect(s.rdmsr(0, 0x802)).toEqual([0, 0]);
    expect(s.rdmsr(0, 0x803)).toEqual([0x50014, 0]);
    expect(s.rdmsr(0, 0x80d)).toEqual([0x00000001, 0]); // LDR: cluster 0, bit 0
    expect(s.rd(0x30)).toBe(0);
    expect(s.wrmsr(0, 0x808, 0x20)).toBe(true);
    expect(s.rdmsr(0, 0x808)).toEqual([0x20, 0]);
    expect(s.rdmsr(0, 0x80e)).toBe('#GP'); // no DFR
    expect(s.rdmsr(0, 0x80b)).toBe('#GP'); // EOI is write-only
    expect(s.wrmsr(0, 0x80b, 1)).toBe(false); // EOI must be written with 0
    expect(s.wrmsr(0, 0x802, 5)).toBe(false); // ID is read-only
  });

  it('sends IPIs with a 64-bit ICR and a self-IPI register', () => {
    const s = setup(2);
    s.wrmsr(0, 0x1b, 0xfee00c00);
    s.wr(0xf0, 0x1ff, 1);
    expect(s.wrmsr(0, 0x830, 0x00000055, 1)).toBe(true); // fixed 0x55 to x2APIC ID 1
    expect(s.apics[1]!.acknowledgeInterrupt()).toBe(0x55);
    expect(s.rdmsr(0, 0x830)).toEqual([0x55, 1]);
    s.wrmsr(0, 0x83f, 0x66);
    expect(s.apics[0]!.acknowledgeInterrupt()).toBe(0x66);
    expect(s.wrmsr(0, 0x80b, 0)).toBe(true);
  });

  it('rejects invalid IA32_APIC_BASE transitions', () => {
    const s = setup(1);
    expect(s.wrmsr(0, 0x1b, 0xfee00400)).toBe(false); // EXTD without EN
    expect(s.wrmsr(0, 0x1b, 0xfee00801)).toBe(false); // reserved bit
    s.wrmsr(0, 0x1b, 0xfee00c00);
    expect(s.wrmsr(0, 0x1b, 0xfee00800)).toBe(false); // x2APIC → xAPIC directly
    expect(s.wrmsr(0, 0x1b, 0xfee00000)).toBe(true); // → disabled
    expect(s.wrmsr(0, 0x1b, 0xfee00c00)).toBe(false); // disabled → x2APIC directly
    expect(s.wrmsr(0, 0x1b, 0xfee00800)).toBe(true);
  });
});
