// Command-line parsing for the vmscope CLI: flags map onto the launch
// attributes of DESIGN.md (validated by src/common/launch.ts), plus the
// CLI-only limits and trace options.

import { ExitCode, EXIT_CODE_TABLE } from './exit-codes';
import { TRACE_TYPES, isTraceType, type TraceType } from '../common/trace';

export const USAGE = `usage: vmscope run PROGRAM [options]
       vmscope trace PROGRAM [options]     (run with --trace all)

options:
  --engine emulator|kvm|gdb   what runs the guest (default emulator)
  --vmm none|builtin          run the program as a VMX guest under vmscope's VMM (default none)
  --memory MiB                guest RAM (default 128)
  --cpus N                    number of vCPUs (default 1)
  --cmdline STRING            Multiboot command line
  --load-address ADDR         flat binaries: load address
  --entry ADDR                flat binaries: entry address
  --trace TYPES               readable trace on stderr: ${TRACE_TYPES.join(',')} or all
  --trace-file FILE           every trace record as JSON lines
  --max-instructions N        stop after N instructions (status 10)
  --timeout SECONDS           stop after SECONDS of wall-clock time (status 10)
  --stats                     print instruction count and speed on stderr

exit status:
${EXIT_CODE_TABLE.map(([c, d]) => `  ${String(c).padStart(2)}  ${d}`).join('\n')}
`;

export class UsageError extends Error {
  constructor(message: string, readonly showUsage = false, readonly exitCode: number = ExitCode.Usage) { super(message); }
}

export interface CliArgs {
  command: 'run' | 'help' | 'version';
  config: Record<string, unknown>;
  trace: Set<TraceType>;
  traceFile?: string;
  maxInstructions?: number;
  timeoutSeconds?: number;
  stats: boolean;
}

function positiveInt(flag: string, v: string): number {
  if (!/^\d+$/.test(v)) throw new UsageError(`${flag} expects a positive integer, got "${v}"`);
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n <= 0) throw new UsageError(`${flag} expects a positive integer, got "${v}"`);
  return n;
}

export function parseArgs(argv: string[]): CliArgs {
  const out: CliArgs = { command: 'run', config: {}, trace: new Set(), stats: false };
  const [cmd, ...rest] = argv;
  if (cmd === undefined) throw new UsageError('missing command', true);
  if (cmd === '--help' || cmd === '-h' || cmd === 'help') return { ...out, command: 'help' };
  if (cmd === '--version' || cmd === 'version') return { ...out, command: 'version' };
  if (cmd !== 'run' && cmd !== 'trace') throw new UsageError(`unknown command "${cmd}"`, true);
  if (cmd === 'trace') for (const t of TRACE_TYPES) out.trace.add(t);

  let program: string | undefined;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    const value = (): string => {
      const v = rest[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      return v;
    };
    switch (a) {
      case '--engine': out.config.engine = value(); break;
      case '--vmm': out.config.vmm = value(); break;
      case '--memory': out.config.memory = positiveInt(a, value()); break;
      case '--cpus': out.config.cpus = positiveInt(a, value()); break;
      case '--cmdline': out.config.cmdline = value(); break;
      case '--load-address': out.config.loadAddress = value(); break;
      case '--entry': out.config.entry = value(); break;
      case '--trace': {
        for (const t of value().split(',').map((s) => s.trim()).filter(Boolean)) {
          if (t === 'all') { for (const x of TRACE_TYPES) out.trace.add(x); continue; }
          if (!isTraceType(t)) throw new UsageError(`--trace: unknown record type "${t}" (known: ${TRACE_TYPES.join(', ')}, all)`);
          out.trace.add(t);
        }
        break;
      }
      case '--trace-file': out.traceFile = value(); break;
      case '--max-instructions': out.maxInstructions = positiveInt(a, value()); break;
      case '--timeout': {
        const v = value();
        const n = Number(v);
        if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--timeout expects a positive number of seconds, got "${v}"`);
        out.timeoutSeconds = n;
        break;
      }
      case '--stats': out.stats = true; break;
      case '--help': case '-h': return { ...out, command: 'help' };
      default:
        if (a.startsWith('-')) throw new UsageError(`unknown option "${a}"`, true);
        if (program !== undefined) throw new UsageError(`unexpected argument "${a}" (the program is already "${program}")`);
        program = a;
    }
  }
  if (program === undefined) throw new UsageError('missing PROGRAM (the guest image to run)', true);
  out.config.program = program;
  return out;
}
