// ACPI tables: structure and checksums, read back as a guest would parse them.
import { describe, expect, it } from 'vitest';
import { buildAcpiTables } from '../../../src/engine/devices/acpi';

const sum = (b: Uint8Array) => b.reduce((a, x) => (a + x) & 0xff, 0);

describe('ACPI tables', () => {
  const t = buildAcpiTables({ cpus: 2 });
  const at = (addr: number, len: number) => t.blob.subarray(addr - t.base, addr - t.base + len);
  const view = new DataView(t.blob.buffer);
  const u32 = (addr: number) => view.getUint32(addr - t.base, true);

  it('puts a revision-0 RSDP with a valid checksum in the BIOS area', () => {
    expect(t.rsdpAddr).toBe(0xe0000);
    const rsdp = at(t.rsdpAddr, 20);
    expect(String.fromCharCode(...rsdp.subarray(0, 8))).toBe('RSD PTR ');
    expect(rsdp[15]).toBe(0);
    expect(sum(rsdp)).toBe(0);
  });

  it('chains RSDP → RSDT → MADT with zero checksums', () => {
    const rsdt = u32(t.rsdpAddr + 16);
    expect(String.fromCharCode(...at(rsdt, 4))).toBe('RSDT');
    const rsdtLen = u32(rsdt + 4);
    expect(rsdtLen).toBe(40);
    expect(sum(at(rsdt, rsdtLen))).toBe(0);
    const madt = u32(rsdt + 36);
    expect(String.fromCharCode(...at(madt, 4))).toBe('APIC');
    const madtLen = u32(madt + 4);
    expect(sum(at(madt, madtLen))).toBe(0);
    expect(u32(madt + 36)).toBe(0xfee00000);
    expect(u32(madt + 40)).toBe(1); // PCAT_COMPAT
  });

  it('lists the CPUs, the IOAPIC, the IRQ0 override and LINT1 NMI', () => {
    const madt = t.tables.find((x) => x.signature === 'APIC')!;
    const entries: number[][] = [];
    for (let p = madt.address + 44; p < madt.address + madt.length; ) {
      const len = t.blob[p - t.base + 1]!;
      entries.push(Array.from(at(p, len)));
      p += len;
    }
    expect(entries.map((e) => e[0])).toEqual([0, 0, 1, 2, 4]);
    expect(entries[0]).toEqual([0, 8, 0, 0, 1, 0, 0, 0]);
    expect(entries[1]).toEqual([0, 8, 1, 1, 1, 0, 0, 0]);
    expect(entries[2]).toEqual([1, 12, 0, 0, 0x00, 0x00, 0xc0, 0xfe, 0, 0, 0, 0]);
    expect(entries[3]).toEqual([2, 10, 0, 0, 2, 0, 0, 0, 0, 0]);
    expect(entries[4]).toEqual([4, 6, 0xff, 0, 0, 1]);
  });

  it('uses x2APIC entries for IDs of 255 and above', () => {
    const big = buildAcpiTables({ cpus: 2, apicIds: [0, 300], base: 0xf0000 });
    const madt = big.tables.find((x) => x.signature === 'APIC')!;
    const bytes = big.blob.subarray(madt.address - big.base, madt.address - big.base + madt.length);
    expect(sum(bytes)).toBe(0);
    expect(bytes[8]).toBe(3); // MADT revision for x2APIC structures
    expect(bytes[44 + 8]).toBe(9);
  });

  it('rejects a base outside the RSDP search area', () => {
    expect(() => buildAcpiTables({ cpus: 1, base: 0x100000 })).toThrow(RangeError);
    expect(() => buildAcpiTables({ cpus: 1, base: 0xe0008 })).toThrow(RangeError);
  });
});
