// The extension manifest is what VS Code validates launch.json against: it
// must carry exactly the launch attributes of the contract (DESIGN.md and
// src/common/launch.ts), with matching types, defaults and enums.
import { describe, it, expect } from 'vitest';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { LAUNCH_ATTRIBUTES, parseLaunchConfig, LaunchConfigError } from '../../../src/common/launch';
import { EXCEPTION_FILTERS } from '../../../src/adapter/capabilities';

const root = join(__dirname, '../../..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const dbg = pkg.contributes.debuggers.find((d: { type: string }) => d.type === 'vmscope');
const props: Record<string, { type: string | string[]; default?: unknown; enum?: string[]; description?: string }> =
  dbg.configurationAttributes.launch.properties;

const jsonType = { string: 'string', number: 'number', boolean: 'boolean', 'string[]': 'array', address: ['string', 'number'] } as const;

describe('extension manifest', () => {
  it('declares the vmscope debugger with the adapter bundle, activation and CLI bin', () => {
    expect(dbg.program).toBe('./dist/adapter.js');
    expect(pkg.main).toBe('./dist/extension.js');
    expect(pkg.bin.vmscope).toBe('./dist/cli.js');
    expect(pkg.activationEvents).toContain('onDebugResolve:vmscope');
    expect(dbg.initialConfigurations.length).toBeGreaterThan(0);
    expect(dbg.configurationSnippets.length).toBeGreaterThan(0);
    const langs = pkg.contributes.breakpoints.map((b: { language: string }) => b.language);
    expect(langs).toEqual(expect.arrayContaining(['asm', 'c']));
  });

  it('has exactly the launch attributes of the contract, with types, defaults and descriptions', () => {
    expect(Object.keys(props).sort()).toEqual(LAUNCH_ATTRIBUTES.map((a) => a.name).sort());
    for (const a of LAUNCH_ATTRIBUTES) {
      const p = props[a.name]!;
      expect(p.type, a.name).toEqual(jsonType[a.type]);
      expect(p.default, a.name).toEqual(a.default);
      if (a.enum) expect(p.enum, a.name).toEqual(a.enum);
      expect(p.description, a.name).toBeTruthy();
    }
    expect(dbg.configurationAttributes.launch.required).toEqual(['program']);
  });

  it('matches the launch table of shared/DESIGN.md', () => {
    const design = join(root, '../shared/DESIGN.md');
    if (!existsSync(design)) {
      console.warn(`SKIPPED: ${design} is not beside this clone; the manifest is still checked against src/common/launch.ts`);
      return;
    }
    const text = readFileSync(design, 'utf8');
    const section = text.slice(text.indexOf('## Launch configuration'), text.indexOf('## Event filters'));
    const names = [...section.matchAll(/^\| `([a-zA-Z]+)`(?:, `([a-zA-Z]+)`)? \|/gm)].flatMap((m) => [m[1], m[2]].filter(Boolean));
    expect(names.sort()).toEqual(Object.keys(props).sort());
    const filterSection = text.slice(text.indexOf('## Event filters'), text.indexOf('## Trace records'));
    const filterIds = [...filterSection.matchAll(/^\| `([a-z-]+)` \|/gm)].map((m) => m[1]);
    expect(filterIds).toEqual(EXCEPTION_FILTERS.map((f) => f.filter));
  });

  it('validates launch configurations, naming the attribute at fault', () => {
    expect(parseLaunchConfig({ program: 'k.elf' })).toMatchObject({ engine: 'emulator', vmm: 'none', memory: 128, cpus: 1, stopOnEntry: false });
    expect(parseLaunchConfig({ program: 'f.bin', loadAddress: '0x100000' }).loadAddress).toBe(0x100000);
    const bad: Array<[unknown, string]> = [
      [{}, 'program'], [{ program: 'k', memory: '128' }, 'memory'], [{ program: 'k', engine: 'bochs' }, 'engine'],
      [{ program: 'k', cpus: 0 }, 'cpus'], [{ program: 'k', loadAddress: 'zz' }, 'loadAddress'],
      [{ program: 'k', engine: 'gdb' }, 'gdbServer'], [{ program: 'k', symbols: 'a.elf' }, 'symbols'],
      [{ program: 'k', stopOnEntry: 'yes' }, 'stopOnEntry'],
    ];
    for (const [cfg, attr] of bad) {
      let err: unknown;
      try { parseLaunchConfig(cfg); } catch (e) { err = e; }
      expect(err, JSON.stringify(cfg)).toBeInstanceOf(LaunchConfigError);
      expect((err as LaunchConfigError).attribute).toBe(attr);
      expect((err as Error).message).toContain(`'${attr}'`);
    }
  });
});
