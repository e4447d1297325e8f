// Runs a guest image on QEMU (TCG) the way PEERS.md describes, to get the
// reference serial transcript and exit status that vmscope's engine is
// compared with. QEMU: Debian/Ubuntu package qemu-system-x86.
//
//   qemu-system-x86_64 -nodefaults -accel tcg -M pc -m 128 -display none
//     -serial stdio -device isa-debug-exit,iobase=0xf4,iosize=4 -no-reboot
//     -kernel IMAGE.elf          (Multiboot, ELF32)   | -bios IMAGE.bin (64 KiB ROM)
//
// -nodefaults (no VGA, NIC, floppy, CD-ROM, monitor) is the one addition to
// the PEERS.md line: the guests see the same machine (the same transcripts
// and statuses were checked with and without it), and startup is ~80 ms
// instead of ~200 ms without the VGA and network option ROMs.
// Exit status: (V << 1) | 1 for a byte V written to port 0xF4.
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export const QEMU_BINARY = 'qemu-system-x86_64';
export const QEMU_INSTALL_HINT = 'install it with: sudo apt-get install -y qemu-system-x86';

export interface QemuRunOptions {
  /** 'multiboot': `-kernel IMAGE` (an ELF32 Multiboot image); 'bios': `-bios IMAGE` (a 64 KiB ROM). */
  kind: 'multiboot' | 'bios';
  /** QEMU is killed (and the promise rejected) after this long. */
  timeoutMs: number;
  /** Guest RAM, default 128 (as vmscope's default). */
  memoryMiB?: number;
  /** vCPUs (-smp), default 1. */
  cpus?: number;
}

export interface QemuResult {
  /** QEMU's exit status: (code << 1) | 1 after a debug-exit write. */
  status: number;
  /** Everything the guest sent to COM1, byte for byte (latin1). */
  serial: string;
  /** QEMU's own messages (empty when all went well). */
  stderr: string;
}

/** The path of qemu-system-x86_64 ($VMSCOPE_QEMU, else found in PATH), or undefined. */
export function qemuAvailable(): string | undefined {
  const candidates = process.env.VMSCOPE_QEMU
    ? [process.env.VMSCOPE_QEMU]
    : (process.env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, QEMU_BINARY));
  return candidates.find((p) => {
    try {
      accessSync(p, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** QEMU's arguments for an image (without the binary). */
export function qemuArgs(image: string, opts: Pick<QemuRunOptions, 'kind' | 'memoryMiB' | 'cpus'>): string[] {
  return [
    '-nodefaults',
    '-accel', 'tcg',
    '-M', 'pc',
    '-m', String(opts.memoryMiB ?? 128),
    '-smp', String(opts.cpus ?? 1),
    '-display', 'none',
    '-serial', 'stdio',
    '-device', 'isa-debug-exit,iobase=0xf4,iosize=4',
    '-no-reboot',
    opts.kind === 'bios' ? '-bios' : '-kernel', image,
  ];
}

/** Runs IMAGE until the guest exits (or QEMU does); rejects on timeout. */
export function runOnQemu(image: string, opts: QemuRunOptions): Promise<QemuResult> {
  const qemu = qemuAvailable();
  if (!qemu) return Promise.reject(new Error(`${QEMU_BINARY} not found; ${QEMU_INSTALL_HINT}`));
  return new Promise((resolvePromise, reject) => {
    const child = spawn(qemu, qemuArgs(image, opts), { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const serial = Buffer.concat(out).toString('latin1');
      const stderr = Buffer.concat(err).toString('utf8');
      if (timedOut) {
        reject(new Error(`QEMU did not finish ${image} within ${opts.timeoutMs} ms; serial so far: ${JSON.stringify(serial)}`));
      } else if (code === null) {
        reject(new Error(`QEMU was killed by ${signal} running ${image}; serial: ${JSON.stringify(serial)}`));
      } else {
        resolvePromise({ status: code, serial, stderr });
      }
    });
  });
}
