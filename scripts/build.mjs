// Builds every bundle with esbuild: the extension host entry, the stand-alone
// debug adapter, the CLI (all Node, CommonJS) and the webview panels (browser,
// IIFE). iced-x86 loads its WebAssembly from __dirname, so the .wasm is copied
// next to the Node bundles. `--watch` rebuilds on change.
import * as esbuild from 'esbuild';
import { copyFileSync, mkdirSync, existsSync, readdirSync, chmodSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const watch = process.argv.includes('--watch');
const dist = join(root, 'dist');
mkdirSync(join(dist, 'webviews'), { recursive: true });
copyFileSync(join(root, 'node_modules/iced-x86/iced_x86_bg.wasm'), join(dist, 'iced_x86_bg.wasm'));

const nodeCommon = {
  bundle: true, platform: 'node', format: 'cjs', target: 'node20',
  sourcemap: true, logLevel: 'warning', external: ['vscode'],
};
const builds = [
  { ...nodeCommon, entryPoints: [join(root, 'src/extension/extension.ts')], outfile: join(dist, 'extension.js') },
  { ...nodeCommon, entryPoints: [join(root, 'src/adapter/main.ts')], outfile: join(dist, 'adapter.js') },
  { ...nodeCommon, entryPoints: [join(root, 'src/cli/main.ts')], outfile: join(dist, 'cli.js'),
    banner: { js: '#!/usr/bin/env node' } },
];
const webviewDir = join(root, 'webviews');
const panels = existsSync(webviewDir)
  ? readdirSync(webviewDir).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
  : [];
if (panels.length > 0) {
  builds.push({
    entryPoints: panels.map((p) => join(webviewDir, p)), outdir: join(dist, 'webviews'),
    bundle: true, platform: 'browser', format: 'iife', target: 'es2022', sourcemap: true, logLevel: 'warning',
  });
}

if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
  console.log('vmscope: watching for changes');
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
  chmodSync(join(dist, 'cli.js'), 0o755);
}
