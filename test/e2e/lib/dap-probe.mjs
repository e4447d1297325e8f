// Asks the built debug adapter (dist/adapter.js, the same code the extension
// runs inline) over DAP whether it can stop on a VM exit by reason: launch a
// guest stopped on entry, send the "VM exit" filter with a condition naming
// an exit reason, and read whether the adapter verified it. Exit-reason names
// are accepted only when the backend has the VMX exit-reason table, so this is
// how the e2e run decides whether the VMX scenario can run yet, and the
// adapter's own message is the reason printed when it cannot.

import { spawn } from 'node:child_process';

class DapClient {
  constructor(child) {
    this.child = child;
    this.seq = 1;
    this.pending = new Map();
    this.events = [];
    this.waiters = [];
    let buf = Buffer.alloc(0);
    child.stdout.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const head = buf.indexOf('\r\n\r\n');
        if (head < 0) return;
        const len = Number(/Content-Length: (\d+)/i.exec(buf.subarray(0, head).toString())?.[1]);
        if (buf.length < head + 4 + len) return;
        const msg = JSON.parse(buf.subarray(head + 4, head + 4 + len).toString());
        buf = buf.subarray(head + 4 + len);
        this.onMessage(msg);
      }
    });
  }

  onMessage(msg) {
    if (msg.type === 'response') {
      const p = this.pending.get(msg.request_seq);
      this.pending.delete(msg.request_seq);
      p?.(msg);
    } else if (msg.type === 'event') {
      this.events.push(msg);
      for (const w of [...this.waiters]) if (w.match(msg)) { this.waiters.splice(this.waiters.indexOf(w), 1); w.resolve(msg); }
    }
  }

  request(command, args, timeoutMs = 20_000) {
    const seq = this.seq++;
    const body = JSON.stringify({ seq, type: 'request', command, arguments: args });
    this.child.stdin.write(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`DAP ${command}: no response in ${timeoutMs / 1000} s`)), timeoutMs);
      this.pending.set(seq, (m) => { clearTimeout(t); resolve(m); });
    });
  }

  event(name, timeoutMs = 20_000) {
    const seen = this.events.find((e) => e.event === name);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`DAP: no "${name}" event in ${timeoutMs / 1000} s`)), timeoutMs);
      this.waiters.push({ match: (e) => e.event === name, resolve: (e) => { clearTimeout(t); resolve(e); } });
    });
  }
}

/**
 * Whether the adapter accepts `condition` on the "vmexit" filter for `program`.
 * Resolves { ok: true } or { ok: false, reason }; never throws.
 */
export async function probeVmExitFilter({ adapter, program, condition, nodeBin = process.execPath }) {
  const child = spawn(nodeBin, [adapter], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const dap = new DapClient(child);
  try {
    const init = await dap.request('initialize', { adapterID: 'vmscope', clientID: 'vmscope-e2e', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
    if (!init.success) return { ok: false, reason: `the adapter refused initialize: ${init.message}` };
    const filters = init.body?.exceptionBreakpointFilters ?? [];
    if (!filters.some((f) => f.filter === 'vmexit' && f.supportsCondition)) {
      return { ok: false, reason: 'the adapter does not advertise the "vmexit" exception filter with a condition' };
    }
    const launched = dap.request('launch', { type: 'vmscope', request: 'launch', name: 'probe', program, stopOnEntry: true });
    const early = await Promise.race([dap.event('initialized'), launched]);
    if (early.type === 'response' && !early.success) return { ok: false, reason: `launching ${program} failed: ${early.message ?? early.body?.error?.format}` };
    const set = await dap.request('setExceptionBreakpoints', { filters: [], filterOptions: [{ filterId: 'vmexit', condition }] });
    await dap.request('configurationDone', {});
    const l = await launched;
    if (!l.success) return { ok: false, reason: `launching ${program} failed: ${l.message ?? l.body?.error?.format}` };
    const bp = set.body?.breakpoints?.[0];
    if (!set.success) return { ok: false, reason: `setExceptionBreakpoints failed: ${set.message}` };
    if (!bp?.verified) return { ok: false, reason: `the adapter does not accept the VM exit condition "${condition}": ${bp?.message ?? 'not verified'}` };
    return { ok: true };
  } catch (e) {
    return { ok: false, reason: `probing the adapter failed: ${e.message}${stderr ? `\n${stderr.slice(-1000)}` : ''}` };
  } finally {
    try { await dap.request('disconnect', { terminateDebuggee: true }, 3000); } catch { /* ending it anyway */ }
    try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
  }
}
