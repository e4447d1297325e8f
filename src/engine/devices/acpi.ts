// Minimal ACPI tables so guests can discover the CPUs and the interrupt
// routing the way they do on QEMU: RSDP (ACPI 1.0, revision 0, as QEMU's pc
// machine publishes it) → RSDT → MADT. Layouts per the ACPI specification
// ("Root System Description Pointer", "System Description Table Header",
// "Multiple APIC Description Table"):
//
//   RSDP  20 bytes: "RSD PTR ", checksum, OEMID[6], revision 0, RSDT address
//   SDT header 36 bytes: signature, length, revision, checksum, OEMID[6],
//         OEM table ID[8], OEM revision, creator ID, creator revision
//   MADT  header + local APIC address + flags (PCAT_COMPAT), then
//         type 0 Processor Local APIC (8)   type 9 Processor Local x2APIC (16)
//         type 1 I/O APIC (12)              type 2 Interrupt Source Override (10)
//         type 4 Local APIC NMI (6)         type 10 Local x2APIC NMI (12)
//
// Like QEMU: one override, ISA IRQ0 → GSI 2 (conforming polarity/trigger),
// and NMI on LINT1 of every processor. IDs and OEM strings are QEMU's
// ("BOCHS ", "BXPC"), which some guests recognise. No FADT/DSDT: this is
// enough for SMP and IOAPIC discovery, not for ACPI power management.
//
// The whole blob is meant to sit in the BIOS area (default 0xE0000, where
// guests scan for the RSDP on 16-byte boundaries); all checksums are right.

export interface AcpiOptions {
  cpus: number;
  /** APIC ID of each CPU (default: 0..cpus-1). */
  apicIds?: readonly number[];
  ioapicAddr?: number;
  ioapicId?: number;
  lapicAddr?: number;
  /** Physical address the blob will be loaded at; the RSDP is at its start. */
  base?: number;
}

export interface AcpiTables {
  /** Physical address of the RSDP (== base). */
  rsdpAddr: number;
  /** Where `blob` must be loaded. */
  base: number;
  blob: Uint8Array;
  /** Each table's signature, physical address and length, for debuggers. */
  tables: { signature: string; address: number; length: number }[];
}

export const ACPI_DEFAULT_BASE = 0xe0000;
const OEM_ID = 'BOCHS ';
const OEM_TABLE_ID = 'BXPC    ';
const CREATOR_ID = 'BXPC';

const RSDP_SIZE = 20;
const HEADER_SIZE = 36;

/** Little-endian table writer. */
class Writer {
  readonly bytes: number[] = [];
  u8(v: number): this {
    this.bytes.push(v & 0xff);
    return this;
  }
  u16(v: number): this {
    return this.u8(v).u8(v >>> 8);
  }
  u32(v: number): this {
    return this.u16(v).u16(v >>> 16);
  }
  ascii(s: string, len: number): this {
    for (let i = 0; i < len; i++) this.u8(i < s.length ? s.charCodeAt(i) : 0x20);
    return this;
  }
}

function checksum(bytes: Uint8Array, from: number, to: number): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += bytes[i]!;
  return (0x100 - (sum & 0xff)) & 0xff;
}

/** A table with its header; the length and checksum are filled in later. */
function table(signature: string, revision: number, body: Writer): Uint8Array {
  const w = new Writer()
    .ascii(signature, 4)
    .u32(HEADER_SIZE + body.bytes.length)
    .u8(revision)
    .u8(0) // checksum
    .ascii(OEM_ID, 6)
    .ascii(OEM_TABLE_ID, 8)
    .u32(1)
    .ascii(CREATOR_ID, 4)
    .u32(1);
  const out = Uint8Array.from([...w.bytes, ...body.bytes]);
  out[9] = checksum(out, 0, out.length);
  return out;
}

function madt(opts: Required<Omit<AcpiOptions, 'base'>>): Uint8Array {
  const b = new Writer().u32(opts.lapicAddr).u32(1); // PCAT_COMPAT: dual 8259s present
  const ids = opts.apicIds;
  const anyX2 = ids.some((id) => id >= 0xff);
  ids.forEach((id, uid) => {
    if (id < 0xff) b.u8(0).u8(8).u8(uid).u8(id).u32(1);
    else b.u8(9).u8(16).u16(0).u32(id).u32(1).u32(uid);
  });
  b.u8(1).u8(12).u8(opts.ioapicId).u8(0).u32(opts.ioapicAddr).u32(0); // GSI base 0
  b.u8(2).u8(10).u8(0).u8(0).u32(2).u16(0); // ISA IRQ0 → GSI 2
  if (anyX2) b.u8(10).u8(12).u16(0).u32(0xffffffff).u8(1).u8(0).u8(0).u8(0);
  else b.u8(4).u8(6).u8(0xff).u16(0).u8(1); // all processors: NMI on LINT1
  return table('APIC', anyX2 ? 3 : 1, b);
}

const align16 = (n: number): number => (n + 15) & ~15;

export function buildAcpiTables(opts: AcpiOptions): AcpiTables {
  const base = opts.base ?? ACPI_DEFAULT_BASE;
  if (base % 16 !== 0 || base < 0xe0000 || base >= 0x100000) {
    throw new RangeError(`ACPI base 0x${base.toString(16)} must be 16-byte aligned in 0xE0000-0xFFFFF`);
  }
  const apicIds = opts.apicIds ?? Array.from({ length: opts.cpus }, (_, i) => i);
  if (apicIds.length !== opts.cpus) throw new RangeError(`${opts.cpus} CPUs but ${apicIds.length} APIC IDs`);
  const madtTable = madt({
    cpus: opts.cpus,
    apicIds,
    ioapicAddr: opts.ioapicAddr ?? 0xfec00000,
    ioapicId: opts.ioapicId ?? 0,
    lapicAddr: opts.lapicAddr ?? 0xfee00000,
  });

  const rsdtOffset = align16(RSDP_SIZE);
  const madtOffset = align16(rsdtOffset + HEADER_SIZE + 4);
  const rsdt = table('RSDT', 1, new Writer().u32(base + madtOffset));

  const size = madtOffset + madtTable.length;
  if (base + size > 0x100000) throw new RangeError('ACPI tables do not fit below 1 MiB');
  const blob = new Uint8Array(size);
  const rsdp = new Writer().ascii('RSD PTR ', 8).u8(0).ascii(OEM_ID, 6).u8(0).u32(base + rsdtOffset);
  blob.set(rsdp.bytes, 0);
  blob[8] = checksum(blob, 0, RSDP_SIZE);
  blob.set(rsdt, rsdtOffset);
  blob.set(madtTable, madtOffset);

  return {
    rsdpAddr: base,
    base,
    blob,
    tables: [
      { signature: 'RSD PTR ', address: base, length: RSDP_SIZE },
      { signature: 'RSDT', address: base + rsdtOffset, length: rsdt.length },
      { signature: 'APIC', address: base + madtOffset, length: madtTable.length },
    ],
  };
}
