// The port I/O bus: devices claim port ranges; the CPU's IN/OUT/INS/OUTS go
// through here. An unclaimed port reads as all ones and ignores writes, as on
// a PC's ISA bus.

export type IoSize = 1 | 2 | 4;

export interface PortDevice {
  readonly name: string;
  in(port: number, size: IoSize): number;
  out(port: number, size: IoSize, value: number): void;
}

export class IoBus {
  private readonly table: (PortDevice | undefined)[] = new Array(0x10000);

  register(first: number, count: number, dev: PortDevice): void {
    for (let p = first; p < first + count; p++) {
      const had = this.table[p];
      if (had) throw new Error(`port 0x${p.toString(16)} claimed by both ${had.name} and ${dev.name}`);
      this.table[p] = dev;
    }
  }

  in(port: number, size: IoSize): number {
    const d = this.table[port & 0xffff];
    if (d) return d.in(port & 0xffff, size) >>> 0;
    return size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff;
  }

  out(port: number, size: IoSize, value: number): void {
    const d = this.table[port & 0xffff];
    if (d) d.out(port & 0xffff, size, value >>> 0);
  }

  deviceAt(port: number): PortDevice | undefined {
    return this.table[port & 0xffff];
  }
}
