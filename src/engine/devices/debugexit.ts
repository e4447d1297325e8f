// QEMU's isa-debug-exit, as guests configure it with
// `-device isa-debug-exit,iobase=0xf4,iosize=0x04`.
//
// A write of value v to any port in the range ends the run; QEMU calls
// exit((v << 1) | 1), so the status is always odd and a guest can never fake
// a clean exit 0. QEMU computes in 64 bits and the OS keeps the low 8 bits of
// the process status; we report the 32-bit value ((v << 1) | 1) >>> 0 and let
// the CLI truncate as the OS would. Reads return 0 (the device has no read
// handler in QEMU).

import type { IoSize, PortDevice } from './bus';

export const DEBUG_EXIT_BASE = 0xf4;
export const DEBUG_EXIT_SIZE = 4;

export class DebugExit implements PortDevice {
  readonly name = 'isa-debug-exit';

  constructor(private readonly onExit: (status: number) => void) {}

  in(_port: number, _size: IoSize): number {
    return 0;
  }

  out(_port: number, _size: IoSize, value: number): void {
    this.onExit(((value << 1) | 1) >>> 0);
  }
}
