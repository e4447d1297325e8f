// The Multiboot v1 information structure a kernel finds at EBX, built as one
// blob to copy into guest memory at `infoAddr`. Every pointer inside it is
// infoAddr + an offset into the blob, so it is only valid at that address.
//
// Layout (offsets into the blob):
//   0x00  info struct, 88 bytes (the same size QEMU writes: fields up to
//         vbe_interface_len; no framebuffer fields)
//           +0  flags       = bit 0 mem_*, bit 2 cmdline, bit 6 mmap_*,
//                             bit 9 boot_loader_name
//           +4  mem_lower   = 639 (KiB below the EBDA at 0x9FC00)
//           +8  mem_upper   = KiB from 1 MiB to the end of RAM
//           +16 cmdline     -> 0xB8
//           +44 mmap_length = 96, +48 mmap_addr -> 0x58
//           +64 boot_loader_name -> after the command line
//           all other fields 0 (no boot device, modules, symbols, drives,
//           config table, APM, VBE)
//   0x58  memory map, 4 entries of 24 bytes each: size (u32, = 20, not
//         counting itself; mmap_addr points at it), base (u64), length
//         (u64), type (u32: 1 available, 2 reserved):
//           [0, 0x9FC00)          available (conventional memory)
//           [0x9FC00, 0xA0000)    reserved  (EBDA)
//           [0xF0000, 0x100000)   reserved  (BIOS ROM)
//           [0x100000, RAM end)   available
//   0xB8  command line, UTF-8, NUL-terminated
//   ...   boot loader name, UTF-8, NUL-terminated; blob padded to 4 bytes
//
// Against QEMU's pc machine with -kernel: mem_lower 639 and the three low
// regions are what SeaBIOS reports there (INT 12h and e820). QEMU's mem_upper
// and last e820 region stop 64-128 KiB short of the end of RAM because
// SeaBIOS keeps its ACPI tables there; with no BIOS we hand the guest all of
// it. QEMU also sets boot_device (0x8000FFFF) and an empty module list; we set
// neither, and QEMU prefixes the command line with the kernel's file name —
// pass `${path} ${cmdline}` for the same string.

export interface MultibootInfoOptions {
  /** Guest RAM size in bytes; more than 1 MiB. */
  memoryBytes: number;
  cmdline: string;
  bootloaderName: string;
  /** Guest-physical address the blob will be copied to (the kernel's EBX). */
  infoAddr: number;
}

/** Where QEMU puts its Multiboot structures (0x9000): low, below the EBDA, clear of kernels at 1 MiB. */
export const DEFAULT_MULTIBOOT_INFO_ADDR = 0x9000;

const INFO_SIZE = 88;
const MMAP_ENTRY = 24;
const MB_INFO_MEMORY = 1 << 0;
const MB_INFO_CMDLINE = 1 << 2;
const MB_INFO_MMAP = 1 << 6;
const MB_INFO_BOOTLOADER = 1 << 9;
const E820_RAM = 1;
const E820_RESERVED = 2;
const MIB = 0x100000;

export function buildMultibootInfo(opts: MultibootInfoOptions): Uint8Array {
  const { memoryBytes, infoAddr } = opts;
  if (!Number.isSafeInteger(memoryBytes) || memoryBytes <= MIB) {
    throw new RangeError(`memoryBytes ${memoryBytes} must be an integer above 1 MiB`);
  }
  const enc = new TextEncoder();
  const cmdline = enc.encode(opts.cmdline);
  const name = enc.encode(opts.bootloaderName);
  if (cmdline.includes(0) || name.includes(0)) throw new RangeError('cmdline and bootloaderName cannot contain NUL');

  const regions: [number, number, number][] = [
    [0, 0x9fc00, E820_RAM],
    [0x9fc00, 0x400, E820_RESERVED],
    [0xf0000, 0x10000, E820_RESERVED],
    [MIB, memoryBytes - MIB, E820_RAM],
  ];
  const mmapOff = INFO_SIZE;
  const cmdOff = mmapOff + regions.length * MMAP_ENTRY;
  const nameOff = cmdOff + cmdline.length + 1;
  const total = (nameOff + name.length + 1 + 3) & ~3;
  if (!Number.isSafeInteger(infoAddr) || infoAddr < 0 || infoAddr + total > 0x1_0000_0000) {
    throw new RangeError(`infoAddr ${infoAddr} must place the ${total}-byte Multiboot info below 4 GiB`);
  }

  const blob = new Uint8Array(total);
  const dv = new DataView(blob.buffer);
  dv.setUint32(0, MB_INFO_MEMORY | MB_INFO_CMDLINE | MB_INFO_MMAP | MB_INFO_BOOTLOADER, true);
  dv.setUint32(4, 0x9fc00 / 1024, true);
  dv.setUint32(8, Math.min(Math.floor((memoryBytes - MIB) / 1024), 0xffffffff), true);
  dv.setUint32(16, infoAddr + cmdOff, true);
  dv.setUint32(44, regions.length * MMAP_ENTRY, true);
  dv.setUint32(48, infoAddr + mmapOff, true);
  dv.setUint32(64, infoAddr + nameOff, true);
  regions.forEach(([base, length, type], i) => {
    const o = mmapOff + i * MMAP_ENTRY;
    dv.setUint32(o, MMAP_ENTRY - 4, true);
    dv.setBigUint64(o + 4, BigInt(base), true);
    dv.setBigUint64(o + 12, BigInt(length), true);
    dv.setUint32(o + 20, type, true);
  });
  blob.set(cmdline, cmdOff);
  blob.set(name, nameOff);
  return blob;
}
