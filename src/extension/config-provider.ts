// Fills in a launch configuration when the user has none (F5 on an open
// guest image or with no launch.json) and resolves defaults before launch.

import * as vscode from 'vscode';

export class VmscopeConfigurationProvider implements vscode.DebugConfigurationProvider {
  resolveDebugConfiguration(
    _folder: vscode.WorkspaceFolder | undefined,
    config: vscode.DebugConfiguration,
  ): vscode.ProviderResult<vscode.DebugConfiguration> {
    if (!config.type && !config.request && !config.name) {
      // F5 without launch.json: run the active file if it looks like a guest image.
      const doc = vscode.window.activeTextEditor?.document;
      const program = doc && /\.(elf|bin|img)$/i.test(doc.fileName) ? doc.fileName : undefined;
      if (!program) {
        void vscode.window.showInformationMessage('vmscope: open a guest image (.elf) or add a "vmscope" launch configuration.');
        return undefined;
      }
      return { type: 'vmscope', request: 'launch', name: 'vmscope: run', program, stopOnEntry: true };
    }
    if (!config.program) {
      void vscode.window.showErrorMessage('vmscope: the launch configuration needs "program" (the guest image to run).');
      return undefined;
    }
    return config;
  }
}
