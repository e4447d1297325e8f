// Builds the bundles once before the webview tests, so they load the panels
// exactly as the extension ships them (dist/webviews/<panel>.js).

import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export default function setup(): void {
  const root = join(__dirname, '../../..');
  execFileSync(process.execPath, [join(root, 'scripts/build.mjs')], { cwd: root, stdio: 'inherit' });
}
