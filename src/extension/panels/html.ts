// The HTML of a panel's webview: one script (dist/webviews/<panel>.js) and
// the stylesheets, under a strict Content-Security-Policy: nothing loads
// unless it comes from the extension's own webview resources, and the only
// script that runs is the one carrying this render's nonce. No remote
// content, no inline script or style.
//
// Pure (no vscode import at run time) so the webview tests serve the very
// same page the extension host renders.

import type { PanelId } from '../../common/messages';

/** The two things of a vscode.Webview this needs. */
export interface WebviewLike {
  readonly cspSource: string;
  asWebviewUri(uri: { toString(): string }): { toString(): string };
}

export interface PanelPage {
  panel: PanelId;
  title: string;
  /** Webview URIs (already converted with asWebviewUri). */
  scriptUri: string;
  styleUris: string[];
  cspSource: string;
  nonce: string;
}

/** A fresh nonce per render: 128 bits from the platform CSPRNG, as 32 hex digits (valid base64 characters). */
export function makeNonce(): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src ${cspSource} 'nonce-${nonce}'`,
    `img-src ${cspSource} data:`,
    `font-src ${cspSource}`,
  ].join('; ');
}

const escapeAttr = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function renderPanelHtml(p: PanelPage): string {
  if (!/^[A-Za-z0-9+/=]{16,}$/.test(p.nonce)) throw new Error('renderPanelHtml: the nonce must be base64');
  const styles = p.styleUris
    .map((u) => `  <link rel="stylesheet" nonce="${p.nonce}" href="${escapeAttr(u)}">`)
    .join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <meta http-equiv="Content-Security-Policy" content="${escapeAttr(contentSecurityPolicy(p.cspSource, p.nonce))}">
  <meta name="viewport" content="width=device-width, initial-scale=1.0">
${styles}
  <title>${escapeAttr(p.title)}</title>
</head>
<body data-panel="${p.panel}">
  <main id="app" aria-busy="true"></main>
  <script nonce="${p.nonce}" src="${escapeAttr(p.scriptUri)}"></script>
</body>
</html>
`;
}
