// The panel's side of the message channel. acquireVsCodeApi() is provided by
// VS Code inside a webview (and by a stand-in in the webview tests); it may
// be called once. Every message from the host is checked with isHostMessage
// before the panel reads it; malformed ones are dropped with a warning.

import { isHostMessage, type HostMessage, type PanelId, type PanelMessage } from '../../src/common/messages';

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

export interface Channel {
  post(m: PanelMessage): void;
  /** The panel's saved view state (survives the panel being hidden), if it passes `guard`. */
  loadState<T>(guard: (x: unknown) => x is T): T | undefined;
  saveState(state: unknown): void;
}

/** Connects to the host, delivers each valid message to `onMessage`, and announces the panel. */
export function connect(panel: PanelId, onMessage: (m: HostMessage) => void): Channel {
  const api = acquireVsCodeApi();
  window.addEventListener('message', (e: MessageEvent<unknown>) => {
    if (!isHostMessage(e.data)) {
      console.warn(`vmscope ${panel}: dropped a malformed message from the host`);
      return;
    }
    try {
      onMessage(e.data);
    } catch (err) {
      console.error(`vmscope ${panel}: failed to handle a ${e.data.type} message`, err);
    }
  });
  const channel: Channel = {
    post: (m) => api.postMessage(m),
    loadState: (guard) => {
      const s = api.getState();
      return guard(s) ? s : undefined;
    },
    saveState: (s) => api.setState(s),
  };
  channel.post({ type: 'ready', panel });
  return channel;
}
