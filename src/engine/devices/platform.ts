// The PC platform as QEMU's `pc` machine presents it to a guest, wired on one
// IoBus plus the LAPIC/IOAPIC MMIO pages:
//
//   0x020-0x021, 0x0A0-0x0A1, 0x4D0-0x4D1  8259 pair + ELCR
//   0x040-0x043  8254 PIT             0x061  port B (PIT ch2 gate/out, speaker)
//   0x060, 0x064 minimal 8042         0x070-0x071  RTC/CMOS
//   0x080        POST code (ignored)  0x092  port A (A20 always on, fast reset)
//   0x0F4-0x0F7  isa-debug-exit       0x3F8-0x3FF  COM1 16550A
//   0x510-0x511  fw_cfg               0x514-0x51B  fw_cfg DMA
//   0xFEC00000   IOAPIC               0xFEE00000   local APIC (per CPU)
//
// Interrupt routing as QEMU: ISA IRQ n drives 8259 input n and IOAPIC pin n,
// except IRQ0 which drives IOAPIC pin 2. The 8259's INTR output goes to LINT0
// of every local APIC (each accepts it only when its LINT0 is unmasked ExtINT
// or the APIC is globally disabled, so normally only the BSP). Level-triggered
// EOIs from the local APICs are broadcast to the IOAPIC.
//
// Reset requests (8042 pulse, port 0x92 bit 0) go to `onReset`; without it
// they are logged and ignored. The machine places the ACPI tables itself
// (see acpi.ts) and delivers timer events by polling timedDevices.

import { IoBus } from './bus';
import type { CpuControl, CpuInterruptLines, TimedDevice, VirtualClock } from './types';
import type { PhysicalMemory } from '../mmu/physmem';
import { ApicBus } from './apicbus';
import { Cmos } from './cmos';
import { DEBUG_EXIT_BASE, DEBUG_EXIT_SIZE, DebugExit } from './debugexit';
import { FwCfg } from './fwcfg';
import { I8042 } from './i8042';
import { IOAPIC_DEFAULT_BASE, IOAPIC_MMIO_SIZE, IoApic } from './ioapic';
import { NO_LOG, type DeviceLog } from './irq';
import { LocalApic } from './lapic';
import { APIC_DEFAULT_BASE, APIC_MMIO_SIZE, ApicMmio } from './lapicregs';
import { PostCodePort, SystemControlPortA } from './legacy';
import { Pic8259 } from './pic8259';
import { Pit8254, SystemControlPortB } from './pit8254';
import { COM1_BASE, COM1_IRQ, Uart16550 } from './uart16550';

export interface PcPlatformOptions {
  memory: PhysicalMemory;
  cpus: number;
  clock: VirtualClock;
  control: CpuControl;
  /** Index of the vCPU performing the current memory access (routes LAPIC MMIO). */
  currentCpu: () => number;
  onSerial: (byte: number) => void;
  onExit: (status: number) => void;
  /** The guest requested a system reset (8042 or port 0x92). */
  onReset?: () => void;
  log?: DeviceLog;
  /** A vCPU's TSC for IA32_TSC_DEADLINE (default: virtual ns). */
  tsc?: (cpu: number) => number;
  /** The vCPUs advertise x2APIC (default true). */
  x2apic?: boolean;
  /** Start the BSP's LAPIC as SeaBIOS leaves it (default true; see lapic.ts). */
  firmwareHandoff?: boolean;
  /** Unix seconds the RTC shows at virtual time 0 (default 2000-01-01). */
  rtcEpochSeconds?: number;
}

export interface PcPlatform {
  io: IoBus;
  /** One local APIC per vCPU: its interrupt lines, MSRs (LocalApic.handlesMsr) and CR8. */
  apics: LocalApic[];
  /** interruptLines[i]: vCPU i's interrupt lines (its local APIC, with the 8259 behind LINT0). */
  interruptLines: CpuInterruptLines[];
  apicBus: ApicBus;
  apicMmio: ApicMmio;
  uart: Uart16550;
  pic: Pic8259;
  pit: Pit8254;
  ioapic: IoApic;
  cmos: Cmos;
  fwcfg: FwCfg;
  debugExit: DebugExit;
  kbd: I8042;
  postCode: PostCodePort;
  /** Everything with deadlines: PIT, RTC, each LAPIC timer (each onDeadline moves its deadline past now). */
  timedDevices: TimedDevice[];
  /** Drives ISA IRQ `irq` (0-15) into the 8259 and the IOAPIC. */
  setIsaIrq(irq: number, level: boolean): void;
}

export function createPcPlatform(opts: PcPlatformOptions): PcPlatform {
  const log = opts.log ?? NO_LOG;
  const { memory, clock } = opts;
  const io = new IoBus();

  const apicBus = new ApicBus(log);
  const ioapic = new IoApic(apicBus);
  apicBus.onEoi = (vector) => ioapic.eoi(vector);

  const apics: LocalApic[] = [];
  const pic = new Pic8259({
    onOutput: (level) => {
      for (const a of apics) a.setLint(0, level);
    },
  });
  apicBus.extInt = pic;

  const setIsaIrq = (irq: number, level: boolean): void => {
    pic.setIrq(irq, level);
    ioapic.setIrq(irq === 0 ? 2 : irq, level);
  };

  for (let cpu = 0; cpu < opts.cpus; cpu++) {
    const tsc = opts.tsc;
    const apic = new LocalApic({
      cpu,
      clock,
      control: opts.control,
      bus: apicBus,
      extInt: pic,
      tsc: tsc ? () => tsc(cpu) : undefined,
      x2apic: opts.x2apic,
      firmwareHandoff: opts.firmwareHandoff,
      log,
    });
    apics.push(apic);
    apicBus.targets.push(apic);
  }
  const apicMmio = new ApicMmio(apics, opts.currentCpu);
  memory.mapMmio(IOAPIC_DEFAULT_BASE, IOAPIC_MMIO_SIZE, ioapic);
  memory.mapMmio(APIC_DEFAULT_BASE, APIC_MMIO_SIZE, apicMmio);

  const requestReset = (): void => {
    if (opts.onReset) opts.onReset();
    else log('platform: guest requested a reset; no reset handler, ignored');
  };

  const pit = new Pit8254({ clock, irq0: (l) => setIsaIrq(0, l) });
  const uart = new Uart16550({ base: COM1_BASE, irq: (l) => setIsaIrq(COM1_IRQ, l), onOutput: opts.onSerial });
  const cmos = new Cmos({
    clock,
    irq: (l) => setIsaIrq(8, l),
    memoryBytes: memory.size,
    cpus: opts.cpus,
    epochSeconds: opts.rtcEpochSeconds,
  });
  const fwcfg = new FwCfg({ ramSize: memory.size, cpus: opts.cpus, memory });
  const debugExit = new DebugExit(opts.onExit);
  const kbd = new I8042({ irq1: (l) => setIsaIrq(1, l), onReset: requestReset });
  const postCode = new PostCodePort();

  io.register(0x20, 2, pic);
  io.register(0xa0, 2, pic);
  io.register(0x4d0, 2, pic);
  io.register(0x40, 4, pit);
  io.register(0x61, 1, new SystemControlPortB(pit, clock));
  io.register(0x60, 1, kbd);
  io.register(0x64, 1, kbd);
  io.register(0x70, 2, cmos);
  io.register(0x80, 1, postCode);
  io.register(0x92, 1, new SystemControlPortA(requestReset));
  io.register(DEBUG_EXIT_BASE, DEBUG_EXIT_SIZE, debugExit);
  io.register(COM1_BASE, 8, uart);
  io.register(0x510, 2, fwcfg);
  io.register(0x514, 8, fwcfg);

  const timedDevices: TimedDevice[] = [pit, cmos, ...apics];

  return {
    io,
    apics,
    interruptLines: apics,
    apicBus,
    apicMmio,
    uart,
    pic,
    pit,
    ioapic,
    cmos,
    fwcfg,
    debugExit,
    kbd,
    postCode,
    timedDevices,
    setIsaIrq,
  };
}
