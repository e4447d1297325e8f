// Builds the guest programs (tests, samples, benchmarks) from GNU assembler
// sources with binutils (`as`, `ld`, `objcopy`; Debian package `binutils`).
//
//   node scripts/build-guests.mjs            build what is out of date
//   node scripts/build-guests.mjs NAME...    only these guests (hello32, intloop-1, ...)
//   node scripts/build-guests.mjs --force    rebuild everything
//   node scripts/build-guests.mjs --check    report whether as/ld/objcopy are installed
//   node scripts/build-guests.mjs --list     print source -> outputs, build nothing
//   node scripts/build-guests.mjs --rom KERNEL.elf [OUT.rom]
//                                            wrap a Multiboot kernel into a 64 KiB
//                                            system ROM that boots it (for Bochs,
//                                            which has no Multiboot loader); OUT
//                                            defaults to build/guests/<name>.rom
//
// Sources: test/guests/**/*.S (but not test/guests/lib/), samples/<dir>/*.S,
// bench/guests/**/*.S (also *.s). Each source says how to build it in a
// comment within its first 30 lines:
//
//   # build: BITS KIND [variant=SUFFIX:SYM=VALUE[,SYM=VALUE...]]...
//
//   BITS  32 or 64: `as --32` / `as --64`; 16 assembles as --32 (for a file
//         that switches to .code16 itself).
//   KIND  multiboot: linked at 1 MiB (test/guests/lib/multiboot.ld) into an
//           ELF32 Multiboot image, `<name>.elf`. 64-bit code is linked with
//           `ld -m elf_x86_64` and converted with `objcopy -O elf32-i386`
//           (QEMU accepts only ELF32 Multiboot images).
//         bios: a 64 KiB system ROM ending at the reset vector
//           (test/guests/lib/bios.ld): `<name>.bin` for `qemu -bios`, and
//           `<name>.elf` with its symbols and line table.
//   variant=-1:ITER=1  also builds `<name>-1.elf` with `as --defsym ITER=1`.
//
// The ROM (--rom) is test/guests/lib/romboot.S, assembled with a generated
// include that embeds the kernel's loadable ELF segments (p_paddr, p_filesz,
// p_memsz) and its entry point, linked with bios.ld: from the reset vector it
// enables A20, enters 32-bit protected mode, copies each segment to its
// physical address, zeroes the rest of it (.bss), writes a Multiboot
// information structure with mem_lower/mem_upper (flags bit 0) and jumps to
// the entry with EAX = 0x2BADB002, EBX = the information (see romboot.S).
//
// A `link.ld` next to a source replaces the default linker script.
// Everything is assembled with -g (DWARF .debug_line). Includes are found in
// the source's directory and in test/guests/lib/ -- except for samples,
// which are self-contained: they are assembled in their own directory with
// their DWARF directory recorded as "." (so the committed image does not
// name the machine it was built on).
//
// Outputs: build/guests/<name>[.elf|.bin] (gitignored; intermediates pass
// through build/guests/obj/), except samples: samples/<dir>/<name>.elf,
// committed so that F5 works without an assembler. A guest is rebuilt when an
// output is older than its source, an included file, its linker script or
// this script. Exit status 1 if anything failed, with the tool's message.

import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const scriptPath = fileURLToPath(import.meta.url);
const root = resolve(dirname(scriptPath), '..');
const LIB = join(root, 'test/guests/lib');
const OUT = join(root, 'build/guests');
const OBJ = join(OUT, 'obj');
const TOOLS = [
  { cmd: 'as', what: 'the GNU assembler' },
  { cmd: 'ld', what: 'the GNU linker' },
  { cmd: 'objcopy', what: 'objcopy' },
];
const INSTALL_HINT = 'install the Debian/Ubuntu package "binutils": sudo apt-get install -y binutils';

const rel = (p) => relative(root, p) || '.';

/** `cmd --version` first line, or undefined when the tool cannot be run. */
function toolVersion(cmd) {
  const r = spawnSync(cmd, ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return undefined;
  return r.stdout.split('\n')[0].trim();
}

function missingTools() {
  return TOOLS.filter((t) => toolVersion(t.cmd) === undefined);
}

function check() {
  const missing = missingTools();
  for (const t of TOOLS) {
    const v = toolVersion(t.cmd);
    console.log(v ? `ok       ${t.cmd}: ${v}` : `missing  ${t.cmd} (${t.what})`);
  }
  if (missing.length > 0) {
    console.error(`build-guests: ${missing.map((t) => t.cmd).join(', ')} not found; ${INSTALL_HINT}`);
    return 1;
  }
  return 0;
}

/** Assembler sources under dir (recursively unless flat), skipping lib/. */
function sources(dir, { flat = false } = {}) {
  if (!existsSync(dir)) return [];
  const found = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!flat && p !== LIB) found.push(...sources(p));
    } else if (entry.isFile() && (extname(entry.name) === '.S' || extname(entry.name) === '.s')) {
      found.push(p);
    }
  }
  return found.sort();
}

/** Parses the `build:` comment of a source. Throws with a readable message. */
function directive(src) {
  const lines = readFileSync(src, 'utf8').split('\n').slice(0, 30);
  const line = lines.map((l) => /^\s*(?:#|\/\/|\/\*|\*)\s*build:\s*(.*?)\s*(?:\*\/)?\s*$/.exec(l)).find(Boolean);
  if (!line) throw new Error(`${rel(src)}: no "# build: BITS KIND" comment in its first 30 lines`);
  const spec = { bits: 0, kind: '', variants: [{ suffix: '', defsyms: [] }] };
  for (const tok of line[1].split(/\s+/).filter(Boolean)) {
    if (tok === '16' || tok === '32' || tok === '64') spec.bits = Number(tok);
    else if (tok === 'multiboot' || tok === 'bios') spec.kind = tok;
    else if (tok.startsWith('variant=')) {
      const m = /^variant=([-\w.]+):(\w+=[^,]+(?:,\w+=[^,]+)*)$/.exec(tok);
      if (!m) throw new Error(`${rel(src)}: bad "${tok}" (want variant=SUFFIX:SYM=VALUE[,SYM=VALUE])`);
      spec.variants.push({ suffix: m[1], defsyms: m[2].split(',') });
    } else throw new Error(`${rel(src)}: unknown build word "${tok}"`);
  }
  if (!spec.bits || !spec.kind) throw new Error(`${rel(src)}: the build comment needs BITS (16|32|64) and KIND (multiboot|bios)`);
  if (spec.kind === 'bios' && spec.bits === 64) throw new Error(`${rel(src)}: a bios image starts in real mode: use 16 or 32`);
  return spec;
}

/** The files a source includes, transitively (for the up-to-date check). */
function includes(file, dirs, seen = new Set()) {
  for (const m of readFileSync(file, 'utf8').matchAll(/^\s*\.include\s+"([^"]+)"/gm)) {
    const found = [dirname(file), ...dirs].map((d) => resolve(d, m[1])).find((p) => existsSync(p));
    if (found && !seen.has(found)) {
      seen.add(found);
      includes(found, dirs, seen);
    }
  }
  return seen;
}

/** Every guest: its source, how to build it, its outputs and inputs. */
function discover() {
  const groups = [
    { kind: 'test', files: sources(join(root, 'test/guests')) },
    { kind: 'bench', files: sources(join(root, 'bench/guests')) },
    {
      kind: 'sample',
      files: existsSync(join(root, 'samples'))
        ? readdirSync(join(root, 'samples'), { withFileTypes: true })
            .filter((e) => e.isDirectory())
            .flatMap((e) => sources(join(root, 'samples', e.name), { flat: true }))
        : [],
    },
  ];
  const guests = [];
  for (const { kind: group, files } of groups) {
    for (const src of files) {
      const spec = directive(src);
      const dir = dirname(src);
      const sample = group === 'sample';
      const incDirs = sample ? [dir] : [dir, LIB];
      const localLd = join(dir, 'link.ld');
      const ldScript = existsSync(localLd) ? localLd : join(LIB, `${spec.kind}.ld`);
      const deps = [src, ldScript, scriptPath, ...includes(src, incDirs)];
      for (const v of spec.variants) {
        const name = basename(src, extname(src)) + v.suffix;
        const outDir = sample ? dir : OUT;
        const outputs = spec.kind === 'bios' ? [join(outDir, `${name}.bin`), join(outDir, `${name}.elf`)] : [join(outDir, `${name}.elf`)];
        guests.push({ name, src, group, spec, defsyms: v.defsyms, incDirs, ldScript, deps, outputs });
      }
    }
  }
  const byName = new Map();
  for (const g of guests) {
    if (byName.has(g.name)) throw new Error(`two guests named "${g.name}": ${rel(byName.get(g.name).src)} and ${rel(g.src)}`);
    byName.set(g.name, g);
  }
  return guests;
}

function upToDate(g) {
  if (!g.outputs.every((p) => existsSync(p))) return false;
  const oldestOut = Math.min(...g.outputs.map((p) => statSync(p).mtimeMs));
  const newestIn = Math.max(...g.deps.map((p) => statSync(p).mtimeMs));
  return oldestOut >= newestIn;
}

/** Runs a tool; on failure throws with its output. Warnings are passed on. */
function run(cmd, args, cwd) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8' });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}${r.error.code === 'ENOENT' ? ` (${INSTALL_HINT})` : ''}`);
  const out = (r.stdout + r.stderr).trim();
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}\n${out}`);
  if (out) console.warn(out);
}

function build(g) {
  // Intermediates go to a directory of this process's own (two test workers
  // may build at once), outputs to temporary names renamed into place. The
  // object's file name ends up in the image's symbol table: keep it stable.
  const dir = join(OBJ, String(process.pid));
  mkdirSync(dir, { recursive: true });
  try {
    buildFrom(g, join(dir, `${g.name}.o`), join(dir, `${g.name}.linked.elf`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function buildFrom(g, obj, linked) {
  const { bits, kind } = g.spec;
  const sample = g.group === 'sample';
  const cwd = sample ? dirname(g.src) : root;
  const asArgs = [bits === 64 ? '--64' : '--32', '-g'];
  if (sample) asArgs.push(`--debug-prefix-map=${cwd}=.`);
  for (const d of g.incDirs) asArgs.push('-I', relative(cwd, d) || '.');
  for (const s of g.defsyms) asArgs.push('--defsym', s);
  asArgs.push('-o', obj, relative(cwd, g.src));
  run('as', asArgs, cwd);

  const ldArgs = ['-m', bits === 64 ? 'elf_x86_64' : 'elf_i386', '-T', g.ldScript, '-z', 'max-page-size=0x1000', '--build-id=none', '-o', linked, obj];
  run('ld', ldArgs, root);

  // A failed step leaves no output that looks up to date.
  const tmp = g.outputs.map((p) => `${p}.${process.pid}.tmp`);
  mkdirSync(dirname(g.outputs[0]), { recursive: true });
  try {
    if (kind === 'multiboot') {
      if (bits === 64) run('objcopy', ['-O', 'elf32-i386', linked, tmp[0]], root);
      else run('objcopy', [linked, tmp[0]], root);
    } else {
      run('objcopy', ['-O', 'binary', linked, tmp[0]], root);
      const size = statSync(tmp[0]).size;
      if (size !== 65536) throw new Error(`${rel(g.src)}: the ROM image is ${size} bytes, not 65536 (does .reset end at 0xFFFFF?)`);
      run('objcopy', [linked, tmp[1]], root);
    }
    tmp.forEach((t, i) => renameSync(t, g.outputs[i]));
  } finally {
    for (const t of tmp) rmSync(t, { force: true });
  }
}

// ---------------------------------------------------------------- --rom

const ROM_SIZE = 0x10000;
const ROM_STUB_ROOM = 0x400; // romboot.S's code, GDT and segment table stay below this
const MB_HEADER_MAGIC = 0x1badb002;

/**
 * The loadable segments and entry point of an ELF32 or ELF64 little-endian
 * x86 image, checked for what romboot.S can boot. Throws with a readable message.
 */
function elfLoadInfo(buf, what) {
  if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46) throw new Error(`${what}: not an ELF file`);
  const cls = buf[4];
  if ((cls !== 1 && cls !== 2) || buf[5] !== 1) throw new Error(`${what}: not a little-endian ELF32/ELF64 file`);
  const is64 = cls === 2;
  const entry = is64 ? Number(buf.readBigUInt64LE(0x18)) : buf.readUInt32LE(0x18);
  const phoff = is64 ? Number(buf.readBigUInt64LE(0x20)) : buf.readUInt32LE(0x1c);
  const phentsize = buf.readUInt16LE(is64 ? 0x36 : 0x2a);
  const phnum = buf.readUInt16LE(is64 ? 0x38 : 0x2c);
  const segments = [];
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize;
    if (o + phentsize > buf.length) throw new Error(`${what}: program header ${i} lies outside the file`);
    if (buf.readUInt32LE(o) !== 1) continue; // PT_LOAD
    const seg = is64
      ? { offset: Number(buf.readBigUInt64LE(o + 8)), paddr: Number(buf.readBigUInt64LE(o + 24)), filesz: Number(buf.readBigUInt64LE(o + 32)), memsz: Number(buf.readBigUInt64LE(o + 40)) }
      : { offset: buf.readUInt32LE(o + 4), paddr: buf.readUInt32LE(o + 12), filesz: buf.readUInt32LE(o + 16), memsz: buf.readUInt32LE(o + 20) };
    if (seg.memsz === 0) continue;
    if (seg.offset + seg.filesz > buf.length) throw new Error(`${what}: segment ${i} lies outside the file`);
    if (seg.paddr < 0x100000 || seg.paddr + seg.memsz > 0xffffffff) {
      throw new Error(`${what}: segment ${i} at 0x${seg.paddr.toString(16)} (0x${seg.memsz.toString(16)} bytes) is not between 1 MiB and 4 GiB`);
    }
    segments.push(seg);
  }
  if (segments.length === 0) throw new Error(`${what}: no loadable segments`);
  if (entry >= 2 ** 32) throw new Error(`${what}: entry point 0x${entry.toString(16)} is above 4 GiB`);
  let header = -1;
  for (let o = 0; o + 12 <= Math.min(buf.length, 8192); o += 4) {
    if (buf.readUInt32LE(o) === MB_HEADER_MAGIC && ((buf.readUInt32LE(o) + buf.readUInt32LE(o + 4) + buf.readUInt32LE(o + 8)) >>> 0) === 0) {
      header = o;
      break;
    }
  }
  if (header < 0) throw new Error(`${what}: no Multiboot header in the first 8 KiB`);
  return { entry, segments };
}

/** Wraps the Multiboot kernel ELF into a 64 KiB ROM image at out (see romboot.S). */
function buildRom(elf, out) {
  const what = rel(resolve(elf));
  const info = elfLoadInfo(readFileSync(elf), what);
  const bytes = info.segments.reduce((n, s) => n + s.filesz, 0);
  if (bytes + ROM_STUB_ROOM > ROM_SIZE - 16) {
    throw new Error(`${what}: its loadable segments hold ${bytes} bytes; the 64 KiB ROM has room for ${ROM_SIZE - 16 - ROM_STUB_ROOM}`);
  }
  const hex = (n) => `0x${n.toString(16)}`;
  const dir = join(OBJ, String(process.pid), `rom-${basename(out)}`);
  mkdirSync(dir, { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  try {
    copyFileSync(elf, join(dir, 'kernel.elf'));
    writeFileSync(
      join(dir, 'romkernel.inc'),
      [
        `# generated by scripts/build-guests.mjs --rom from ${what}`,
        `        .set KERNEL_ENTRY, ${hex(info.entry)}`,
        '        .macro KERNEL_SEGMENTS',
        ...info.segments.map((s) => `        SEGMENT ${hex(s.paddr)}, ${hex(s.memsz)}, ${hex(s.filesz)}, ${hex(s.offset)}`),
        '        .endm',
        '',
      ].join('\n'),
    );
    run('as', ['--32', '-I', dir, '-I', LIB, '-o', join(dir, 'romboot.o'), join(LIB, 'romboot.S')], root);
    run('ld', ['-m', 'elf_i386', '-T', join(LIB, 'bios.ld'), '--build-id=none', '-o', join(dir, 'rom.elf'), join(dir, 'romboot.o')], root);
    mkdirSync(dirname(out), { recursive: true });
    run('objcopy', ['-O', 'binary', join(dir, 'rom.elf'), tmp], root);
    const size = statSync(tmp).size;
    if (size !== ROM_SIZE) throw new Error(`${what}: the ROM image is ${size} bytes, not ${ROM_SIZE}`);
    renameSync(tmp, out);
  } finally {
    rmSync(tmp, { force: true });
    rmSync(dirname(dir), { recursive: true, force: true });
  }
}

function romMain(args) {
  if (args.length < 1 || args.length > 2) {
    console.error('build-guests: --rom KERNEL.elf [OUT.rom]');
    return 2;
  }
  const [elf, outArg] = args;
  const out = outArg ?? join(OUT, `${basename(elf, extname(elf))}.rom`);
  const missing = missingTools();
  if (missing.length > 0) {
    console.error(`build-guests: ${missing.map((t) => t.cmd).join(', ')} not found, needed for --rom; ${INSTALL_HINT}`);
    return 1;
  }
  try {
    buildRom(elf, out);
  } catch (e) {
    console.error(`build-guests: --rom: ${e.message}`);
    return 1;
  }
  console.log(`built    ${rel(resolve(out))}  (ROM booting ${rel(resolve(elf))})`);
  return 0;
}

function main(argv) {
  if (argv[0] === '--rom') return romMain(argv.slice(1));
  const flags = new Set(argv.filter((a) => a.startsWith('--')));
  const names = argv.filter((a) => !a.startsWith('--'));
  for (const f of flags) {
    if (!['--check', '--force', '--list'].includes(f)) {
      console.error(`build-guests: unknown option ${f} (--check, --force, --list, --rom KERNEL.elf [OUT.rom])`);
      return 2;
    }
  }
  if (flags.has('--check')) return check();

  let guests;
  try {
    guests = discover();
  } catch (e) {
    console.error(`build-guests: ${e.message}`);
    return 1;
  }
  if (names.length > 0) {
    const unknown = names.filter((n) => !guests.some((g) => g.name === n));
    if (unknown.length > 0) {
      console.error(`build-guests: no guest named ${unknown.join(', ')} (have: ${guests.map((g) => g.name).join(', ')})`);
      return 1;
    }
    guests = guests.filter((g) => names.includes(g.name));
  }
  if (flags.has('--list')) {
    for (const g of guests) console.log(`${rel(g.src)} -> ${g.outputs.map(rel).join(', ')}`);
    return 0;
  }

  const todo = guests.filter((g) => flags.has('--force') || !upToDate(g));
  if (todo.length === 0) {
    console.log(`build-guests: ${guests.length} guests up to date`);
    return 0;
  }
  const missing = missingTools();
  if (missing.length > 0) {
    // Samples are committed prebuilt: keep them rather than fail.
    const needed = todo.filter((g) => g.group !== 'sample' || !g.outputs.every((p) => existsSync(p)));
    for (const g of todo.filter((x) => !needed.includes(x))) console.warn(`kept     ${g.outputs.map(rel).join(', ')} (prebuilt; cannot rebuild without binutils)`);
    if (needed.length === 0) return 0;
    console.error(`build-guests: ${missing.map((t) => t.cmd).join(', ')} not found, needed for ${needed.map((g) => g.name).join(', ')}; ${INSTALL_HINT}`);
    return 1;
  }

  let failed = 0;
  for (const g of todo) {
    try {
      build(g);
      console.log(`built    ${g.outputs.map(rel).join(', ')}  (${rel(g.src)}${g.defsyms.length ? `, ${g.defsyms.join(' ')}` : ''})`);
    } catch (e) {
      failed++;
      console.error(`FAILED   ${g.name} (${rel(g.src)}):\n${e.message}`);
    }
  }
  console.log(`build-guests: ${todo.length - failed} built, ${guests.length - todo.length} up to date${failed ? `, ${failed} failed` : ''}`);
  return failed ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
