// The launch configuration of DESIGN.md: one table of attributes, and the
// validation both the CLI and the debug adapter use, so a wrong value gets
// the same message (naming the attribute) wherever it comes from.

export type EngineKind = 'emulator' | 'kvm' | 'gdb';
export type VmmKind = 'none' | 'builtin';

export interface LaunchConfig {
  program: string;
  loadAddress?: number;
  entry?: number;
  engine: EngineKind;
  vmm: VmmKind;
  memory: number;
  cpus: number;
  stopOnEntry: boolean;
  cmdline: string;
  symbols: string[];
  timeTravel: boolean;
  gdbServer?: string;
}

type AttrType = 'string' | 'number' | 'boolean' | 'string[]' | 'address';

/** Every launch attribute with its JSON type and default (the manifest is tested against this). */
export const LAUNCH_ATTRIBUTES: ReadonlyArray<{ name: keyof LaunchConfig; type: AttrType; default?: unknown; enum?: readonly string[] }> = [
  { name: 'program', type: 'string' },
  { name: 'loadAddress', type: 'address' },
  { name: 'entry', type: 'address' },
  { name: 'engine', type: 'string', default: 'emulator', enum: ['emulator', 'kvm', 'gdb'] },
  { name: 'vmm', type: 'string', default: 'none', enum: ['none', 'builtin'] },
  { name: 'memory', type: 'number', default: 128 },
  { name: 'cpus', type: 'number', default: 1 },
  { name: 'stopOnEntry', type: 'boolean', default: false },
  { name: 'cmdline', type: 'string', default: '' },
  { name: 'symbols', type: 'string[]', default: [] },
  { name: 'timeTravel', type: 'boolean', default: false },
  { name: 'gdbServer', type: 'string' },
];

export class LaunchConfigError extends Error {
  override readonly name = 'LaunchConfigError';
  constructor(readonly attribute: string, message: string) {
    super(`launch attribute '${attribute}': ${message}`);
  }
}

function parseAddress(attr: string, v: unknown): number {
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v) || v < 0) throw new LaunchConfigError(attr, `expected a non-negative address, got ${v}`);
    return v;
  }
  if (typeof v === 'string' && /^(0x[0-9a-f]+|\d+)$/i.test(v.trim())) {
    const n = Number(v.trim());
    if (Number.isSafeInteger(n)) return n;
  }
  throw new LaunchConfigError(attr, `expected an address like "0x100000", got ${JSON.stringify(v)}`);
}

/** Validates an untrusted object (from launch.json or CLI flags) into a LaunchConfig. */
export function parseLaunchConfig(raw: unknown): LaunchConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new LaunchConfigError('(config)', 'expected an object');
  }
  const o = raw as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const a of LAUNCH_ATTRIBUTES) {
    const v = o[a.name];
    if (v === undefined || v === null) {
      if (a.default !== undefined) out[a.name] = Array.isArray(a.default) ? [...a.default] : a.default;
      continue;
    }
    switch (a.type) {
      case 'string':
        if (typeof v !== 'string') throw new LaunchConfigError(a.name, `expected a string, got ${typeof v}`);
        if (a.enum && !a.enum.includes(v)) throw new LaunchConfigError(a.name, `expected one of ${a.enum.map((e) => `"${e}"`).join(', ')}, got "${v}"`);
        out[a.name] = v;
        break;
      case 'number':
        if (typeof v !== 'number' || !Number.isInteger(v)) throw new LaunchConfigError(a.name, `expected an integer, got ${JSON.stringify(v)}`);
        out[a.name] = v;
        break;
      case 'boolean':
        if (typeof v !== 'boolean') throw new LaunchConfigError(a.name, `expected true or false, got ${JSON.stringify(v)}`);
        out[a.name] = v;
        break;
      case 'string[]':
        if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new LaunchConfigError(a.name, 'expected an array of file paths');
        out[a.name] = [...v];
        break;
      case 'address':
        out[a.name] = parseAddress(a.name, v);
        break;
    }
  }
  if (typeof out.program !== 'string' || out.program === '') {
    throw new LaunchConfigError('program', 'is required: the path of the guest image to run');
  }
  const mem = out.memory as number;
  if (mem < 1 || mem > 3072) throw new LaunchConfigError('memory', `must be between 1 and 3072 MiB, got ${mem}`);
  const cpus = out.cpus as number;
  if (cpus < 1 || cpus > 64) throw new LaunchConfigError('cpus', `must be between 1 and 64, got ${cpus}`);
  if (out.engine === 'gdb' && !out.gdbServer) throw new LaunchConfigError('gdbServer', 'is required with engine "gdb" (host:port of the stub)');
  if (out.vmm === 'builtin' && out.engine !== 'emulator') throw new LaunchConfigError('vmm', '"builtin" needs engine "emulator"');
  return out as unknown as LaunchConfig;
}
