// Runs a guest image on Bochs 2.7, the reference for the VMX guests (QEMU's
// TCG has no VMX). Debian/Ubuntu packages: bochs bochsbios vgabios
// bochs-term; `script` (util-linux) gives Bochs the terminal it wants.
//
// How a run goes (see /work/shared/PEERS.md for the Bochs facts):
//   1. The image becomes the system ROM. Bochs has no Multiboot loader, so a
//      Multiboot ELF is wrapped by `scripts/build-guests.mjs --rom` into a
//      64 KiB ROM (test/guests/lib/romboot.S) that enables A20, enters 32-bit
//      protected mode, copies the ELF's loadable segments to their physical
//      addresses, and jumps to the entry with EAX = 0x2BADB002 and EBX = a
//      Multiboot information with mem_lower/mem_upper. A 64 KiB `.bin` (a
//      bios-kind guest) is used as the ROM as it is.
//   2. A bochsrc in a fresh temporary directory: cpu corei7_skylake_x (VMX
//      with EPT, VPID, unrestricted guest), 128 MiB, COM1 to a file, the term
//      display (the only display library built without X besides rfb), errors
//      reported, debug messages only from the "unmapped" device (so that the
//      byte a guest writes to the debug-exit port 0xF4 shows in the log).
//   3. `script -q -c "bochs -q -f bochsrc -rc cmds" /dev/null`: the internal
//      debugger is compiled in and would stop at its prompt; cmds says `c`.
//   4. The log is read as Bochs writes it. The run is over when
//        - Bochs exits: after "Shutdown" written to port 0x8900 (the guests'
//          hv_exit does that after the port 0xF4 write), or a panic;
//        - the guest halts with interrupts off after writing port 0xF4 (how
//          the QEMU-style guests end): Bochs would wait forever, so it is
//          stopped once the serial output has settled (200 ms unchanged);
//      or on the time limit (the promise rejects with the serial output and
//      the log's last lines so far).
// A run of one of the VMX guests takes about 0.3-0.5 s, mostly Bochs's start.
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';

export const BOCHS_BINARY = 'bochs';
export const BOCHS_PACKAGES = 'bochs bochsbios vgabios bochs-term';
export const BOCHS_INSTALL_HINT = `install it with: sudo apt-get install -y ${BOCHS_PACKAGES}`;

const root = resolve(__dirname, '../..');
const buildScript = join(root, 'scripts/build-guests.mjs');

export interface BochsRunOptions {
  /** Bochs is killed (and the promise rejected) after this long. */
  timeoutMs: number;
  /** Guest RAM, default 128 (as vmscope's default). */
  memoryMiB?: number;
  /** Keep the run directory (bochsrc, ROM, log, serial) and report it in the result. */
  keep?: boolean;
}

export interface BochsResult {
  /** Everything the guest sent to COM1, byte for byte (latin1). */
  serial: string;
  /** The byte the guest wrote to port 0xF4, if it did. */
  exitCode: number | undefined;
  /** QEMU's exit status for that byte, (code << 1) | 1, as test/support/guests.ts has it. */
  status: number | undefined;
  /** How the run ended. 'shutdown': "Shutdown" at port 0x8900; 'halted': HLT with IF=0 after
   *  the port 0xF4 write (Bochs was stopped); 'exited': Bochs ended otherwise (see `message`). */
  ended: 'shutdown' | 'halted' | 'exited';
  /** Bochs's exit message ("Shutdown port: shutdown requested", a panic), if it gave one. */
  message: string | undefined;
  /** The messages of the log's error and panic lines ("VMENTER FAIL: RFLAGS[1] cleared", ...). */
  errors: string[];
  /** The messages of failed VM entries and VMfail reasons Bochs logged ("VMENTER FAIL: ...", "VMFAIL: ..."). */
  vmEntryFailures: string[];
  /** The whole log. */
  log: string;
  /** Wall time of the Bochs run, ms (not counting the ROM build). */
  elapsedMs: number;
  /** The run directory, when `keep` was set. */
  dir?: string;
}

function executable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function inPath(cmd: string): string | undefined {
  return (process.env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, cmd)).find(executable);
}

/** The Bochs binary ($VMSCOPE_BOCHS, else found in PATH), or undefined when Bochs, its term display or `script` is missing. */
export function bochsAvailable(): string | undefined {
  const bochs = process.env.VMSCOPE_BOCHS ?? inPath(BOCHS_BINARY);
  if (!bochs || !executable(bochs) || !inPath('script')) return undefined;
  return bochs;
}

/** Why bochsAvailable() is undefined, for a skip message. */
export function bochsMissingReason(): string {
  if (!(process.env.VMSCOPE_BOCHS ?? inPath(BOCHS_BINARY))) return `${BOCHS_BINARY} not found; ${BOCHS_INSTALL_HINT}`;
  if (!inPath('script')) return "`script` not found (Bochs's term display needs a terminal); sudo apt-get install -y util-linux";
  return `${process.env.VMSCOPE_BOCHS ?? BOCHS_BINARY} is not executable`;
}

/** The bochsrc of a run (exported for the test that checks it). */
export function bochsrc(rom: string, memoryMiB = 128): string {
  return [
    '# vmscope test/support/bochs.ts',
    `memory: guest=${memoryMiB}, host=${memoryMiB}`,
    `romimage: file="${rom}"`,
    'cpu: model=corei7_skylake_x, count=1, reset_on_triple_fault=0',
    'com1: enabled=1, mode=file, dev=serial.txt',
    'display_library: term',
    'log: bochs.log',
    'panic: action=fatal',
    'error: action=report',
    'info: action=report',
    // debug lines only from the unmapped-port device: "unmapped: 8-bit write to 00f4 = 2a"
    'debug: action=ignore, unmapped=report',
    '',
  ].join('\n');
}

/** Wraps a Multiboot ELF into a ROM at out with the build script; throws with its message. */
export function buildRom(elf: string, out: string): void {
  const r = spawnSync(process.execPath, [buildScript, '--rom', elf, out], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`could not make a ROM of ${elf}:\n${r.stdout}${r.stderr}`);
}

/** After a halt, the serial file must stay the same size this long before Bochs is stopped. */
const SERIAL_SETTLE_MS = 200;

const LOG_LINE = /^\d+([a-z])\[([^\]]*)\]\s?(.*)$/;

/** Parses Bochs's log into the parts of a BochsResult. */
export function parseBochsLog(log: string): Pick<BochsResult, 'exitCode' | 'errors' | 'vmEntryFailures'> & { halted: boolean; shutdown: boolean } {
  let exitCode: number | undefined;
  let halted = false;
  let shutdown = false;
  const errors: string[] = [];
  const vmEntryFailures: string[] = [];
  for (const line of log.split('\n')) {
    const m = LOG_LINE.exec(line.trimEnd());
    if (!m) continue;
    const [, level, , msg] = m as unknown as [string, string, string, string];
    const f4 = /unmapped: 8-bit write to 00f4 = ([0-9a-f]{2})/i.exec(msg);
    if (f4) exitCode = parseInt(f4[1]!, 16);
    if (exitCode !== undefined && msg.includes('HLT instruction with IF=0')) halted = true;
    if (msg.includes('Shutdown port: shutdown requested')) shutdown = true;
    const text = msg.replace(/^>>PANIC<< /, '');
    if ((level === 'e' || level === 'p') && !text.startsWith('Shutdown port:')) errors.push(text);
    if (/^(VMENTER FAIL|VMFAIL)/.test(msg)) vmEntryFailures.push(msg);
  }
  return { exitCode, errors, vmEntryFailures, halted, shutdown };
}

function kill(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** Runs IMAGE (a Multiboot ELF, or a 64 KiB ROM .bin) on Bochs until it ends; rejects on timeout. */
export function runOnBochs(image: string, opts: BochsRunOptions): Promise<BochsResult> {
  const bochs = bochsAvailable();
  if (!bochs) return Promise.reject(new Error(bochsMissingReason()));
  const dir = mkdtempSync(join(tmpdir(), 'vmscope-bochs-'));
  const cleanup = () => {
    if (!opts.keep) rmSync(dir, { recursive: true, force: true });
  };
  try {
    const rom = join(dir, 'rom.bin');
    if (image.endsWith('.bin') && statSync(image).size === 0x10000) writeFileSync(rom, readFileSync(image));
    else buildRom(image, rom);
    writeFileSync(join(dir, 'bochsrc'), bochsrc(rom, opts.memoryMiB));
    writeFileSync(join(dir, 'cmds'), 'c\n');
  } catch (e) {
    cleanup();
    return Promise.reject(e);
  }

  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  // The shell records Bochs's pid (script runs it in a session of its own).
  const inner = `echo $$ > bochs.pid; exec ${quote(bochs)} -q -f bochsrc -rc cmds`;
  const started = Date.now();
  return new Promise((resolvePromise, reject) => {
    const child = spawn('script', ['-q', '-e', '-c', inner, '/dev/null'], {
      cwd: dir,
      // stdin stays an open pipe: script ends when its input ends.
      stdio: ['pipe', 'ignore', 'pipe'],
      env: { ...process.env, TERM: process.env.TERM && process.env.TERM !== 'dumb' ? process.env.TERM : 'xterm' },
    });
    const err: Buffer[] = [];
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const read = (name: string) => (existsSync(join(dir, name)) ? readFileSync(join(dir, name), 'latin1') : '');
    const bochsPid = () => {
      const p = Number.parseInt(read('bochs.pid'), 10);
      return Number.isFinite(p) ? p : undefined;
    };
    let stopping: 'halted' | 'timeout' | undefined;
    const stop = (why: 'halted' | 'timeout') => {
      if (stopping) return;
      stopping = why;
      kill(bochsPid(), 'SIGKILL');
      kill(child.pid, 'SIGKILL');
    };
    // Bochs writes its log as it goes: watch for a guest halted after its exit write. Then
    // let the UART finish (Bochs sends at the line's pace): stop once the serial file has
    // not grown for a few polls.
    let haltedAt: number | undefined;
    let serialSize = -1;
    let stableSince = 0;
    const poll = setInterval(() => {
      if (haltedAt === undefined) {
        if (parseBochsLog(read('bochs.log')).halted) haltedAt = Date.now();
        return;
      }
      const size = existsSync(join(dir, 'serial.txt')) ? statSync(join(dir, 'serial.txt')).size : 0;
      if (size !== serialSize) {
        serialSize = size;
        stableSince = Date.now();
      }
      if (Date.now() - stableSince >= SERIAL_SETTLE_MS || Date.now() - haltedAt >= 2000) stop('halted');
    }, 50);
    const timer = setTimeout(() => stop('timeout'), opts.timeoutMs);
    const finish = (fn: () => void) => {
      clearInterval(poll);
      clearTimeout(timer);
      kill(bochsPid(), 'SIGKILL'); // (never outlives its run)
      fn();
      cleanup();
    };
    child.on('error', (e) => finish(() => reject(e)));
    child.on('close', () => {
      const elapsedMs = Date.now() - started;
      const serial = read('serial.txt');
      const log = read('bochs.log');
      const parsed = parseBochsLog(log);
      const tail = log.trimEnd().split('\n').slice(-15).join('\n');
      if (stopping === 'timeout') {
        finish(() =>
          reject(new Error(`Bochs did not finish ${image} within ${opts.timeoutMs} ms; serial so far: ${JSON.stringify(serial)}\nlog tail:\n${tail}`)),
        );
        return;
      }
      // "Bochs is exiting with the following message:\n[UNMAP ] Shutdown port: shutdown requested"
      const message = /Bochs is exiting with the following message:\s*\n\[[^\]]*\]\s*(.*)/.exec(log + Buffer.concat(err).toString('utf8'))?.[1]?.trim();
      const ended = parsed.shutdown ? 'shutdown' : stopping === 'halted' || parsed.halted ? 'halted' : 'exited';
      finish(() =>
        resolvePromise({
          serial,
          exitCode: parsed.exitCode,
          status: parsed.exitCode === undefined ? undefined : ((parsed.exitCode << 1) | 1) & 0xff,
          ended,
          message: message ?? (ended === 'exited' ? tail : undefined),
          errors: parsed.errors,
          vmEntryFailures: parsed.vmEntryFailures,
          log,
          elapsedMs,
          dir: opts.keep ? dir : undefined,
        }),
      );
    });
  });
}
