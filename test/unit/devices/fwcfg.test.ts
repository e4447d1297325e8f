// fw_cfg through its I/O ports, as firmware and guest drivers use it.
import { describe, expect, it } from 'vitest';
import { IoBus } from '../../../src/engine/devices/bus';
import { FwCfg } from '../../../src/engine/devices/fwcfg';
import { PhysicalMemory } from '../../../src/engine/mmu/physmem';

const RAM = 64 * 1024 * 1024;

function setup(withDma = true) {
  const memory = new PhysicalMemory(RAM);
  const fw = new FwCfg({ ramSize: RAM, cpus: 3, maxCpus: 4, memory: withDma ? memory : undefined });
  const io = new IoBus();
  io.register(0x510, 2, fw);
  io.register(0x514, 8, fw);
  const select = (key: number) => io.out(0x510, 2, key);
  const bytes = (n: number) => Array.from({ length: n }, () => io.in(0x511, 1));
  return { fw, io, memory, select, bytes };
}

const le = (b: number[]) => b.reduceRight((acc, x) => acc * 256 + x, 0);

describe('fw_cfg', () => {
  it('reads "QEMU" from the signature item', () => {
    const { select, bytes } = setup();
    select(0x0000);
    expect(String.fromCharCode(...bytes(4))).toBe('QEMU');
    expect(bytes(2)).toEqual([0, 0]); // past the end: zeros
  });

  it('reports the traditional interface and DMA in FW_CFG_ID', () => {
    const a = setup(true);
    a.select(0x0001);
    expect(le(a.bytes(4))).toBe(3);
    const b = setup(false);
    b.select(0x0001);
    expect(le(b.bytes(4))).toBe(1);
  });

  it('gives RAM size (64-bit LE) and CPU counts', () => {
    const { select, bytes, io } = setup();
    select(0x0003);
    expect(le(bytes(8))).toBe(RAM);
    select(0x0005);
    expect(le(bytes(2))).toBe(3);
    select(0x000f);
    expect(io.in(0x511, 2)).toBe(4); // a 16-bit read returns two bytes in order
  });

  it('lists files in a big-endian directory', () => {
    const { select, bytes } = setup();
    select(0x0019);
    const dir = bytes(4 + 64);
    const view = new DataView(Uint8Array.from(dir).buffer);
    expect(view.getUint32(0, false)).toBe(1);
    expect(view.getUint32(4, false)).toBe(20);
    const key = view.getUint16(8, false);
    expect(key).toBe(0x20);
    const name = String.fromCharCode(...dir.slice(12, 12 + 8));
    expect(name).toBe('etc/e820');
    select(key);
    const e820 = bytes(20);
    expect(le(e820.slice(0, 8))).toBe(0);
    expect(le(e820.slice(8, 16))).toBe(RAM);
    expect(le(e820.slice(16, 20))).toBe(1);
  });

  it('resets the data offset on every selector write', () => {
    const { select, bytes } = setup();
    select(0);
    bytes(2);
    select(0);
    expect(String.fromCharCode(...bytes(4))).toBe('QEMU');
  });

  it('reads "QEMU CFG" from the DMA address register', () => {
    const { io } = setup();
    const sig = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => io.in(0x514 + i, 1));
    expect(String.fromCharCode(...sig)).toBe('QEMU CFG');
  });

  it('copies an item into guest memory over DMA', () => {
    const { io, memory } = setup();
    const desc = 0x1000;
    const dest = 0x2000;
    const be32 = (pa: number, v: number) => {
      for (let i = 0; i < 4; i++) memory.write8(pa + i, (v >>> (24 - 8 * i)) & 0xff);
    };
    be32(desc, (0x0000 << 16) | 0x08 | 0x02); // select signature, read
    be32(desc + 4, 4);
    be32(desc + 8, 0);
    be32(desc + 12, dest);
    const swap = (v: number) => ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
    io.out(0x514, 4, 0); // high half (big-endian register)
    io.out(0x518, 4, swap(desc) >>> 0); // low half starts the transfer
    expect(String.fromCharCode(...memory.readRange(dest, 4))).toBe('QEMU');
    expect(Array.from(memory.readRange(desc, 4))).toEqual([0, 0, 0, 0]); // control cleared: done
  });
});
