// Small legacy PC ports that guests touch during boot:
// - 0x80, the POST-code port: writes are kept for the debugger and otherwise
//   ignored (many kernels use `out 0x80` as an I/O delay); reads return 0xFF.
// - 0x92, "system control port A" (fast A20 and fast reset): A20 is always
//   enabled in this machine, so bit 1 always reads set and clearing it has no
//   effect; a 0→1 transition of bit 0 requests a reset, as on QEMU's port92.

import type { IoSize, PortDevice } from './bus';

export class PostCodePort implements PortDevice {
  readonly name = 'post-code';
  /** The last value written, or -1. */
  lastCode = -1;

  in(_port: number, _size: IoSize): number {
    return 0xff;
  }

  out(_port: number, _size: IoSize, value: number): void {
    this.lastCode = value & 0xff;
  }
}

export class SystemControlPortA implements PortDevice {
  readonly name = 'port92';
  private value = 0x02;

  constructor(private readonly onReset: () => void = () => {}) {}

  in(_port: number, _size: IoSize): number {
    return this.value | 0x02;
  }

  out(_port: number, _size: IoSize, value: number): void {
    const old = this.value;
    this.value = value & 0xff;
    if (value & 1 && !(old & 1)) this.onReset();
  }
}
