// Privilege rules at CPL 3 (32-bit protected mode): the TSS I/O permission
// bitmap for IN/OUT/INS/OUTS through an IoBus device, POPF/CLI/STI with IOPL,
// and #GP/#UD for privileged system instructions. Ring 0 sets up GDT, IDT and
// TSS with LGDT/LIDT/LTR; the test then puts the vCPU at CPL 3 directly.
import { describe, it, expect } from 'vitest';
import { Exit } from '../../../src/engine/x86/cpu';
import {
  assembleWithLabels, makeVm, gate32Asm, pseudo32, descriptor, concat, enterRing3, RecordingDevice,
} from '../../support/sys-harness';

const GDT = 0x2e0000, TSS = 0x2e1000, IDT = 0x2f0000, GDTR = 0x2ff000, IDTR = 0x2ff010;
const KCODE = 0x08, KDATA = 0x10, UCODE = 0x18, UDATA = 0x20, TSS_SEL = 0x28;
const TSS_LIMIT = 0x89;

function tables(): { addr: number; bytes: Uint8Array }[] {
  const gdt = concat(
    new Uint8Array(8),
    descriptor(0, 0xfffff, 0x9a, 0xc), descriptor(0, 0xfffff, 0x92, 0xc),
    descriptor(0, 0xfffff, 0xfa, 0xc), descriptor(0, 0xfffff, 0xf2, 0xc),
    descriptor(TSS, TSS_LIMIT, 0x89, 0),
  );
  const tss = new Uint8Array(TSS_LIMIT + 1);
  const dv = new DataView(tss.buffer);
  dv.setUint32(4, 0x7f000, true); // ESP0
  dv.setUint16(8, KDATA, true); // SS0
  dv.setUint16(0x66, 0x68, true); // I/O map base
  tss.fill(0xff, 0x68); // every port denied...
  tss[0x68 + 0x20] = 0xfe; // ...except 0x100
  return [
    { addr: GDT, bytes: gdt }, { addr: TSS, bytes: tss },
    { addr: GDTR, bytes: pseudo32(gdt.length - 1, GDT) }, { addr: IDTR, bytes: pseudo32(0x7ff, IDT) },
  ];
}

/** Ring-3 code blocks (labels) after a ring-0 setup; each block ends with `mov ebp, 0xd0e; hlt` (HLT faults at CPL 3). */
function setup(user: string) {
  const src = `
    lgdt [${GDTR}]
    ${gate32Asm(IDT, 6, 'ud_handler', KCODE)}
    ${gate32Asm(IDT, 13, 'gp_handler', KCODE)}
    lidt [${IDTR}]
    mov ax, ${TSS_SEL}
    ltr ax
    hlt
  ud_handler:
    mov edi, 6
    mov esi, -1
    pop ecx
    hlt
  gp_handler:
    mov edi, 13
    pop esi
    pop ecx
    hlt
  ${user}`;
  const { code, at } = assembleWithLabels(src, 'prot32');
  const vm = makeVm(code, 'prot32', { data: tables() });
  const dev = new RecordingDevice((p, size) => (size === 1 ? 0xa0 + (p & 0xf) : 0x1234));
  vm.io.register(0x80, 1, dev);
  vm.io.register(0x100, 8, dev);
  expect(vm.run()).toBe(Exit.Halted);
  expect(vm.cpu.segSel[7]).toBe(TSS_SEL);
  /** Runs block `label` at CPL 3 until the ring-0 handler halts; returns what it recorded. */
  const user3 = (label: string, flags = 0x202) => {
    vm.cpu.rflags = flags;
    vm.cpu.rl[7] = 0; // EDI: vector seen by the handler
    vm.cpu.rl[5] = 0;
    enterRing3(vm.cpu, at[label]!, UCODE, UDATA, 0x7e000);
    expect(vm.run()).toBe(Exit.Halted);
    expect(vm.cpu.cpl).toBe(0);
    return {
      vector: Number(vm.reg('rdi')), error: Number(vm.reg('rsi')) | 0, eip: Number(vm.reg('rcx')),
      completed: vm.reg('rbp') === 0xd0en,
    };
  };
  return { vm, at, dev, user3 };
}

describe('I/O permission bitmap at CPL 3', () => {
  const user = `
  io_ok:
    mov dx, 0x100
    in al, dx
    mov bl, al
    mov al, 0x5a
    out dx, al
    mov ebp, 0xd0e
    hlt
  io_denied:
    mov dx, 0x101
  f1:
    in al, dx
    mov ebp, 0xd0e
    hlt
  io_word:
    mov dx, 0x100
  f2:
    in ax, dx
    mov ebp, 0xd0e
    hlt
  io_imm:
  f3:
    out 0x80, al
    mov ebp, 0xd0e
    hlt
  io_string:
    mov dx, 0x100
    mov edi, 0x280000
    mov ecx, 3
    cld
    rep insb
    mov esi, 0x280000
    mov ecx, 2
    rep outsb
    mov ebx, ecx
    mov edx, esi
    mov ebp, 0xd0e
    hlt`;

  it('allows the port whose bit is clear', () => {
    const { user3, dev, vm } = setup(user);
    const r = user3('io_ok');
    expect(r.completed).toBe(true);
    expect(vm.reg('rbx') & 0xffn).toBe(0xa0n);
    expect(dev.log).toEqual(['in8 0x100 -> 0xa0', 'out8 0x100 <- 0x5a']);
  });

  it('denies the port whose bit is set with #GP(0), before touching the device', () => {
    const { user3, dev, at } = setup(user);
    const r = user3('io_denied');
    expect(r).toMatchObject({ vector: 13, error: 0, eip: at.f1, completed: false });
    expect(dev.log).toEqual([]);
  });

  it('checks every byte of a wider access (0x100 allowed, 0x101 denied)', () => {
    const { user3, dev, at } = setup(user);
    expect(user3('io_word')).toMatchObject({ vector: 13, eip: at.f2, completed: false });
    expect(dev.log).toEqual([]);
  });

  it('denies OUT imm8 to a port outside the allowed bit', () => {
    const { user3, at } = setup(user);
    expect(user3('io_imm')).toMatchObject({ vector: 13, eip: at.f3 });
  });

  it('IOPL = 3 allows every port without consulting the bitmap', () => {
    const { user3, dev } = setup(user);
    expect(user3('io_denied', 0x3202).completed).toBe(true);
    expect(dev.log).toEqual(['in8 0x101 -> 0xa1']);
  });

  it('REP INSB / REP OUTSB move bytes between the port and memory', () => {
    const { user3, dev, vm } = setup(user);
    expect(user3('io_string').completed).toBe(true);
    expect([...vm.mem.bytes.slice(0x280000, 0x280003)]).toEqual([0xa0, 0xa0, 0xa0]);
    expect(dev.log.slice(3)).toEqual(['out8 0x100 <- 0xa0', 'out8 0x100 <- 0xa0']);
    expect(vm.reg('rbx')).toBe(0n); // ECX counted down
    expect(vm.reg('rdx')).toBe(0x280002n); // ESI advanced
  });
});

describe('flags with privilege rules', () => {
  const user = `
  popf_user:
    pushfd
    pop eax
    and eax, 0xfffffdff    # clear IF
    or eax, 0x3401         # IOPL = 3, DF, CF
    push eax
    popfd
    pushfd
    pop ebx
    mov ebp, 0xd0e
    hlt
  cli_user:
  f_cli:
    cli
    pushfd
    pop ebx
    mov ebp, 0xd0e
    hlt
  sti_user:
    sti
    mov ebp, 0xd0e
    hlt
  stac_user:
  f_stac:
    stac
    mov ebp, 0xd0e
    hlt`;

  it('POPFD at CPL 3 with IOPL 0 changes neither IF nor IOPL, but does change CF and DF', () => {
    const { user3, vm } = setup(user);
    expect(user3('popf_user').completed).toBe(true);
    const f = Number(vm.reg('rbx'));
    expect(f & 0x200).toBe(0x200); // IF kept
    expect(f & 0x3000).toBe(0); // IOPL kept
    expect(f & 0x401).toBe(0x401); // DF, CF loaded
  });

  it('POPFD at CPL 3 with IOPL 3 may change IF but still not IOPL', () => {
    const { user3, vm } = setup(user);
    expect(user3('popf_user', 0x3202).completed).toBe(true);
    const f = Number(vm.reg('rbx'));
    expect(f & 0x200).toBe(0);
    expect(f & 0x3000).toBe(0x3000);
  });

  it('CLI at CPL 3: #GP(0) when IOPL < 3, allowed with IOPL = 3', () => {
    const { user3, vm, at } = setup(user);
    expect(user3('cli_user')).toMatchObject({ vector: 13, error: 0, eip: at.f_cli });
    expect(user3('cli_user', 0x3202).completed).toBe(true);
    expect(Number(vm.reg('rbx')) & 0x200).toBe(0);
    expect(user3('sti_user', 0x3002).completed).toBe(true);
  });

  it('STAC at CPL 3 → #UD', () => {
    const { user3, at } = setup(user);
    expect(user3('stac_user')).toMatchObject({ vector: 6, eip: at.f_stac });
  });
});

describe('privileged instructions at CPL 3', () => {
  const cases: [string, string, number][] = [
    ['MOV from CR0', 'mov eax, cr0', 13], ['MOV to CR3', 'mov cr3, eax', 13], ['MOV from DR7', 'mov eax, dr7', 13],
    ['RDMSR', 'rdmsr', 13], ['WRMSR', 'wrmsr', 13], ['WBINVD', 'wbinvd', 13], ['INVD', 'invd', 13],
    ['INVLPG', 'invlpg [0x100000]', 13], ['LGDT', `lgdt [${GDTR}]`, 13], ['LIDT', `lidt [${IDTR}]`, 13],
    ['LLDT', 'lldt ax', 13], ['LTR', 'ltr ax', 13], ['LMSW', 'lmsw ax', 13], ['CLTS', 'clts', 13],
    ['RDPMC', 'rdpmc', 13], ['CLAC', 'clac', 6], ['HLT', 'hlt', 13],
  ];
  const user = cases.map(([, insn], i) => `c${i}:\n ${insn}\n mov ebp, 0xd0e\n hlt`).join('\n');

  it.each(cases.map(([name], i) => [name, i] as const))('%s', (_name, i) => {
    const { user3, at } = setup(user);
    expect(user3(`c${i}`)).toMatchObject({ vector: cases[i]![2], eip: at[`c${i}`], completed: false });
  });

  it('RDTSC, SGDT, SIDT, SMSW, STR, SLDT and CPUID are allowed (no UMIP); RDTSC faults once CR4.TSD is set', () => {
    const { user3, vm } = setup(`
  allowed:
    rdtsc
    sgdt [0x280000]
    sidt [0x280010]
    smsw ebx
    str ecx
    sldt edx
    mov eax, 1
    cpuid
    mov ebp, 0xd0e
    hlt
  tsd:
  f_tsd:
    rdtsc
    mov ebp, 0xd0e
    hlt`);
    expect(user3('allowed').completed).toBe(true);
    expect(vm.u16(0x280000)).toBe(0x2f);
    expect(vm.u32(0x280002)).toBe(GDT);
    expect(vm.u16(0x280010)).toBe(0x7ff);
    expect(vm.u32(0x280012)).toBe(IDT);
    vm.cpu.cr4 |= 4;
    expect(user3('tsd')).toMatchObject({ vector: 13, completed: false });
  });
});
