// Bounds-checked little-endian reads over an image file's bytes. Every read
// says what it was reading, so a truncated or corrupt file fails with one line
// naming the structure ("ELF program header 2 extends past end of file ...")
// instead of a RangeError from DataView or, worse, a silent out-of-range read.

import { ImageError } from './types';

export function hx(v: number | bigint): string {
  return '0x' + v.toString(16);
}

/** A window on a byte array; failures throw whatever `fail` throws. */
export class ByteView {
  readonly length: number;
  private readonly dv: DataView;

  constructor(
    readonly bytes: Uint8Array,
    /** What the bytes are, for messages: "file", "section .strtab". */
    readonly region: string,
    private readonly fail: (message: string) => never = (m) => {
      throw new ImageError(m);
    },
  ) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.length = bytes.length;
  }

  /** Throws unless [off, off+size) lies inside the view. Accepts bigints for ELF64 fields. */
  check(off: number | bigint, size: number | bigint, what: string): void {
    const o = BigInt(off);
    const s = BigInt(size);
    if (o < 0n || s < 0n || o + s > BigInt(this.length)) {
      this.fail(`${what} extends past end of ${this.region} (offset ${hx(o)} + ${hx(s)} > size ${hx(this.length)})`);
    }
  }

  u8(off: number, what: string): number {
    this.check(off, 1, what);
    return this.bytes[off]!;
  }

  u16(off: number, what: string): number {
    this.check(off, 2, what);
    return this.dv.getUint16(off, true);
  }

  u32(off: number, what: string): number {
    this.check(off, 4, what);
    return this.dv.getUint32(off, true);
  }

  u64(off: number, what: string): bigint {
    this.check(off, 8, what);
    return this.dv.getBigUint64(off, true);
  }

  /** A copy of [off, off+size), checked. */
  slice(off: number | bigint, size: number | bigint, what: string): Uint8Array {
    this.check(off, size, what);
    return this.bytes.slice(Number(off), Number(off) + Number(size));
  }

  /** The NUL-terminated string at off; fails if it runs off the end. */
  cstring(off: number, what: string): string {
    if (off < 0 || off >= this.length) {
      this.fail(`${what}: offset ${hx(off)} is outside ${this.region} (size ${hx(this.length)})`);
    }
    const nul = this.bytes.indexOf(0, off);
    if (nul < 0) this.fail(`${what}: string at offset ${hx(off)} is not terminated inside ${this.region}`);
    return utf8.decode(this.bytes.subarray(off, nul));
  }
}

const utf8 = new TextDecoder('utf-8');

export function decodeUtf8(bytes: Uint8Array): string {
  return utf8.decode(bytes);
}
