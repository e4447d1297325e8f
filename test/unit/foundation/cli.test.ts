// The CLI as a user runs it: the built dist/cli.js in a child process.
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const cli = join(__dirname, '../../../dist/cli.js');
const tmp = mkdtempSync(join(tmpdir(), 'vmscope-cli-'));

function run(args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('vmscope CLI', () => {
  it('rejects a missing image with a one-line reason and status 4', () => {
    const r = run(['run', join(tmp, 'nope.elf')]);
    expect(r.status).toBe(4);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^vmscope: bad image: cannot read image .*nope\.elf: ENOENT/);
  });

  it('rejects a malformed ELF with a one-line reason naming the problem', () => {
    const f = join(tmp, 'bad.elf');
    const b = Buffer.alloc(64);
    b.write('\x7fELF', 0, 'latin1');
    b[4] = 2; b[5] = 1; b[6] = 1; b.writeUInt16LE(2, 16); b.writeUInt16LE(62, 18);
    b.writeUInt32LE(1, 20); b.writeBigUInt64LE(0x1000n, 32); b.writeUInt16LE(56, 54); b.writeUInt16LE(3, 56);
    writeFileSync(f, b);
    const r = run(['run', f]);
    expect(r.status).toBe(4);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^vmscope: bad image: .*program header/i);
  });

  it('rejects an empty file and a flat binary without a load address', () => {
    const empty = join(tmp, 'empty.bin');
    writeFileSync(empty, Buffer.alloc(0));
    expect(run(['run', empty])).toMatchObject({ status: 4 });
    const flat = join(tmp, 'flat.bin');
    writeFileSync(flat, Buffer.from([0xf4]));
    const r = run(['run', flat]);
    expect(r.status).toBe(4);
    expect(r.stderr).toMatch(/loadAddress|load address/i);
  });

  it('reports usage errors with status 2', () => {
    expect(run([]).status).toBe(2);
    expect(run(['run']).stderr).toMatch(/missing PROGRAM/);
    const r = run(['run', 'x.elf', '--memory', 'lots']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--memory expects a positive integer/);
    expect(run(['run', 'x.elf', '--trace', 'bogus']).stderr).toMatch(/unknown record type "bogus"/);
    expect(run(['run', 'x.elf', '--engine', 'bochs']).stderr).toMatch(/launch attribute 'engine'/);
  });

  it('prints usage with exit statuses on --help', () => {
    const r = run(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/usage: vmscope run PROGRAM/);
    expect(r.stdout).toMatch(/debug-exit port 0xF4/);
  });

  it('runs a flat binary and stops at the instruction limit with status 10', () => {
    const f = join(tmp, 'spin.bin');
    writeFileSync(f, Buffer.from([0xeb, 0xfe])); // jmp $
    const r = run(['run', f, '--load-address', '0x100000', '--max-instructions', '1000']);
    expect(r.stderr).toMatch(/instruction limit reached \(1000 instructions\) at rip 0x100000/);
    expect(r.status).toBe(10);
  });
});
