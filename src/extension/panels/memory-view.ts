// Opens VS Code's hex Memory view at a guest address. VS Code's own "View
// Binary Data" command (workbench.debug.viewlet.action.viewMemory, the one
// behind the Variables view's memory icon) takes a session id and a DAP
// memoryReference and opens the Hex Editor on a vscode-debug-memory: URI,
// offering to install the Hex Editor when it is missing. Should that command
// go away, the URI is opened directly with the Hex Editor
// (vscode-debug-memory://<session id>/<memoryReference>/<name>.bin, an
// optional ?range=from:to of byte offsets from the reference).
//
// The memoryReference is how the adapter's readMemory tells spaces apart:
// a bare hex address is a guest-virtual address, "gpa:0x…" guest-physical.

import * as vscode from 'vscode';
import type { MapSpace } from '../../common/messages';

const VIEW_MEMORY_COMMAND = 'workbench.debug.viewlet.action.viewMemory';
const DEBUG_MEMORY_SCHEME = 'vscode-debug-memory';
const HEX_EDITOR_VIEW_TYPE = 'hexEditor.hexedit';

export function memoryReferenceFor(space: MapSpace, address: string): string {
  return space === 'gva' ? address : `${space}:${address}`;
}

export async function openMemoryView(session: vscode.DebugSession, space: MapSpace, address: string, length: number): Promise<void> {
  const memoryReference = memoryReferenceFor(space, address);
  const commands = await vscode.commands.getCommands(true);
  if (commands.includes(VIEW_MEMORY_COMMAND)) {
    await vscode.commands.executeCommand(VIEW_MEMORY_COMMAND, { sessionId: session.id, variable: { name: `${space} ${address}`, value: address, memoryReference } });
    return;
  }
  const uri = vscode.Uri.from({
    scheme: DEBUG_MEMORY_SCHEME,
    authority: session.id,
    path: `/${encodeURIComponent(memoryReference)}/${encodeURIComponent(`${space}-${address}`)}.bin`,
    query: `range=0:${Math.min(length, 2 ** 31)}`,
  });
  await vscode.commands.executeCommand('vscode.openWith', uri, HEX_EDITOR_VIEW_TYPE);
}
