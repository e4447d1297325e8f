// String instructions (exec/string.ts): MOVS, CMPS, SCAS, LODS, STOS at every
// size with REP/REPE/REPNE, DF, address-size overrides, segment overrides on
// the source; REP interruptibility (chunks of REP_CHUNK iterations, one per
// single-step), faults in the middle leaving the progress in RCX/RSI/RDI, and
// 16-bit wrap-around in real mode. Table expectations were recorded under
// QEMU 7.2 TCG.
import { describe, it, expect } from 'vitest';
import { observe, expectedOf, runInt, DATA_ADDR, CODE_ADDR, CODE_START_OFFSET, type IntCase } from '../../support/int-harness';
import { Exit } from '../../../src/engine/x86/cpu';
import { REP_CHUNK } from '../../../src/engine/x86/exec/string';
import { ES, FS } from '../../../src/engine/x86/regs';

const cases: IntCase[] = [
  { name: "movsb", code: "movsb", regs: { rsi: 'scratch', rdi: 'scratch+32', rcx: 0x5n }, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c61860b30557a9fc4e90e5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a', expect: { regs: { rax: 0x0n, rcx: 0x5n, rsi: 'scratch+1', rdi: 'scratch+33' }, flags: 0x0, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c61860b30557a9fc4e90e5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a' } },
  { name: "movsq backwards (DF=1)", code: "movsq", regs: { rsi: 'scratch+8', rdi: 'scratch+40' }, flags: 0x400, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c61860b30557a9fc4e90e5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a', expect: { regs: { rax: 0x0n, rcx: 0x0n, rsi: 'scratch+0', rdi: 'scratch+32' }, flags: 0x400, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c61860b30557a9fc4e90e33587da2c7ec11365a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a' } },
  { name: "rep movsb", code: "rep movsb", regs: { rsi: 'scratch', rdi: 'scratch+32', rcx: 0x7n }, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c61860b30557a9fc4e90e5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a', expect: { regs: { rax: 0x0n, rcx: 0x0n, rsi: 'scratch+7', rdi: 'scratch+39' }, flags: 0x0, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c61860b30557a9fc4e90e5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a' } },
  { name: "rep movsd, count 0: nothing changes", code: "rep movsd", regs: { rsi: 'scratch', rdi: 'scratch+32', rcx: 0x0n }, flags: 0x8d5, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c61860b30557a9fc4e90e5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a', expect: { regs: { rax: 0x0n, rcx: 0x0n, rsi: 'scratch+0', rdi: 'scratch+32' }, flags: 0x8d5, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c61860b30557a9fc4e90e5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a' } },
  { name: "rep movsw backwards", code: "rep movsw", regs: { rsi: 'scratch+14', rdi: 'scratch+46', rcx: 0x4n }, flags: 0x400, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c61860b30557a9fc4e90e5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a', expect: { regs: { rax: 0x0n, rcx: 0x0n, rsi: 'scratch+6', rdi: 'scratch+38' }, flags: 0x400, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c61860b30557a9fc4e90e33587da2c7ec11365a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a' } },
  { name: "rep movsb overlapping forward copy", code: "rep movsb", regs: { rsi: 'scratch', rdi: 'scratch+1', rcx: 0x14n }, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c61860b30557a9fc4e90e5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a', expect: { regs: { rax: 0x0n, rcx: 0x0n, rsi: 'scratch+20', rdi: 'scratch+21' }, flags: 0x0, mem: '0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b14395e83a8cdf2173c61860b30557a9fc4e90e5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a' } },
  { name: "repne movsb repeats like rep", code: "repne movsb", regs: { rsi: 'scratch', rdi: 'scratch+32', rcx: 0x3n }, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c61860b30557a9fc4e90e5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a', expect: { regs: { rax: 0x0n, rcx: 0x0n, rsi: 'scratch+3', rdi: 'scratch+35' }, flags: 0x0, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c61860b30557a9fc4e90e5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a' } },
  { name: "rep stosq", code: "rep stosq", regs: { rsi: 'scratch', rdi: 'scratch+32', rax: 0x1122334455667788n, rcx: 0x3n }, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c61860b30557a9fc4e90e5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a', expect: { regs: { rax: 0x1122334455667788n, rcx: 0x0n, rsi: 'scratch+0', rdi: 'scratch+56' }, flags: 0x0, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c61868877665544332211887766554433221188776655443322115a5a5a5a5a5a5a5a' } },
  { name: "rep stosd writes EAX", code: "rep stosd", regs: { rsi: 'scratch', rdi: 'scratch+32', rax: 0x1122334455667788n, rcx: 0x2n }, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c61860b30557a9fc4e90e5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a', expect: { regs: { rax: 0x1122334455667788n, rcx: 0x0n, rsi: 'scratch+0', rdi: 'scratch+40' }, flags: 0x0, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c618688776655887766555a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a' } },
  { name: "stosw backwards", code: "stosw", regs: { rsi: 'scratch', rdi: 'scratch+32', rax: 0xbeefn }, flags: 0x400, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c61860b30557a9fc4e90e5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a', expect: { regs: { rax: 0xbeefn, rcx: 0x0n, rsi: 'scratch+0', rdi: 'scratch+30' }, flags: 0x400, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186efbe557a9fc4e90e5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a' } },
  { name: "lodsb keeps the rest of RAX", code: "lodsb", regs: { rsi: 'scratch', rdi: 'scratch+32', rax: 0x1122334455667788n }, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c61860b30557a9fc4e90e5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a', expect: { regs: { rax: 0x112233445566770bn, rcx: 0x0n, rsi: 'scratch+1', rdi: 'scratch+32' }, flags: 0x0, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c61860b30557a9fc4e90e5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a' } },
  { name: "lodsd zero-extends", code: "lodsd", regs: { rsi: 'scratch', rdi: 'scratch+32', rax: 0x1122334455667788n }, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c61860b30557a9fc4e90e5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a', expect: { regs: { rax: 0x7a55300bn, rcx: 0x0n, rsi: 'scratch+4', rdi: 'scratch+32' }, flags: 0x0, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c61860b30557a9fc4e90e5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a' } },
  { name: "rep lodsq: last element stays", code: "rep lodsq", regs: { rsi: 'scratch', rdi: 'scratch+32', rcx: 0x3n }, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c61860b30557a9fc4e90e5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a', expect: { regs: { rax: 0x5e3914efcaa5805bn, rcx: 0x0n, rsi: 'scratch+24', rdi: 'scratch+32' }, flags: 0x0, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c61860b30557a9fc4e90e5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a' } },
  { name: "cmpsb: flags of [rsi] - [rdi]", code: "cmpsb", regs: { rsi: 'scratch', rdi: 'scratch+32', rcx: 0x0n }, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c61860b30557a9fc4e90e5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a', expect: { regs: { rax: 0x0n, rcx: 0x0n, rsi: 'scratch+1', rdi: 'scratch+33' }, flags: 0x44, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c61860b30557a9fc4e90e5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a' } },
  { name: "repe cmpsb stops after the first difference", code: "repe cmpsb", regs: { rsi: 'scratch', rdi: 'scratch+32', rcx: 0x14n }, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c61860b30557a9fc4e90e5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a', expect: { regs: { rax: 0x0n, rcx: 0xbn, rsi: 'scratch+9', rdi: 'scratch+41' }, flags: 0x91, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c61860b30557a9fc4e90e5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a' } },
  { name: "repe cmpsd runs out the count on equal data", code: "repe cmpsd", regs: { rsi: 'scratch', rdi: 'scratch+32', rcx: 0x2n }, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c61860b30557a9fc4e90e5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a', expect: { regs: { rax: 0x0n, rcx: 0x0n, rsi: 'scratch+8', rdi: 'scratch+40' }, flags: 0x44, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c61860b30557a9fc4e90e5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a' } },
  { name: "repne cmpsb stops at the first equal pair", code: "repne cmpsb", regs: { rsi: 'scratch+1', rdi: 'scratch+32', rcx: 0xan }, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c61860b30557a9fc4e90e5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a', expect: { regs: { rax: 0x0n, rcx: 0x0n, rsi: 'scratch+11', rdi: 'scratch+42' }, flags: 0x0, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c61860b30557a9fc4e90e5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a' } },
  { name: "repe cmpsq count 0 keeps flags", code: "repe cmpsq", regs: { rsi: 'scratch', rdi: 'scratch+32', rcx: 0x0n }, flags: 0x8d5, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c61860b30557a9fc4e90e5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a', expect: { regs: { rax: 0x0n, rcx: 0x0n, rsi: 'scratch+0', rdi: 'scratch+32' }, flags: 0x8d5, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c61860b30557a9fc4e90e5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a' } },
  { name: "scasw", code: "scasw", regs: { rsi: 'scratch', rdi: 'scratch+32', rax: 0x7730n }, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c61860b30557a9fc4e90e5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a', expect: { regs: { rax: 0x7730n, rcx: 0x0n, rsi: 'scratch+0', rdi: 'scratch+34' }, flags: 0x10, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c61860b30557a9fc4e90e5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a' } },
  { name: "repne scasb finds a byte", code: "repne scasb", regs: { rsi: 'scratch', rdi: 'scratch', rcx: 0x40n, rax: 0x9fn }, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c61860b30557a9fc4e90e5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a', expect: { regs: { rax: 0x9fn, rcx: 0x3bn, rsi: 'scratch+0', rdi: 'scratch+5' }, flags: 0x44, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c61860b30557a9fc4e90e5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a' } },
  { name: "repne scasb runs out", code: "repne scasb", regs: { rsi: 'scratch', rdi: 'scratch', rcx: 0x8n, rax: 0x1n }, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c61860b30557a9fc4e90e5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a', expect: { regs: { rax: 0x1n, rcx: 0x0n, rsi: 'scratch+0', rdi: 'scratch+8' }, flags: 0x95, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c61860b30557a9fc4e90e5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a' } },
  { name: "repe scasd", code: "repe scasd", regs: { rsi: 'scratch', rdi: 'scratch+40', rcx: 0x8n, rax: 0x5a5a5a5an }, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c61860b30557a9fc4e90e5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a', expect: { regs: { rax: 0x5a5a5a5an, rcx: 0x1n, rsi: 'scratch+0', rdi: 'scratch+68' }, flags: 0x4, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c61860b30557a9fc4e90e5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a' } },
  { name: "repe scasq backwards", code: "repe scasq", regs: { rsi: 'scratch', rdi: 'scratch+56', rcx: 0x4n, rax: 0x5a5a5a5a5a5a5a5an }, flags: 0x400, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c61860b30557a9fc4e90e5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a', expect: { regs: { rax: 0x5a5a5a5a5a5a5a5an, rcx: 0x0n, rsi: 'scratch+0', rdi: 'scratch+24' }, flags: 0x410, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c61860b30557a9fc4e90e5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a' } },
  { name: "67h: rep movsb uses ECX/ESI/EDI and clears their upper halves", code: ".byte 0x67\nrep movsb", regs: { rsi: 'scratch', rdi: 'scratch+32', rcx: 0xffff000000000003n }, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c61860b30557a9fc4e90e5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a', expect: { regs: { rax: 0x0n, rcx: 0x0n, rsi: 'scratch+3', rdi: 'scratch+35' }, flags: 0x0, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c61860b30557a9fc4e90e5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a' } },
  { name: "67h: repne scasb", code: ".byte 0x67\nrepne scasb", regs: { rsi: 'scratch', rdi: 'scratch', rcx: 0xffff000000000010n, rax: 0x7an }, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c61860b30557a9fc4e90e5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a', expect: { regs: { rax: 0x7an, rcx: 0xcn, rsi: 'scratch+0', rdi: 'scratch+4' }, flags: 0x44, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c61860b30557a9fc4e90e5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a' } },
  { name: "fs override on the source", code: "rep lods al, byte ptr fs:[rsi]", regs: { rsi: 'scratch', rdi: 'scratch+32', rcx: 0x3n }, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c61860b30557a9fc4e90e5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a', expect: { regs: { rax: 0x55n, rcx: 0x0n, rsi: 'scratch+3', rdi: 'scratch+32' }, flags: 0x0, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c61860b30557a9fc4e90e5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a' } },
  { name: "32-bit mode: rep movsd", mode: 'prot32', code: "rep movsd", regs: { rsi: 'scratch', rdi: 'scratch+32', rcx: 0x5n }, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c61860b30557a9fc4e90e5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a', expect: { regs: { rax: 0x0n, rcx: 0x0n, rsi: 'scratch+20', rdi: 'scratch+52' }, flags: 0x0, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c61860b30557a9fc4e90e33587da2c7ec11365b80a5ca5a5a5a5a5a5a5a5a5a5a5a5a' } },
  { name: "32-bit mode: repe cmpsb", mode: 'prot32', code: "repe cmpsb", regs: { rsi: 'scratch', rdi: 'scratch+32', rcx: 0x9n }, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c61860b30557a9fc4e90e5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a', expect: { regs: { rax: 0x0n, rcx: 0x0n, rsi: 'scratch+9', rdi: 'scratch+41' }, flags: 0x91, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c61860b30557a9fc4e90e5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a' } },
  { name: "32-bit mode: rep stosw", mode: 'prot32', code: "rep stosw", regs: { rsi: 'scratch', rdi: 'scratch+32', rcx: 0x3n, rax: 0xabcdn }, flags: 0x400, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c61860b30557a9fc4e90e5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a', expect: { regs: { rax: 0xabcdn, rcx: 0x0n, rsi: 'scratch+0', rdi: 'scratch+26' }, flags: 0x400, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2cdabcdabcdab557a9fc4e90e5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a' } },
  { name: "32-bit mode: .byte 0x67 rep movsb", mode: 'prot32', code: ".byte 0x67\nrep movsb", regs: { rsi: 'scratch', rdi: 'scratch+32', rcx: 0x10003n }, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c61860b30557a9fc4e90e5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a', expect: { regs: { rax: 0x0n, rcx: 0x10000n, rsi: 'scratch+3', rdi: 'scratch+35' }, flags: 0x0, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c61860b30557a9fc4e90e5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a' } },
];

describe('string instructions', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    expect(observe(c)).toEqual(expectedOf(c));
  });

  it('splits a long REP into resumable chunks, each counted as one instruction', () => {
    const n = 10000;
    const src = `mov al, 0xab\nrep stosb\nhlt`;
    // Three instructions: the harness's JMP over its stubs, MOV, then one chunk of the REP; RIP stays on the REP.
    const part = runInt(src, 'long64', { regs: { rdi: BigInt(DATA_ADDR), rcx: BigInt(n) }, limit: 3 });
    expect(part.exit).toBe(Exit.Budget);
    expect(part.cpu.icount).toBe(3);
    expect(BigInt(part.cpu.rip)).toBe(BigInt(part.codeStart + 2));
    expect(part.reg('rcx')).toBe(BigInt(n - REP_CHUNK));
    expect(part.reg('rdi')).toBe(BigInt(DATA_ADDR + REP_CHUNK));
    expect(part.mem(DATA_ADDR + REP_CHUNK - 1, 2)).toEqual(Uint8Array.of(0xab, 0));
    // To the end: JMP + MOV + ceil(n / chunk) REP executions + HLT.
    const all = runInt(src, 'long64', { regs: { rdi: BigInt(DATA_ADDR), rcx: BigInt(n) } });
    expect(all.exit).toBe(Exit.Halted);
    expect(all.cpu.icount).toBe(2 + Math.ceil(n / REP_CHUNK) + 1);
    expect(all.reg('rcx')).toBe(0n);
    expect(all.mem(DATA_ADDR, n + 1).every((b, i) => b === (i < n ? 0xab : 0))).toBe(true);
  });

  it('resumes chunked REPs correctly inside hot (JIT-fused) loops', () => {
    const pattern = Uint8Array.from({ length: 10000 }, (_, i) => (i * 7 + 3) & 0xff);
    const r = runInt(`
      mov r8, 40
    1:
      mov rsi, ${DATA_ADDR}
      mov rdi, ${DATA_ADDR + 0x10000}
      mov rcx, 10000
      rep movsb
      inc byte ptr [${DATA_ADDR}]
      dec r8
      jnz 1b
      hlt`, 'long64', { data: [{ addr: DATA_ADDR, bytes: pattern }] });
    expect(r.exit).toBe(Exit.Halted);
    const want = pattern.slice();
    want[0] = (want[0]! + 39) & 0xff; // copied before the 40th increment
    expect(r.mem(DATA_ADDR + 0x10000, 10000)).toEqual(want);
    expect(r.reg('rsi')).toBe(BigInt(DATA_ADDR + 10000));
    // JMP + MOV, then per iteration 3 MOVs, 3 REP chunks, INC, DEC, JNZ; then HLT.
    expect(r.cpu.icount).toBe(2 + 40 * 9 + 1);
  });

  it('takes an interrupt between chunks and resumes the REP afterwards', () => {
    const n = 10000;
    let delivered = false;
    const r = runInt('rep stosb\nhlt', 'long64', {
      regs: { rdi: BigInt(DATA_ADDR), rcx: BigInt(n), rax: 0xcdn }, flags: 0x200,
      setup: (cpu) => {
        // An external interrupt (vector 5 here, any gate will do) becomes pending once the first chunk ran.
        cpu.lines = {
          hasInterrupt: () => !delivered && cpu.icount >= 2,
          acknowledgeInterrupt: () => { delivered = true; return 5; },
          takeNmi: () => false,
          hasNmi: () => false,
        };
      },
    });
    expect(r.vector).toBe(5);
    expect(r.faultRip).toBe(BigInt(r.codeStart)); // the interrupted REP is where IRET resumes
    expect(r.reg('rcx')).toBe(BigInt(n - REP_CHUNK));
  });

  it('single-steps a REP one iteration at a time (TF)', () => {
    const r = runInt('rep movsb\nhlt', 'long64', {
      regs: { rsi: BigInt(DATA_ADDR), rdi: BigInt(DATA_ADDR + 64), rcx: 3n }, flags: 0x100,
      setup: (cpu) => { cpu.rip = CODE_ADDR + CODE_START_OFFSET; }, // start at the REP, TF already set
    });
    expect(r.vector).toBe(1); // #DB trap after the first iteration
    expect(r.faultRip).toBe(BigInt(r.codeStart)); // returns to the REP itself
    expect(r.reg('rcx')).toBe(2n);
    expect(r.reg('rsi')).toBe(BigInt(DATA_ADDR + 1));
  });

  it('leaves the completed progress in ECX/EDI when a fault stops it midway', () => {
    // ES limit ends 16 bytes after EDI: four dwords fit, the fifth faults (#GP(0)).
    const r = runInt('rep stosd\nhlt', 'prot32', {
      regs: { rdi: BigInt(DATA_ADDR + 0xff0), rcx: 8n, rax: 0x11223344n },
      setup: (cpu) => cpu.setSegment(ES, cpu.segSel[ES]!, 0, DATA_ADDR + 0xfff, cpu.segAttr[ES]!),
    });
    expect(r.vector).toBe(13);
    expect(r.faultRip).toBe(BigInt(r.codeStart));
    expect(r.reg('rcx')).toBe(4n);
    expect(r.reg('rdi')).toBe(BigInt(DATA_ADDR + 0x1000));
    expect(r.mem(DATA_ADDR + 0xffc, 4)).toEqual(Uint8Array.of(0x44, 0x33, 0x22, 0x11));
  });

  it('reads the source through a segment override and its base (32-bit mode)', () => {
    const r = runInt('rep movs byte ptr es:[edi], byte ptr fs:[esi]\nhlt', 'prot32', {
      regs: { rsi: 0x10n, rdi: BigInt(DATA_ADDR + 0x100), rcx: 4n },
      data: [{ addr: DATA_ADDR + 0x10, bytes: Uint8Array.of(1, 2, 3, 4) }],
      setup: (cpu) => cpu.setSegment(FS, cpu.segSel[FS]!, DATA_ADDR, 0xffff, cpu.segAttr[FS]!),
    });
    expect(r.vector).toBe(-1);
    expect(r.mem(DATA_ADDR + 0x100, 4)).toEqual(Uint8Array.of(1, 2, 3, 4));
  });

  it('wraps 16-bit SI/DI and keeps their upper halves in real mode', () => {
    // DS = ES = 0: copy 4 bytes from 0:FFFE (wrapping to 0:0001) to 0:8000.
    const r = runInt('rep movsb\nhlt', 'real', {
      regs: { rsi: 0x1234_fffen, rdi: 0x5678_8000n, rcx: 0x9abc_0004n },
      data: [{ addr: 0xfffe, bytes: Uint8Array.of(0xa1, 0xa2) }],
      setup: (cpu) => { cpu.mem.write8(0, 0xa3); cpu.mem.write8(1, 0xa4); },
    });
    expect(r.reg('rsi')).toBe(0x1234_0002n);
    expect(r.reg('rdi')).toBe(0x5678_8004n);
    expect(r.reg('rcx')).toBe(0x9abc_0000n);
    expect(r.mem(0x8000, 4)).toEqual(Uint8Array.of(0xa1, 0xa2, 0xa3, 0xa4));
  });
});
