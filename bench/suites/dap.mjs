// Suite "dap": the debugger's single-step round trip through a real stdio
// connection to dist/adapter.js (what VS Code does on every "step
// instruction"), timed from the client's side.
//
// As test/adapter/helpers.ts does: @vscode/debugadapter-testsupport's
// DebugClient spawns `node dist/adapter.js`, then initialize + launch
// samples/hello/hello.elf with stopOnEntry + configurationDone. One round
// trip is
//   stepIn {granularity: 'instruction'} → the stopped event → stackTrace →
//   scopes (top frame) → variables of the first scope (General registers),
// timed with hrtime from sending stepIn to the variables response. WARMUP
// uncounted round trips first (JIT), then STEPS counted ones. When the guest
// ends (exited/terminated instead of stopped) the session is relaunched and
// counting continues; relaunch time is not counted. hello runs ~6,900
// instructions, so one launch normally covers all of them.
// Reported: median and p99 of the round trips, and steps/s = counted round
// trips / their summed time. Needs `npm run build` (dist/adapter.js).

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import { median } from './guests.mjs';

const STEPS = 1000;
const WARMUP = 50;
const TARGET_MS = 2; // issue target for the median

const percentile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};

/** The next 'stopped', 'exited' or 'terminated' event of dc, whichever comes first (no timeout of its own). */
function nextStopOrEnd(dc) {
  return new Promise((resolve) => {
    const names = ['stopped', 'terminated', 'exited'];
    const handlers = names.map((name) => {
      const h = (e) => { names.forEach((n, i) => dc.removeListener(n, handlers[i])); resolve({ name, event: e }); };
      dc.on(name, h);
      return h;
    });
  });
}

async function launch(adapter, program) {
  const dc = new DebugClient('node', adapter, 'vmscope');
  dc.defaultTimeout = 15_000;
  await dc.start();
  const first = nextStopOrEnd(dc);
  await Promise.all([
    dc.waitForEvent('initialized').then(() => dc.configurationDoneRequest()),
    dc.launch({ program, stopOnEntry: true, memory: 16 }),
  ]);
  const r = await first;
  if (r.name !== 'stopped') throw new Error(`launch of ${program} did not stop on entry (${r.name})`);
  return dc;
}

/** One round trip; its time in ms, or null when the guest ended instead of stopping. */
async function roundTrip(dc) {
  const t0 = process.hrtime.bigint();
  const stop = nextStopOrEnd(dc);
  await dc.stepInRequest({ threadId: 1, granularity: 'instruction' });
  const r = await stop;
  if (r.name !== 'stopped') return null;
  const st = await dc.stackTraceRequest({ threadId: 1 });
  const scopes = await dc.scopesRequest({ frameId: st.body.stackFrames[0].id });
  const vars = await dc.variablesRequest({ variablesReference: scopes.body.scopes[0].variablesReference });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (vars.body.variables.length === 0) throw new Error('the first scope has no variables');
  return ms;
}

async function close(dc) {
  try { await dc.disconnectRequest({}); } catch { /* the adapter may already be gone */ }
  await dc.stop();
}

export default {
  name: 'dap',
  description: 'DAP step round trip over stdio to dist/adapter.js (stepIn → stopped → stackTrace → scopes → variables)',
  async run(ctx) {
    const workload = 'hello';
    const { only } = ctx.options;
    if (only.length > 0 && !only.includes('dap') && !only.includes(workload)) {
      return { method: ['(workload hello not asked for)'], columns: ['workload', 'notes'], rows: [], results: [], failed: false };
    }
    const adapter = join(ctx.root, 'dist/adapter.js');
    const program = join(ctx.root, 'samples/hello/hello.elf');
    if (!existsSync(adapter)) throw new Error('dist/adapter.js missing: run `npm run build` first');

    const times = [];
    let launches = 0;
    let warm = 0;
    let dc = await launch(adapter, program); launches++;
    try {
      while (times.length < STEPS) {
        const ms = await roundTrip(dc);
        if (ms === null) {
          await close(dc);
          if (times.length === 0 && warm === 0) throw new Error('the guest ended on its first step');
          dc = await launch(adapter, program); launches++;
          continue;
        }
        if (warm < WARMUP) warm++;
        else times.push(ms);
      }
    } finally {
      await close(dc);
    }

    const med = median(times);
    const p99 = percentile(times, 99);
    const total = times.reduce((a, b) => a + b, 0);
    const stepsPerSecond = times.length / (total / 1000);
    const meets = med < TARGET_MS;
    const notes = `${times.length} steps (+${WARMUP} warm-up), ${launches} launch${launches > 1 ? 'es' : ''}; median ${meets ? 'meets' : 'misses'} target < ${TARGET_MS} ms`;
    return {
      columns: ['workload', 'median ms', 'p99 ms', 'steps/s', 'notes'],
      rows: [[workload, med.toFixed(3), p99.toFixed(3), stepsPerSecond.toFixed(0), notes]],
      method: [
        `dap: DebugClient (@vscode/debugadapter-testsupport) spawning node dist/adapter.js over stdio; launch samples/hello/hello.elf stopOnEntry;`,
        `  one step = stepIn {granularity: instruction} → stopped event → stackTrace → scopes → variables of the first scope (General registers),`,
        `  hrtime from sending stepIn to the variables response; ${WARMUP} uncounted warm-up steps, then ${STEPS} counted; relaunch when the guest ends (not timed).`,
        `  steps/s = counted steps / their summed round-trip time. Issue target: median < ${TARGET_MS} ms.`,
      ],
      results: [{
        workload, program: 'samples/hello/hello.elf', steps: times.length, warmup: WARMUP, launches,
        medianMs: med, p99Ms: p99, meanMs: total / times.length, minMs: Math.min(...times), maxMs: Math.max(...times),
        stepsPerSecond, targetMedianMs: TARGET_MS, meetsTarget: meets, timesMs: times,
      }],
      failed: false,
    };
  },
};
