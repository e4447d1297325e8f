// QEMU's firmware configuration device (fw_cfg) on the x86 I/O ports:
// selector 0x510 (16-bit, little-endian), data 0x511 (byte stream), and the
// DMA address register at 0x514-0x51B (64-bit, big-endian; a write that
// completes the low half at 0x518 starts the transfer). Layout, keys and the
// DMA descriptor are those of QEMU's docs/specs/fw_cfg.rst.
//
// Items present by default, as QEMU's pc machine publishes them:
//   0x0000 SIGNATURE "QEMU"          0x0005 NB_CPUS (16-bit)
//   0x0001 ID (bit 0 traditional, bit 1 DMA when memory is given)
//   0x0002 UUID (16 zero bytes)      0x000e BOOT_MENU (16-bit, 0)
//   0x0003 RAM_SIZE (64-bit)         0x000f MAX_CPUS (16-bit)
//   0x0004 NOGRAPHIC (16-bit, 1)     0x0019 FILE_DIR
//   0x8002 IRQ0_OVERRIDE (32-bit, 1: PIT IRQ0 arrives on IOAPIC pin 2)
//   file "etc/e820": RAM ranges as packed {u64 addr, u64 len, u32 type} LE.
// Numbers are little-endian except the file directory (big-endian, as QEMU).
// All items are read-only: data-port writes are ignored (QEMU >= 2.4) and DMA
// writes fail with the error bit.

import type { IoSize, PortDevice } from './bus';
import type { PhysicalMemory } from '../mmu/physmem';

export const FW_CFG_PORT_SEL = 0x510;
export const FW_CFG_PORT_DATA = 0x511;
export const FW_CFG_PORT_DMA = 0x514;

export const FW_CFG_SIGNATURE = 0x0000;
export const FW_CFG_ID = 0x0001;
export const FW_CFG_UUID = 0x0002;
export const FW_CFG_RAM_SIZE = 0x0003;
export const FW_CFG_NOGRAPHIC = 0x0004;
export const FW_CFG_NB_CPUS = 0x0005;
export const FW_CFG_BOOT_MENU = 0x000e;
export const FW_CFG_MAX_CPUS = 0x000f;
export const FW_CFG_FILE_DIR = 0x0019;
export const FW_CFG_FILE_FIRST = 0x0020;
export const FW_CFG_ARCH_LOCAL = 0x8000;
export const FW_CFG_IRQ0_OVERRIDE = FW_CFG_ARCH_LOCAL + 2;

const ENTRY_MASK = 0x3fff; // bit 14 (write channel) and bit 15 (arch) are not part of the index
const FILE_NAME_MAX = 56;

/** "QEMU CFG", what the DMA address register reads as (big-endian). */
const DMA_SIGNATURE = [0x51, 0x45, 0x4d, 0x55, 0x20, 0x43, 0x46, 0x47] as const;

const DMA_CTL_ERROR = 0x01;
const DMA_CTL_READ = 0x02;
const DMA_CTL_SKIP = 0x04;
const DMA_CTL_SELECT = 0x08;
const DMA_CTL_WRITE = 0x10;

export const E820_RAM = 1;

export interface FwCfgOptions {
  ramSize: number;
  cpus: number;
  maxCpus?: number;
  /** Guest memory for the DMA interface; without it, FW_CFG_ID reports no DMA. */
  memory?: PhysicalMemory;
}

function le(value: number, bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  let v = value;
  for (let i = 0; i < bytes; i++) {
    out[i] = v % 256;
    v = Math.floor(v / 256);
  }
  return out;
}

export class FwCfg implements PortDevice {
  readonly name = 'fw_cfg';
  private readonly items = new Map<number, Uint8Array>();
  private readonly files: { name: string; key: number }[] = [];
  private readonly memory: PhysicalMemory | undefined;
  private selected: Uint8Array | undefined;
  private offset = 0;
  private readonly dmaAddr = new Uint8Array(8);

  constructor(opts: FwCfgOptions) {
    this.memory = opts.memory;
    this.setItem(FW_CFG_SIGNATURE, new TextEncoder().encode('QEMU'));
    this.setItem(FW_CFG_ID, le(this.memory ? 3 : 1, 4));
    this.setItem(FW_CFG_UUID, new Uint8Array(16));
    this.setItem(FW_CFG_RAM_SIZE, le(opts.ramSize, 8));
    this.setItem(FW_CFG_NOGRAPHIC, le(1, 2));
    this.setItem(FW_CFG_NB_CPUS, le(opts.cpus, 2));
    this.setItem(FW_CFG_BOOT_MENU, le(0, 2));
    this.setItem(FW_CFG_MAX_CPUS, le(opts.maxCpus ?? opts.cpus, 2));
    this.setItem(FW_CFG_IRQ0_OVERRIDE, le(1, 4));
    this.addFile('etc/e820', FwCfg.e820(opts.ramSize));
    this.select(FW_CFG_SIGNATURE);
  }

  /** QEMU's etc/e820 content: RAM below 4 GiB, then RAM above it if any. */
  static e820(ramSize: number): Uint8Array {
    const below = Math.min(ramSize, 0x1_0000_0000);
    const ranges: [number, number][] = [[0, below]];
    if (ramSize > below) ranges.push([0x1_0000_0000, ramSize - below]);
    const out = new Uint8Array(20 * ranges.length);
    ranges.forEach(([addr, len], i) => {
      out.set(le(addr, 8), i * 20);
      out.set(le(len, 8), i * 20 + 8);
      out.set(le(E820_RAM, 4), i * 20 + 16);
    });
    return out;
  }

  /** Sets (or replaces) a keyed item. */
  setItem(key: number, data: Uint8Array): void {
    this.items.set(key & 0xbfff, data);
  }

  /** Adds a named file (next free key from 0x20) and rebuilds the directory; returns its key. */
  addFile(name: string, data: Uint8Array): number {
    const nameBytes = new TextEncoder().encode(name);
    if (nameBytes.length >= FILE_NAME_MAX) throw new RangeError(`fw_cfg file name too long: ${name}`);
    const existing = this.files.find((f) => f.name === name);
    const key = existing ? existing.key : FW_CFG_FILE_FIRST + this.files.length;
    if (!existing) this.files.push({ name, key });
    this.setItem(key, data);
    this.rebuildDirectory();
    return key;
  }

  private rebuildDirectory(): void {
    // QEMU keeps the directory sorted by name.
    const sorted = [...this.files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const dir = new Uint8Array(4 + 64 * sorted.length);
    const view = new DataView(dir.buffer);
    view.setUint32(0, sorted.length, false);
    sorted.forEach((f, i) => {
      const at = 4 + 64 * i;
      view.setUint32(at, this.items.get(f.key)!.length, false);
      view.setUint16(at + 4, f.key, false);
      dir.set(new TextEncoder().encode(f.name), at + 8);
    });
    this.setItem(FW_CFG_FILE_DIR, dir);
  }

  private select(key: number): void {
    this.selected = this.items.get(key & (ENTRY_MASK | FW_CFG_ARCH_LOCAL));
    this.offset = 0;
  }

  private nextByte(): number {
    const d = this.selected;
    if (!d || this.offset >= d.length) return 0;
    return d[this.offset++]!;
  }

  in(port: number, size: IoSize): number {
    if (port === FW_CFG_PORT_DATA) {
      // An N-byte read returns the next N bytes in increasing address order.
      let v = 0;
      for (let i = 0; i < size; i++) v |= this.nextByte() << (8 * i);
      return v >>> 0;
    }
    if (port >= FW_CFG_PORT_DMA && port < FW_CFG_PORT_DMA + 8 && this.memory) {
      let v = 0;
      for (let i = 0; i < size; i++) v |= (DMA_SIGNATURE[(port - FW_CFG_PORT_DMA + i) & 7]! << (8 * i));
      return v >>> 0;
    }
    return 0; // the selector is write-only
  }

  out(port: number, size: IoSize, value: number): void {
    if (port === FW_CFG_PORT_SEL) {
      this.select(size === 1 ? value & 0xff : value & 0xffff);
      return;
    }
    if (port >= FW_CFG_PORT_DMA && port < FW_CFG_PORT_DMA + 8 && this.memory) {
      const at = port - FW_CFG_PORT_DMA;
      for (let i = 0; i < size && at + i < 8; i++) this.dmaAddr[at + i] = (value >>> (8 * i)) & 0xff;
      if (at + size >= 8) this.startDma();
    }
    // data-port writes are ignored
  }

  private startDma(): void {
    const mem = this.memory!;
    let addr = 0;
    for (let i = 0; i < 8; i++) addr = addr * 256 + this.dmaAddr[i]!;
    this.dmaAddr.fill(0);
    const be32 = (pa: number): number =>
      ((mem.read8(pa) << 24) | (mem.read8(pa + 1) << 16) | (mem.read8(pa + 2) << 8) | mem.read8(pa + 3)) >>> 0;
    const control = be32(addr);
    const length = be32(addr + 4);
    const target = be32(addr + 8) * 0x1_0000_0000 + be32(addr + 12);
    let result = 0;
    if (control & DMA_CTL_SELECT) this.select(control >>> 16);
    if (control & DMA_CTL_READ) {
      for (let i = 0; i < length; i++) mem.write8(target + i, this.nextByte());
    } else if (control & DMA_CTL_WRITE) {
      result = DMA_CTL_ERROR; // every item is read-only
    } else if (control & DMA_CTL_SKIP) {
      this.offset += length;
    }
    mem.write8(addr, 0);
    mem.write8(addr + 1, 0);
    mem.write8(addr + 2, 0);
    mem.write8(addr + 3, result);
  }
}
