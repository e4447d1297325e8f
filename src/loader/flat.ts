// Flat binaries: raw bytes at a load address. A 64 KiB image with no load
// address (or 0xF0000) is a BIOS-style ROM: it fills 0xF0000-0xFFFFF, ends at
// the reset vector, and the CPU starts in real mode at F000:FFF0. Anything
// else runs in 64-bit long mode from the load address (or `entry`), with the
// first 4 GiB identity-mapped, so it must lie below 4 GiB.

import { hx } from './bytes';
import { ImageError, type LoadedImage } from './types';

export const RESET_IMAGE_SIZE = 0x10000;
export const RESET_LOAD_ADDR = 0xf0000;
/** Linear address of F000:FFF0. */
export const RESET_VECTOR = 0xffff0;
const FOUR_GIB = 0x1_0000_0000;

export interface FlatOptions {
  loadAddress?: number;
  entry?: number | bigint;
}

/** A user-given entry as a bigint; JSON numbers can be fractional or negative. */
export function entryOption(entry: number | bigint): bigint {
  if (typeof entry === 'number' && !Number.isSafeInteger(entry)) throw new ImageError(`entry ${entry} is not an integer address`);
  const e = BigInt(entry);
  if (e < 0n || e >= 1n << 64n) throw new ImageError(`entry ${entry} is not a 64-bit address`);
  return e;
}

export function loadFlat(bytes: Uint8Array, path: string, opts: FlatOptions = {}): LoadedImage {
  const { loadAddress } = opts;
  const given = opts.entry === undefined ? undefined : entryOption(opts.entry);
  if (bytes.length === RESET_IMAGE_SIZE && (loadAddress === undefined || loadAddress === RESET_LOAD_ADDR)) {
    if (given !== undefined && given !== BigInt(RESET_VECTOR)) {
      throw new ImageError(`a 64 KiB reset image starts at the reset vector ${hx(RESET_VECTOR)}; entry ${hx(given)} cannot apply`);
    }
    return {
      path,
      format: 'flat',
      boot: 'reset',
      segments: [{ paddr: RESET_LOAD_ADDR, data: bytes.slice(), memsz: RESET_IMAGE_SIZE, flags: 5 }],
      entry: BigInt(RESET_VECTOR),
      symbols: [],
      lines: [],
    };
  }
  if (loadAddress === undefined) {
    throw new ImageError(
      `not an ELF file and no loadAddress given for a flat binary (only a 64 KiB reset image needs none; this one is ${bytes.length} bytes)`,
    );
  }
  if (!Number.isSafeInteger(loadAddress) || loadAddress < 0) {
    throw new ImageError(`loadAddress ${loadAddress} is not a non-negative integer`);
  }
  if (loadAddress + bytes.length > FOUR_GIB) {
    throw new ImageError(`flat binary at ${hx(loadAddress)} + ${hx(bytes.length)} does not fit in the identity-mapped first 4 GiB`);
  }
  const entry = given ?? BigInt(loadAddress);
  if (entry >= BigInt(FOUR_GIB)) {
    throw new ImageError(`entry ${hx(entry)} is outside the identity-mapped first 4 GiB`);
  }
  return {
    path,
    format: 'flat',
    boot: 'flat64',
    segments: [{ paddr: loadAddress, data: bytes.slice(), memsz: bytes.length, flags: 7 }],
    entry,
    symbols: [],
    lines: [],
  };
}
