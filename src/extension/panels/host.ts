// One webview panel in VS Code: created on demand (or revealed when open),
// scripts enabled but resources limited to dist/webviews and media/, HTML
// rendered with a fresh nonce each time, every incoming message checked with
// isPanelMessage before the controller sees it.

import * as vscode from 'vscode';
import { isPanelMessage, type HostMessage, type PanelId } from '../../common/messages';
import { makeNonce, renderPanelHtml } from './html';
import type { PanelController, PanelEnv } from './controllers/base';
import type { SessionModel } from './session-model';

export interface PanelSpec<C extends PanelController> {
  id: PanelId;
  title: string;
  create(env: PanelEnv): C;
}

export class PanelHost<C extends PanelController> implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private controller: C | undefined;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly model: SessionModel,
    private readonly spec: PanelSpec<C>,
    private readonly openMemory: PanelEnv['openMemory'],
  ) {}

  /** Opens the panel (or brings it to the front) and returns its controller. */
  show(): C {
    if (this.panel && this.controller) {
      this.panel.reveal(undefined, false);
      return this.controller;
    }
    const roots = [vscode.Uri.joinPath(this.context.extensionUri, 'dist', 'webviews'), vscode.Uri.joinPath(this.context.extensionUri, 'media')];
    const panel = vscode.window.createWebviewPanel(`vmscope.${this.spec.id}`, this.spec.title, vscode.ViewColumn.Beside, {
      enableScripts: true,
      localResourceRoots: roots,
      retainContextWhenHidden: false,
    });
    const post = (m: HostMessage): void => { void panel.webview.postMessage(m); };
    const controller = this.spec.create({ model: this.model, post, openMemory: this.openMemory });
    panel.webview.onDidReceiveMessage((m: unknown) => {
      if (isPanelMessage(m)) void controller.receive(m);
      else console.warn(`vmscope: ignored a malformed message from the ${this.spec.id} panel`);
    });
    // Hidden webviews are unloaded (retainContextWhenHidden is off); shown again they reload and send 'ready'.
    panel.onDidChangeViewState((e) => { if (!e.webviewPanel.visible) controller.suspend(); });
    panel.onDidDispose(() => {
      controller.dispose();
      this.panel = undefined;
      this.controller = undefined;
    });
    panel.webview.html = this.html(panel.webview);
    this.panel = panel;
    this.controller = controller;
    return controller;
  }

  private html(webview: vscode.Webview): string {
    const uri = (...p: string[]): string => webview.asWebviewUri(vscode.Uri.joinPath(this.context.extensionUri, ...p)).toString();
    return renderPanelHtml({
      panel: this.spec.id,
      title: this.spec.title,
      scriptUri: uri('dist', 'webviews', `${this.spec.id}.js`),
      styleUris: [uri('media', 'panels.css'), uri('media', `${this.spec.id}.css`)],
      cspSource: webview.cspSource,
      nonce: makeNonce(),
    });
  }

  dispose(): void {
    this.panel?.dispose();
  }
}
