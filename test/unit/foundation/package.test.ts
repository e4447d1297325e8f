// What the .vsix ships (npm run package uses the same file list): the bundles,
// the iced-x86 WebAssembly, media and the prebuilt samples — no sources or tests.
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '../../..');

describe('extension package', () => {
  it('ships the bundles and samples, and no sources, tests or source maps', () => {
    const r = spawnSync(process.execPath, [join(root, 'node_modules/@vscode/vsce/vsce'), 'ls', '--no-dependencies'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const files = r.stdout.trim().split('\n').map((l) => l.trim());
    for (const f of ['dist/extension.js', 'dist/adapter.js', 'dist/cli.js', 'dist/iced_x86_bg.wasm', 'package.json',
      'samples/hello/hello.elf', 'samples/hypervisor/hypervisor.elf']) {
      expect(files, f).toContain(f);
    }
    expect(files.some((f) => f.startsWith('dist/webviews/') && f.endsWith('.js'))).toBe(true);
    expect(files.filter((f) => /^(src|test|bench|scripts|webviews)\//.test(f) || f.endsWith('.ts') || f.endsWith('.map'))).toEqual([]);
  });
});
