// A local HTTP server that serves each panel exactly as the extension host
// renders it (src/extension/panels/html.ts: same CSP, same nonce scheme),
// with the built script from dist/webviews and the styles from media/. The
// server's origin plays the part of webview.cspSource.

import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join, normalize } from 'node:path';
import { makeNonce, renderPanelHtml } from '../../../src/extension/panels/html';
import { PANEL_IDS, type PanelId } from '../../../src/common/messages';

const TYPES: Record<string, string> = { '.js': 'text/javascript', '.css': 'text/css', '.map': 'application/json' };
const TITLES: Record<PanelId, string> = {
  'memory-map': 'vmscope: Memory Map', walk: 'vmscope: Address Walk', timeline: 'vmscope: Exit Timeline', vmcs: 'vmscope: VMCS',
};

export interface PanelServer { origin: string; close(): Promise<void> }

export async function startPanelServer(root: string): Promise<PanelServer> {
  let origin = '';
  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', origin);
      const panel = /^\/panel\/([a-z-]+)$/.exec(url.pathname)?.[1];
      if (panel && (PANEL_IDS as readonly string[]).includes(panel)) {
        const id = panel as PanelId;
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(renderPanelHtml({
          panel: id, title: TITLES[id], cspSource: origin, nonce: makeNonce(),
          scriptUri: `${origin}/dist/webviews/${id}.js`, styleUris: [`${origin}/media/panels.css`, `${origin}/media/${id}.css`],
        }));
        return;
      }
      const rel = normalize(url.pathname).replace(/^\/+/, '');
      if (!/^(dist\/webviews|media)\//.test(rel)) { res.writeHead(404).end(); return; }
      try {
        const body = await readFile(join(root, rel));
        res.writeHead(200, { 'content-type': TYPES[rel.slice(rel.lastIndexOf('.'))] ?? 'application/octet-stream' });
        res.end(body);
      } catch {
        res.writeHead(404).end();
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  origin = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  return { origin, close: () => new Promise((r) => server.close(() => r())) };
}
