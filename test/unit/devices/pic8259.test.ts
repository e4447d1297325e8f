// 8259A pair programmed exactly as a guest kernel does it.
import { describe, expect, it } from 'vitest';
import { IoBus } from '../../../src/engine/devices/bus';
import { Pic8259 } from '../../../src/engine/devices/pic8259';

function setup() {
  const outputs: boolean[] = [];
  const pic = new Pic8259({ onOutput: (l) => outputs.push(l) });
  const io = new IoBus();
  io.register(0x20, 2, pic);
  io.register(0xa0, 2, pic);
  io.register(0x4d0, 2, pic);
  const outb = (p: number, v: number) => io.out(p, 1, v);
  const inb = (p: number) => io.in(p, 1);
  return { pic, io, outputs, outb, inb };
}

/** The classic remap: master at 0x20, slave at 0x28, cascade on IR2, 8086 mode. */
function initPics(outb: (p: number, v: number) => void, icw4 = 0x01) {
  outb(0x20, 0x11);
  outb(0xa0, 0x11);
  outb(0x21, 0x20);
  outb(0xa1, 0x28);
  outb(0x21, 0x04);
  outb(0xa1, 0x02);
  outb(0x21, icw4);
  outb(0xa1, icw4);
}

const isr = (outb: (p: number, v: number) => void, inb: (p: number) => number, port: number) => {
  outb(port, 0x0b); // OCW3: read ISR
  const v = inb(port);
  outb(port, 0x0a); // back to IRR
  return v;
};

describe('8259A PIC', () => {
  it('starts with every input masked', () => {
    const { pic, inb } = setup();
    expect(inb(0x21)).toBe(0xff);
    expect(inb(0xa1)).toBe(0xff);
    pic.setIrq(1, true);
    expect(pic.interruptPending()).toBe(false);
  });

  it('delivers after the ICW1-ICW4 sequence, with ICW2 vector bases', () => {
    const { pic, outb, inb, outputs } = setup();
    initPics(outb);
    expect(inb(0x21)).toBe(0x00); // ICW1 cleared the IMR
    outb(0x21, 0xfd); // only IRQ1
    pic.setIrq(1, true);
    expect(pic.interruptPending()).toBe(true);
    expect(outputs.at(-1)).toBe(true);
    expect(pic.acknowledge()).toBe(0x21);
    expect(isr(outb, inb, 0x20)).toBe(0x02);
    expect(pic.interruptPending()).toBe(false);
    outb(0x20, 0x20); // non-specific EOI
    expect(isr(outb, inb, 0x20)).toBe(0x00);
  });

  it('prioritises lower IRQ numbers and nests higher ones over lower in service', () => {
    const { pic, outb } = setup();
    initPics(outb);
    pic.setIrq(3, true);
    pic.setIrq(1, true);
    expect(pic.acknowledge()).toBe(0x21);
    // IRQ3 waits while IRQ1 is in service...
    expect(pic.interruptPending()).toBe(false);
    // ...but IRQ0 preempts it.
    pic.setIrq(0, true);
    expect(pic.acknowledge()).toBe(0x20);
    outb(0x20, 0x20); // EOI IRQ0
    expect(pic.interruptPending()).toBe(false);
    outb(0x20, 0x20); // EOI IRQ1
    expect(pic.acknowledge()).toBe(0x23);
  });

  it('cascades the slave through IR2', () => {
    const { pic, outb, inb } = setup();
    initPics(outb);
    pic.setIrq(10, true);
    expect(pic.interruptPending()).toBe(true);
    expect(pic.acknowledge()).toBe(0x2a);
    expect(isr(outb, inb, 0x20)).toBe(0x04);
    expect(isr(outb, inb, 0xa0)).toBe(0x04);
    outb(0xa0, 0x62); // specific EOI for slave IR2
    outb(0x20, 0x62); // specific EOI for master IR2
    expect(isr(outb, inb, 0x20)).toBe(0);
    expect(isr(outb, inb, 0xa0)).toBe(0);
  });

  it('is edge triggered: a held line interrupts once', () => {
    const { pic, outb } = setup();
    initPics(outb);
    pic.setIrq(4, true);
    expect(pic.acknowledge()).toBe(0x24);
    outb(0x20, 0x20);
    pic.setIrq(4, true); // still high: no new edge
    expect(pic.interruptPending()).toBe(false);
    pic.setIrq(4, false);
    pic.setIrq(4, true);
    expect(pic.acknowledge()).toBe(0x24);
  });

  it('follows the line in level mode selected by the ELCR', () => {
    const { pic, outb, inb } = setup();
    initPics(outb);
    outb(0x4d1, 0x04); // IRQ10 level-triggered
    expect(inb(0x4d1)).toBe(0x04);
    pic.setIrq(10, true);
    expect(pic.acknowledge()).toBe(0x2a);
    outb(0xa0, 0x20);
    outb(0x20, 0x20);
    expect(pic.interruptPending()).toBe(true); // still asserted
    pic.setIrq(10, false);
    // The master's edge-triggered IR2 already latched the request: the INTA
    // finds nothing on the slave and gets its spurious IRQ15 vector.
    expect(pic.acknowledge()).toBe(0x2f);
    outb(0x20, 0x20);
    expect(pic.interruptPending()).toBe(false);
    outb(0x4d0, 0xff);
    expect(inb(0x4d0)).toBe(0xf8); // IRQ0-2 cannot be level-triggered
  });

  it('does not keep ISR bits in auto-EOI mode', () => {
    const { pic, outb, inb } = setup();
    initPics(outb, 0x03);
    pic.setIrq(5, true);
    expect(pic.acknowledge()).toBe(0x25);
    expect(isr(outb, inb, 0x20)).toBe(0);
  });

  it('answers an INTA with nothing pending with the spurious IRQ7 vector', () => {
    const { pic, outb } = setup();
    initPics(outb);
    expect(pic.acknowledge()).toBe(0x27);
  });

  it('supports the poll command', () => {
    const { pic, outb, inb } = setup();
    initPics(outb);
    pic.setIrq(6, true);
    outb(0x20, 0x0c); // OCW3 poll
    expect(inb(0x20)).toBe(0x86);
    expect(isr(outb, inb, 0x20)).toBe(0x40);
    outb(0x20, 0x0c);
    expect(inb(0x20)).toBe(0x00);
  });

  it('rotates priority on a rotating EOI', () => {
    const { pic, outb } = setup();
    initPics(outb);
    pic.setIrq(0, true);
    pic.setIrq(3, true);
    expect(pic.acknowledge()).toBe(0x20);
    outb(0x20, 0xa0); // rotate on non-specific EOI: IR0 becomes lowest
    pic.setIrq(0, false);
    pic.setIrq(0, true);
    expect(pic.acknowledge()).toBe(0x23);
  });
});
