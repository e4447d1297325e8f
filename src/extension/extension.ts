// Extension wiring, deliberately thin: registers the `vmscope` debug type
// with a configuration provider and an adapter factory. The adapter runs
// inline (in the extension host) by default, or as the stand-alone
// dist/adapter.js process when the setting vmscope.adapter.mode is "process".

import * as vscode from 'vscode';
import { VmscopeSession } from '../adapter/session';
import { VmscopeConfigurationProvider } from './config-provider';
import { registerPanels } from './panels';

export function activate(context: vscode.ExtensionContext): void {
  context.subscriptions.push(
    vscode.debug.registerDebugConfigurationProvider('vmscope', new VmscopeConfigurationProvider()),
    vscode.debug.registerDebugAdapterDescriptorFactory('vmscope', new AdapterFactory(context)),
  );
  registerPanels(context);
}

export function deactivate(): void {}

class AdapterFactory implements vscode.DebugAdapterDescriptorFactory {
  constructor(private readonly context: vscode.ExtensionContext) {}

  createDebugAdapterDescriptor(): vscode.ProviderResult<vscode.DebugAdapterDescriptor> {
    const mode = vscode.workspace.getConfiguration('vmscope').get<string>('adapter.mode', 'inline');
    if (mode === 'process') {
      return new vscode.DebugAdapterExecutable(process.execPath, [this.context.asAbsolutePath('dist/adapter.js')]);
    }
    return new vscode.DebugAdapterInlineImplementation(new VmscopeSession() as unknown as vscode.DebugAdapter);
  }
}
