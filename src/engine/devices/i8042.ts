// A minimal 8042 keyboard controller at 0x60 (data) / 0x64 (status/command):
// enough that guests which poll it, reset through it or probe the keyboard do
// not hang. There is no keyboard behind it: nothing is ever typed.
//
// Status (0x64 read): output-buffer-full when a reply is queued, input buffer
// never full (commands complete instantly), system flag set (POST passed, as
// after SeaBIOS), "last write was a command", keyboard not inhibited.
// Controller commands answered: 0x20 read command byte, 0x60 write command
// byte, 0xA7/0xA8 disable/enable mouse port, 0xA9 mouse port test (0x00),
// 0xAA self-test (0x55), 0xAB keyboard port test (0x00), 0xAD/0xAE
// disable/enable keyboard, 0xC0 read input port, 0xD0 read output port,
// 0xD1 write output port (bit 0 clear = reset; A20 stays on), 0xD2/0xD3 echo
// into the output buffer, 0xD4 to the mouse (acknowledged), 0xFE/0xF0-0xFF
// pulse (bit 0 clear = reset). Bytes written to 0x60 go to the "keyboard",
// which acknowledges each with 0xFA (0xFF reset also answers 0xAA, 0xF2
// identify answers 0xAB 0x83, 0xEE echo answers 0xEE).
// IRQ1 pulses when a keyboard reply lands and command byte bit 0 is set.

import type { IoSize, PortDevice } from './bus';
import { NO_IRQ, pulse, type IrqLine } from './irq';

const STAT_OBF = 0x01;
const STAT_SYS = 0x04;
const STAT_CMD = 0x08;
const STAT_UNLOCKED = 0x10;
const STAT_AUX_OBF = 0x20;

const CMDBYTE_KBD_INT = 0x01;

export interface I8042Options {
  irq1?: IrqLine;
  /** The guest asked the controller to pulse the CPU's reset line. */
  onReset?: () => void;
}

export class I8042 implements PortDevice {
  readonly name = 'i8042';
  private readonly out_: { byte: number; aux: boolean }[] = [];
  private lastRead = 0;
  private commandByte = 0x45; // keyboard interrupt, system flag, scancode translation
  private pending = -1; // controller command waiting for its data byte
  private lastWasCommand = true;
  private readonly irq1: IrqLine;
  private readonly onReset: () => void;

  constructor(opts: I8042Options = {}) {
    this.irq1 = opts.irq1 ?? NO_IRQ;
    this.onReset = opts.onReset ?? (() => {});
  }

  in(port: number, _size: IoSize): number {
    if (port === 0x64) {
      const head = this.out_[0];
      return (
        (head ? STAT_OBF | (head.aux ? STAT_AUX_OBF : 0) : 0) |
        (this.commandByte & STAT_SYS) |
        (this.lastWasCommand ? STAT_CMD : 0) |
        STAT_UNLOCKED
      );
    }
    const head = this.out_.shift();
    if (head) this.lastRead = head.byte;
    if (this.out_.length && !this.out_[0]!.aux) this.raiseKbd();
    return this.lastRead; // an empty buffer re-reads the last byte, as QEMU
  }

  out(port: number, _size: IoSize, value: number): void {
    const v = value & 0xff;
    if (port === 0x64) {
      this.lastWasCommand = true;
      this.command(v);
      return;
    }
    this.lastWasCommand = false;
    const cmd = this.pending;
    this.pending = -1;
    switch (cmd) {
      case 0x60:
        this.commandByte = v;
        return;
      case 0xd1:
        if (!(v & 1)) this.onReset();
        return;
      case 0xd2:
        this.reply(v, false);
        return;
      case 0xd3:
        this.reply(v, true);
        return;
      case 0xd4:
        this.reply(0xfa, true);
        return;
    }
    this.keyboard(v);
  }

  private command(v: number): void {
    switch (v) {
      case 0x20:
        this.reply(this.commandByte, false, false);
        return;
      case 0x60:
      case 0xd1:
      case 0xd2:
      case 0xd3:
      case 0xd4:
        this.pending = v;
        return;
      case 0xa9:
      case 0xab:
        this.reply(0x00, false, false);
        return;
      case 0xaa:
        this.reply(0x55, false, false);
        return;
      case 0xc0:
        this.reply(0x80, false, false); // keyboard not inhibited
        return;
      case 0xd0:
        this.reply(0x03, false, false); // not in reset, A20 enabled
        return;
      default:
        // 0xF0-0xFF pulse output lines; bit 0 clear pulses the reset line.
        if (v >= 0xf0 && !(v & 1)) this.onReset();
        // 0xA7/0xA8/0xAD/0xAE and unknown commands need no reply.
        return;
    }
  }

  private keyboard(v: number): void {
    switch (v) {
      case 0xee:
        this.reply(0xee, false);
        return;
      case 0xff:
        this.reply(0xfa, false);
        this.reply(0xaa, false);
        return;
      case 0xf2:
        this.reply(0xfa, false);
        this.reply(0xab, false);
        this.reply(0x83, false);
        return;
      default:
        this.reply(0xfa, false);
    }
  }

  private reply(byte: number, aux: boolean, interrupt = true): void {
    this.out_.push({ byte, aux });
    if (interrupt && !aux && this.out_.length === 1) this.raiseKbd();
  }

  private raiseKbd(): void {
    if (this.commandByte & CMDBYTE_KBD_INT) pulse(this.irq1);
  }
}
