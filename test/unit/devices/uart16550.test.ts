// 16550A behaviour as a guest sees it through the I/O bus.
import { describe, expect, it } from 'vitest';
import { IoBus } from '../../../src/engine/devices/bus';
import { Uart16550 } from '../../../src/engine/devices/uart16550';

const COM1 = 0x3f8;

function setup() {
  const out: number[] = [];
  const irq: boolean[] = [];
  const uart = new Uart16550({ onOutput: (b) => out.push(b), irq: (l) => irq.push(l) });
  const io = new IoBus();
  io.register(COM1, 8, uart);
  const inb = (r: number) => io.in(COM1 + r, 1);
  const outb = (r: number, v: number) => io.out(COM1 + r, 1, v);
  return { uart, io, out, irq, inb, outb };
}

describe('16550A UART', () => {
  it('hands THR writes to the output callback', () => {
    const { out, outb } = setup();
    for (const c of 'Hi\n') outb(0, c.charCodeAt(0));
    expect(String.fromCharCode(...out)).toBe('Hi\n');
  });

  it('does not mask output bits by word length (as QEMU)', () => {
    const { out, outb } = setup();
    outb(3, 0x00); // 5 data bits
    outb(0, 0xff);
    expect(out).toEqual([0xff]);
  });

  it('reports THRE and TEMT always, DR when input is queued', () => {
    const { uart, inb } = setup();
    expect(inb(5)).toBe(0x60);
    uart.pushInput([0x41, 0x42]);
    expect(inb(5) & 1).toBe(1);
    expect(inb(0)).toBe(0x41);
    expect(inb(5) & 1).toBe(1);
    expect(inb(0)).toBe(0x42);
    expect(inb(5)).toBe(0x60);
  });

  it('latches the divisor behind DLAB without transmitting', () => {
    const { out, inb, outb } = setup();
    expect(inb(0) | 0).toBe(0); // RBR, empty
    outb(3, 0x83); // DLAB | 8N1
    outb(0, 0x01);
    outb(1, 0x00);
    expect(inb(0)).toBe(0x01);
    expect(inb(1)).toBe(0x00);
    expect(out).toEqual([]);
    outb(3, 0x03);
    expect(inb(3)).toBe(0x03);
    expect(inb(1)).toBe(0x00); // IER again
    outb(0, 0x5a);
    expect(out).toEqual([0x5a]);
  });

  it('loops transmitted bytes back to the receiver and modem outputs to inputs', () => {
    const { out, inb, outb } = setup();
    outb(4, 0x10 | 0x02 | 0x01); // LOOP | RTS | DTR
    outb(0, 0x77);
    expect(out).toEqual([]);
    expect(inb(5) & 1).toBe(1);
    expect(inb(0)).toBe(0x77);
    const msr = inb(6);
    expect(msr & 0xf0).toBe(0x30); // CTS and DSR follow RTS and DTR; RI, DCD off
  });

  it('keeps the scratch register', () => {
    const { inb, outb } = setup();
    outb(7, 0xa5);
    expect(inb(7)).toBe(0xa5);
  });

  it('raises the THR-empty interrupt per IER and once per transmitted byte', () => {
    const { irq, inb, outb } = setup();
    expect(inb(2)).toBe(0x01); // nothing pending
    outb(1, 0x02); // THRI
    expect(irq).toEqual([true]);
    expect(inb(2)).toBe(0x02); // THR empty; reading IIR acknowledges it
    expect(irq).toEqual([true, false]);
    expect(inb(2)).toBe(0x01);
    irq.length = 0;
    outb(0, 0x41);
    expect(irq).toEqual([true]); // one fresh edge for the byte
    outb(1, 0x00);
    expect(irq).toEqual([true, false]);
  });

  it('raises the received-data interrupt, with FIFO trigger levels and timeout', () => {
    const { uart, irq, inb, outb } = setup();
    outb(1, 0x01); // RDI
    uart.pushInput([1]);
    expect(irq.at(-1)).toBe(true);
    expect(inb(2)).toBe(0x04);
    inb(0);
    expect(irq.at(-1)).toBe(false);
    outb(2, 0x41); // FIFO on, trigger level 4
    uart.pushInput([1, 2]);
    expect(inb(2)).toBe(0xcc); // below trigger: character timeout, FIFO bits set
    uart.pushInput([3, 4]);
    expect(inb(2)).toBe(0xc4); // at trigger: data available
    expect([inb(0), inb(0), inb(0), inb(0)]).toEqual([1, 2, 3, 4]);
    expect(inb(2)).toBe(0xc1);
  });

  it('feeds a long host queue through the 16-byte FIFO without overrun', () => {
    const { uart, inb, outb } = setup();
    outb(2, 0x07); // enable and clear FIFOs
    const text = Array.from({ length: 100 }, (_, i) => i);
    uart.pushInput(text);
    const got: number[] = [];
    while (inb(5) & 1) got.push(inb(0));
    expect(got).toEqual(text);
    expect(inb(5) & 0x02).toBe(0); // no overrun
  });
});
