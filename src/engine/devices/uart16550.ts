// 16550A UART as QEMU's `serial` device presents it at COM1 (0x3F8, IRQ4).
//
// Transmission is instant: a THR write hands the byte to onOutput at once, so
// LSR.THRE and LSR.TEMT always read as set and the "THR empty" interrupt
// re-arms right after each write (the line drops and rises again, giving an
// edge-triggered PIC one edge per byte, as QEMU's serial does).
//
// Word length (LCR bits 0-1) is not applied to the data: QEMU hands the whole
// byte to its backend, and guests built for QEMU rely on 8-bit output even when
// they never program LCR, so neither do we mask (Bochs would).
//
// Receive: pushInput() queues host bytes without limit; they move into the
// receive FIFO (16 bytes, or a 1-byte holding register with FIFOs off) as the
// guest drains it, so the host side never overruns (QEMU throttles its chardev
// the same way). With FIFOs on, data below the trigger level raises the
// character-timeout interrupt at once instead of after four character times:
// no more bytes are coming from a queue that is already empty, so waiting
// would only add non-determinism-free latency.
//
// The IRQ is not gated by MCR.OUT2 (QEMU does not gate it either).

import type { IoSize, PortDevice } from './bus';
import { NO_IRQ, type IrqLine } from './irq';

export const COM1_BASE = 0x3f8;
export const COM1_IRQ = 4;

// Register bits (names as in the 16550 data sheet).
const IER_RDI = 0x01; // received data available
const IER_THRI = 0x02; // transmitter holding register empty
const IER_RLSI = 0x04; // receiver line status
const IER_MSI = 0x08; // modem status

const IIR_NO_INT = 0x01;
const IIR_MSI = 0x00;
const IIR_THRI = 0x02;
const IIR_RDI = 0x04;
const IIR_RLSI = 0x06;
const IIR_CTI = 0x0c; // character timeout (FIFO mode)
const IIR_FIFO_ENABLED = 0xc0;

const FCR_ENABLE = 0x01;
const FCR_CLEAR_RX = 0x02;

const LCR_DLAB = 0x80;

const MCR_DTR = 0x01;
const MCR_RTS = 0x02;
const MCR_OUT1 = 0x04;
const MCR_OUT2 = 0x08;
const MCR_LOOP = 0x10;

const LSR_DR = 0x01;
const LSR_OE = 0x02;
const LSR_PE = 0x04;
const LSR_FE = 0x08;
const LSR_BI = 0x10;
const LSR_THRE = 0x20;
const LSR_TEMT = 0x40;
const LSR_ERRORS = LSR_OE | LSR_PE | LSR_FE | LSR_BI; // cleared by reading LSR

const MSR_DCTS = 0x01;
const MSR_DDSR = 0x02;
const MSR_TERI = 0x04;
const MSR_DDCD = 0x08;
const MSR_CTS = 0x10;
const MSR_DSR = 0x20;
const MSR_RI = 0x40;
const MSR_DCD = 0x80;
const MSR_DELTAS = 0x0f;

/** Receive FIFO trigger levels selected by FCR bits 7:6. */
const RX_TRIGGER = [1, 4, 8, 14] as const;
const FIFO_SIZE = 16;

export interface Uart16550Options {
  base?: number;
  irq?: IrqLine;
  onOutput?: (byte: number) => void;
}

export class Uart16550 implements PortDevice {
  readonly name = 'uart16550';
  readonly base: number;
  private readonly irq: IrqLine;
  private readonly onOutput: (byte: number) => void;

  private ier = 0;
  private lcr = 0;
  private mcr = MCR_OUT2; // QEMU resets MCR with OUT2 set
  private lsrErrors = 0;
  private msr = MSR_DCD | MSR_DSR | MSR_CTS; // a connected, ready terminal
  private scr = 0;
  private fcr = 0;
  private divisor = 0x0c; // 9600 baud, QEMU's reset value
  private thrPending = false; // THR-empty interrupt waiting to be seen
  private irqLevel = false;

  /** Bytes the guest can see (the RX FIFO or holding register). */
  private readonly rx: number[] = [];
  /** Host input not yet accepted into the FIFO. */
  private readonly hostQueue: number[] = [];
  private hostHead = 0;

  constructor(opts: Uart16550Options = {}) {
    this.base = opts.base ?? COM1_BASE;
    this.irq = opts.irq ?? NO_IRQ;
    this.onOutput = opts.onOutput ?? (() => {});
  }

  /** Queues bytes arriving on the serial line (host keyboard, scripts). */
  pushInput(bytes: ArrayLike<number>): void {
    for (let i = 0; i < bytes.length; i++) this.hostQueue.push(bytes[i]! & 0xff);
    this.refill();
    this.updateIrq();
  }

  /** Host bytes not yet read by the guest (FIFO plus queue). */
  get pendingInput(): number {
    return this.rx.length + this.hostQueue.length - this.hostHead;
  }

  in(port: number, _size: IoSize): number {
    switch (port - this.base) {
      case 0:
        if (this.lcr & LCR_DLAB) return this.divisor & 0xff;
        return this.readRbr();
      case 1:
        if (this.lcr & LCR_DLAB) return (this.divisor >>> 8) & 0xff;
        return this.ier;
      case 2:
        return this.readIir();
      case 3:
        return this.lcr;
      case 4:
        return this.mcr;
      case 5: {
        const v = this.lsr();
        if (this.lsrErrors & LSR_ERRORS) {
          this.lsrErrors &= ~LSR_ERRORS;
          this.updateIrq();
        }
        return v;
      }
      case 6: {
        const v = this.modemStatus();
        if (this.msr & MSR_DELTAS) {
          this.msr &= ~MSR_DELTAS;
          this.updateIrq();
        }
        return v;
      }
      default:
        return this.scr;
    }
  }

  out(port: number, _size: IoSize, value: number): void {
    const v = value & 0xff;
    switch (port - this.base) {
      case 0:
        if (this.lcr & LCR_DLAB) this.divisor = (this.divisor & 0xff00) | v;
        else this.writeThr(v);
        return;
      case 1:
        if (this.lcr & LCR_DLAB) {
          this.divisor = (this.divisor & 0x00ff) | (v << 8);
          return;
        }
        this.writeIer(v);
        return;
      case 2:
        this.writeFcr(v);
        return;
      case 3:
        this.lcr = v;
        return;
      case 4:
        this.writeMcr(v & 0x1f);
        return;
      case 5:
      case 6:
        return; // LSR and MSR are read-only (factory-test writes ignored, as QEMU)
      default:
        this.scr = v;
    }
  }

  // --- transmit -----------------------------------------------------------

  private writeThr(v: number): void {
    // Hot path: one callback and at most two line changes.
    this.thrPending = false;
    if (this.ier & IER_THRI) this.updateIrq();
    if (this.mcr & MCR_LOOP) this.loopbackReceive(v);
    else this.onOutput(v);
    this.thrPending = true;
    if (this.ier & IER_THRI || this.mcr & MCR_LOOP) this.updateIrq();
  }

  private loopbackReceive(v: number): void {
    if (this.rx.length >= this.fifoCapacity()) {
      this.lsrErrors |= LSR_OE;
      return;
    }
    this.rx.push(v);
  }

  private writeIer(v: number): void {
    const old = this.ier;
    this.ier = v & 0x0f;
    // Enabling THRI while THR is empty raises the interrupt at once.
    if (this.ier & IER_THRI && !(old & IER_THRI)) this.thrPending = true;
    this.updateIrq();
  }

  private writeFcr(v: number): void {
    const wasEnabled = this.fcr & FCR_ENABLE;
    if (v & FCR_CLEAR_RX || (v & FCR_ENABLE) !== wasEnabled) {
      // Clearing (or switching mode) empties the FIFO the guest could see;
      // bytes still in the host queue arrive afterwards.
      this.rx.length = 0;
    }
    this.fcr = v & 0xc9; // trigger level, DMA mode, enable (clear bits self-reset)
    this.refill();
    this.updateIrq();
  }

  private writeMcr(v: number): void {
    const oldStatus = this.modemStatus();
    this.mcr = v;
    const now = this.modemStatus();
    const changed = oldStatus ^ now;
    if (changed & MSR_CTS) this.msr |= MSR_DCTS;
    if (changed & MSR_DSR) this.msr |= MSR_DDSR;
    if (changed & MSR_DCD) this.msr |= MSR_DDCD;
    if (oldStatus & MSR_RI && !(now & MSR_RI)) this.msr |= MSR_TERI; // trailing edge of RI
    this.refill();
    this.updateIrq();
  }

  // --- receive ------------------------------------------------------------

  private fifoCapacity(): number {
    return this.fcr & FCR_ENABLE ? FIFO_SIZE : 1;
  }

  private refill(): void {
    if (this.mcr & MCR_LOOP) return; // the receiver is wired to the transmitter
    const cap = this.fifoCapacity();
    while (this.rx.length < cap && this.hostHead < this.hostQueue.length) {
      this.rx.push(this.hostQueue[this.hostHead++]!);
    }
    if (this.hostHead > 4096 && this.hostHead * 2 > this.hostQueue.length) {
      this.hostQueue.splice(0, this.hostHead);
      this.hostHead = 0;
    }
  }

  private readRbr(): number {
    const v = this.rx.length ? this.rx.shift()! : 0;
    this.refill();
    this.updateIrq();
    return v;
  }

  // --- status -------------------------------------------------------------

  private lsr(): number {
    return (this.rx.length ? LSR_DR : 0) | this.lsrErrors | LSR_THRE | LSR_TEMT;
  }

  private modemStatus(): number {
    if (!(this.mcr & MCR_LOOP)) return this.msr;
    // Loopback: the modem inputs follow the modem outputs.
    let lines = 0;
    if (this.mcr & MCR_RTS) lines |= MSR_CTS;
    if (this.mcr & MCR_DTR) lines |= MSR_DSR;
    if (this.mcr & MCR_OUT1) lines |= MSR_RI;
    if (this.mcr & MCR_OUT2) lines |= MSR_DCD;
    return lines | (this.msr & MSR_DELTAS);
  }

  /** The highest-priority pending interrupt identification (IIR bits 3:0). */
  private pendingId(): number {
    if (this.ier & IER_RLSI && this.lsrErrors & LSR_ERRORS) return IIR_RLSI;
    if (this.ier & IER_RDI && this.rx.length) {
      if (!(this.fcr & FCR_ENABLE)) return IIR_RDI;
      return this.rx.length >= RX_TRIGGER[this.fcr >>> 6]! ? IIR_RDI : IIR_CTI;
    }
    if (this.ier & IER_THRI && this.thrPending) return IIR_THRI;
    if (this.ier & IER_MSI && this.msr & MSR_DELTAS) return IIR_MSI;
    return IIR_NO_INT;
  }

  private readIir(): number {
    const id = this.pendingId();
    // Reading IIR while it reports THR empty acknowledges that interrupt.
    if (id === IIR_THRI) {
      this.thrPending = false;
      this.updateIrq();
    }
    return id | (this.fcr & FCR_ENABLE ? IIR_FIFO_ENABLED : 0);
  }

  private updateIrq(): void {
    const level = this.pendingId() !== IIR_NO_INT;
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.irq(level);
    }
  }
}
