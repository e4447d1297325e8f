// Feeds the SessionModel from VS Code's debug API: which vmscope session is
// active, its stops and continues (a debug adapter tracker watching the DAP
// 'stopped' and 'continued' events), the vCPU the user selected in the Call
// Stack view, and the batched vmscope/trace custom events.

import * as vscode from 'vscode';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { fetchThreads, traceEventRecords } from './adapter-data';
import type { DebugLink, SessionModel } from './session-model';

const TYPE = 'vmscope';
const RUN_REQUESTS = new Set(['continue', 'next', 'stepIn', 'stepOut', 'stepBack', 'reverseContinue', 'goto', 'restart']);

const vscodeSessions = new WeakMap<DebugLink, vscode.DebugSession>();

function linkOf(s: vscode.DebugSession): DebugLink {
  const link: DebugLink = {
    id: s.id,
    name: s.name,
    request: (command, args) => Promise.resolve(s.customRequest(command, args)),
  };
  vscodeSessions.set(link, s);
  return link;
}

/** The VS Code session behind a link this module made. */
export function sessionOf(link: DebugLink): vscode.DebugSession | undefined {
  return vscodeSessions.get(link);
}

function threadOf(item: vscode.DebugThread | vscode.DebugStackFrame | undefined): number | undefined {
  return item ? item.threadId : undefined;
}

export function watchDebugSessions(model: SessionModel): vscode.Disposable[] {
  /** Last known run state of every vmscope session, so switching sessions shows the right one. */
  const states = new Map<string, { stopped: boolean; threadId?: number }>();
  const follow = (s: vscode.DebugSession | undefined): void => {
    if (s?.type !== TYPE) return;
    model.attach(linkOf(s), states.get(s.id) ?? { stopped: false });
  };

  const onStopped = async (s: vscode.DebugSession, body: DebugProtocol.StoppedEvent['body']): Promise<void> => {
    const selected = vscode.debug.activeStackItem?.session.id === s.id ? threadOf(vscode.debug.activeStackItem) : undefined;
    const threadId = body.threadId ?? selected ?? states.get(s.id)?.threadId;
    states.set(s.id, { stopped: true, ...(threadId !== undefined ? { threadId } : {}) });
    if (!model.link) follow(s);
    const link = model.link;
    const threads = link?.id === s.id ? await fetchThreads(link).catch(() => undefined) : undefined;
    model.stoppedOn(s.id, threadId, threads);
  };

  const resumed = (id: string): void => {
    states.set(id, { stopped: false });
    model.continued(id);
  };
  const tracker: vscode.DebugAdapterTrackerFactory = {
    createDebugAdapterTracker(session) {
      return {
        // VS Code's own run requests get no 'continued' event back: watch them going out.
        onWillReceiveMessage(m: DebugProtocol.ProtocolMessage) {
          if (m.type === 'request' && RUN_REQUESTS.has((m as DebugProtocol.Request).command)) resumed(session.id);
        },
        onDidSendMessage(m: DebugProtocol.ProtocolMessage) {
          if (m.type !== 'event') return;
          const ev = m as DebugProtocol.Event;
          if (ev.event === 'stopped') void onStopped(session, (ev as DebugProtocol.StoppedEvent).body);
          else if (ev.event === 'continued') resumed(session.id);
        },
      };
    },
  };

  follow(vscode.debug.activeDebugSession);
  return [
    vscode.debug.registerDebugAdapterTrackerFactory(TYPE, tracker),
    vscode.debug.onDidStartDebugSession((s) => { if (s.type === TYPE && !model.link) follow(s); }),
    vscode.debug.onDidChangeActiveDebugSession((s) => follow(s)),
    vscode.debug.onDidTerminateDebugSession((s) => {
      states.delete(s.id);
      model.detach(s.id);
      const next = vscode.debug.activeDebugSession;
      if (next && next.id !== s.id) follow(next);
    }),
    vscode.debug.onDidReceiveDebugSessionCustomEvent((e) => {
      if (e.session.type === TYPE && e.event === 'vmscope/trace') model.addTrace(e.session.id, traceEventRecords(e.body));
    }),
    vscode.debug.onDidChangeActiveStackItem((item) => {
      const t = threadOf(item);
      if (!item || t === undefined) return;
      const st = states.get(item.session.id);
      if (st?.stopped) st.threadId = t;
      model.selectThread(item.session.id, t);
    }),
  ];
}
