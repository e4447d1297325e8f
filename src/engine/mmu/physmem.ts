// Guest-physical memory: RAM as one ArrayBuffer plus MMIO regions (LAPIC,
// IOAPIC, ...) and a ROM alias of the top of the 4 GiB space for reset-vector
// images. Physical addresses are plain numbers (< 2^52).
//
// It also tracks which RAM pages hold decoded code: a write to such a page
// calls onCodeWrite so the decode cache can drop that page (self-modifying
// code, loaders). The check is one typed-array load per write.

export interface MmioHandler {
  readonly name: string;
  read(offset: number, size: 1 | 2 | 4): number;
  write(offset: number, size: 1 | 2 | 4, value: number): void;
}

interface MmioRegion { base: number; size: number; handler: MmioHandler }

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 4096;

export class PhysicalMemory {
  readonly size: number;
  readonly bytes: Uint8Array;
  readonly view: DataView;
  /** Non-zero for RAM pages that hold decoded instructions. */
  readonly codePages: Uint8Array;
  /** Called when a write of `len` bytes at `pa` hits a page marked in codePages. */
  onCodeWrite: (page: number, pa: number, len: number) => void = () => {};
  private readonly mmio: MmioRegion[] = [];
  /** Optional ROM image mapped so that it ends at 4 GiB (reset vector). */
  private rom: Uint8Array | undefined;
  private romBase = 0;

  constructor(sizeBytes: number) {
    if (!Number.isInteger(sizeBytes) || sizeBytes <= 0 || sizeBytes % PAGE_SIZE !== 0) {
      throw new RangeError(`memory size must be a positive multiple of 4 KiB, got ${sizeBytes}`);
    }
    this.size = sizeBytes;
    this.bytes = new Uint8Array(sizeBytes);
    this.view = new DataView(this.bytes.buffer);
    this.codePages = new Uint8Array(sizeBytes >>> PAGE_SHIFT);
  }

  mapMmio(base: number, size: number, handler: MmioHandler): void {
    for (const r of this.mmio) {
      if (base < r.base + r.size && r.base < base + size) {
        throw new Error(`MMIO region ${handler.name} overlaps ${r.handler.name}`);
      }
    }
    this.mmio.push({ base, size, handler });
  }

  /** Maps a ROM so that its last byte is at 0xFFFFFFFF (read-only). */
  mapRomAtTop(rom: Uint8Array): void {
    this.rom = rom;
    this.romBase = 0x1_0000_0000 - rom.length;
  }

  isRam(pa: number, len = 1): boolean {
    return pa >= 0 && pa + len <= this.size && !this.findMmio(pa);
  }

  private findMmio(pa: number): MmioRegion | undefined {
    for (let i = 0; i < this.mmio.length; i++) {
      const r = this.mmio[i]!;
      if (pa >= r.base && pa < r.base + r.size) return r;
    }
    return undefined;
  }

  /** True when the range is plain RAM and the fast typed-array paths apply. */
  private fast(pa: number, len: number): boolean {
    // MMIO regions live above RAM (0xFEC00000+) in every layout we build.
    return pa + len <= this.size && pa >= 0;
  }

  read8(pa: number): number {
    if (this.fast(pa, 1)) return this.bytes[pa]!;
    return this.slowRead(pa, 1);
  }
  read16(pa: number): number {
    if (this.fast(pa, 2)) return this.view.getUint16(pa, true);
    return this.slowRead(pa, 2);
  }
  /** Returns the dword as a signed int32 (the engine's register representation). */
  read32(pa: number): number {
    if (this.fast(pa, 4)) return this.view.getInt32(pa, true);
    return this.slowRead(pa, 4) | 0;
  }

  write8(pa: number, v: number): void {
    if (this.fast(pa, 1)) {
      if (this.codePages[pa >>> PAGE_SHIFT]) this.onCodeWrite(pa >>> PAGE_SHIFT, pa, 1);
      this.bytes[pa] = v;
      return;
    }
    this.slowWrite(pa, 1, v);
  }
  write16(pa: number, v: number): void {
    if (this.fast(pa, 2)) {
      this.noteWrite(pa, 2);
      this.view.setUint16(pa, v, true);
      return;
    }
    this.slowWrite(pa, 2, v);
  }
  write32(pa: number, v: number): void {
    if (this.fast(pa, 4)) {
      this.noteWrite(pa, 4);
      this.view.setInt32(pa, v, true);
      return;
    }
    this.slowWrite(pa, 4, v);
  }

  private noteWrite(pa: number, len: number): void {
    const p0 = pa >>> PAGE_SHIFT;
    if (this.codePages[p0]) this.onCodeWrite(p0, pa, len);
    const p1 = (pa + len - 1) >>> PAGE_SHIFT;
    if (p1 !== p0 && this.codePages[p1]) this.onCodeWrite(p1, pa, len);
  }

  private slowRead(pa: number, size: 1 | 2 | 4): number {
    const r = this.findMmio(pa);
    if (r && pa + size <= r.base + r.size) return r.handler.read(pa - r.base, size) >>> 0;
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = v * 256 + this.readByteAnywhere(pa + i);
    return v;
  }

  private readByteAnywhere(pa: number): number {
    if (pa >= 0 && pa < this.size) return this.bytes[pa]!;
    const r = this.findMmio(pa);
    if (r) return r.handler.read(pa - r.base, 1) & 0xff;
    if (this.rom && pa >= this.romBase && pa < 0x1_0000_0000) return this.rom[pa - this.romBase]!;
    // The legacy BIOS window aliases the top of the ROM, as on a PC.
    if (this.rom && pa >= 0xf0000 && pa < 0x100000 && pa >= 0x100000 - this.rom.length) {
      return this.rom[this.rom.length - (0x100000 - pa)]!;
    }
    return 0xff; // unbacked physical address: open bus
  }

  private slowWrite(pa: number, size: 1 | 2 | 4, v: number): void {
    const r = this.findMmio(pa);
    if (r && pa + size <= r.base + r.size) {
      r.handler.write(pa - r.base, size, v >>> 0);
      return;
    }
    for (let i = 0; i < size; i++) {
      const a = pa + i;
      const b = (v >>> (8 * i)) & 0xff;
      if (a >= 0 && a < this.size) {
        if (this.codePages[a >>> PAGE_SHIFT]) this.onCodeWrite(a >>> PAGE_SHIFT, a, 1);
        this.bytes[a] = b;
      } else {
        const m = this.findMmio(a);
        if (m) m.handler.write(a - m.base, 1, b);
        // writes to ROM or unbacked addresses are dropped, as on hardware
      }
    }
  }

  /** Copies bytes into RAM (loader use); throws when the range is not RAM. */
  load(pa: number, data: Uint8Array): void {
    if (pa < 0 || pa + data.length > this.size) {
      throw new RangeError(`cannot load ${data.length} bytes at physical 0x${pa.toString(16)}: RAM ends at 0x${this.size.toString(16)}`);
    }
    this.bytes.set(data, pa);
    for (let p = pa >>> PAGE_SHIFT; p <= (pa + Math.max(data.length, 1) - 1) >>> PAGE_SHIFT; p++) {
      if (this.codePages[p]) this.onCodeWrite(p, pa, data.length);
    }
  }

  /** Reads a range for debuggers: RAM, MMIO-free; unbacked bytes come back as undefined. */
  readRange(pa: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    for (let i = 0; i < len; i++) out[i] = this.readByteAnywhere(pa + i);
    return out;
  }
}
