// The vmscope DebugSession: translates DAP requests into calls on the target
// interface (src/targets/target.ts) and target stops into DAP events. It
// knows nothing of any one backend.

import { LoggingDebugSession, InitializedEvent } from '@vscode/debugadapter';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { capabilities } from './capabilities';

export class VmscopeSession extends LoggingDebugSession {
  constructor() {
    super();
    this.setDebuggerLinesStartAt1(true);
    this.setDebuggerColumnsStartAt1(true);
  }

  protected override initializeRequest(response: DebugProtocol.InitializeResponse): void {
    response.body = capabilities();
    this.sendResponse(response);
    this.sendEvent(new InitializedEvent());
  }
}
