// Memory-map webview benchmark (reported, not asserted): the built panel in
// headless Chromium gets a memoryMap message with N guest-virtual 4 KiB
// mappings whose permissions alternate (so none coalesce: the worst case),
// and we time what the panel does with it — validation, building the model,
// the first render — then the render at several zoom levels, from the whole
// 256 TiB space down to a single page.
//
//   npx vite-node test/webview/bench.ts [N ...]     (default: 100000 1000000 2000000)
//
// Results go to stdout and test-output/webview/bench.json.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { launchChromium } from './support/browser';
import { startPanelServer } from './support/server';
import { standIn } from './support/stand-in';
import { DARK_THEME } from './support/theme';
import { OUTPUT_DIR } from './support/screenshot';

interface Result {
  mappings: number;
  ranges: number;
  handleMs: number;
  modelMs: number;
  firstRenderMs: number;
  zoom: { view: string; renderMs: number }[];
}

async function main(): Promise<void> {
  const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
  const counts = sizes.length ? sizes : [100_000, 1_000_000, 2_000_000];
  const server = await startPanelServer(join(__dirname, '../..'));
  const browser = await launchChromium();
  const results: Result[] = [];
  try {
    for (const n of counts) {
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      await page.addInitScript(standIn, { theme: DARK_THEME });
      await page.goto(`${server.origin}/panel/memory-map`);
      const r = await page.evaluate((count) => {
        const deliver = (data: unknown): void => { window.dispatchEvent(new MessageEvent('message', { data })); };
        deliver({ type: 'session', status: { state: 'stopped', name: 'bench', threads: [{ id: 0, name: 'vCPU 0' }], threadId: 0, stopCount: 1 } });
        // Higher-half kernel mappings at 0xffff800000000000: 4 KiB pages, alternating rw-/r-- so nothing coalesces.
        const regions = new Array(count);
        const base = 0x8000_0000_0000;
        for (let i = 0; i < count; i++) {
          const s = base + i * 4096;
          regions[i] = {
            start: '0xffff' + s.toString(16).padStart(12, '0'), end: '0xffff' + (s + 4096).toString(16).padStart(12, '0'),
            target: '0x' + (0x100000 + i * 4096).toString(16), perms: i % 2 ? 'r--s' : 'rw-s', pageSize: 4096, memoryType: 'WB',
          };
        }
        performance.clearMeasures();
        const t0 = performance.now();
        deliver({ type: 'memoryMap', space: 'gva', regions, pagingMode: '4-level' });
        const handleMs = performance.now() - t0;
        const m = (name: string): number => performance.getEntriesByName(name).at(-1)?.duration ?? NaN;
        return { handleMs, modelMs: m('memory-map:model'), firstRenderMs: m('memory-map:render'), ranges: Number(document.body.dataset.ranges) };
      }, n);
      // Zoom: the whole space, then the mapped extent, then in to one page.
      const zoom: { view: string; renderMs: number }[] = [];
      await page.focus('#map');
      const measure = async (key: string): Promise<void> => {
        await page.keyboard.press(key);
        const ms = await page.evaluate(() => new Promise<number>((resolve) => requestAnimationFrame(() => requestAnimationFrame(() =>
          resolve(performance.getEntriesByName('memory-map:render').at(-1)?.duration ?? NaN)))));
        zoom.push({ view: (await page.locator('.readout').textContent())?.split(' view')[0] ?? '?', renderMs: ms });
      };
      await measure('Home');
      await measure('0');
      for (let i = 0; i < 40; i++) {
        await measure('+');
        if (zoom.at(-1)!.view === '4 KiB') break;
      }
      results.push({ mappings: n, ranges: r.ranges, handleMs: r.handleMs, modelMs: r.modelMs, firstRenderMs: r.firstRenderMs, zoom });
      await page.close();
    }
  } finally {
    await browser.close();
    await server.close();
  }
  for (const r of results) {
    const renders = r.zoom.map((z) => z.renderMs);
    console.log(`${r.mappings.toLocaleString('en-US')} mappings → ${r.ranges.toLocaleString('en-US')} ranges: ` +
      `message handled in ${r.handleMs.toFixed(0)} ms (model ${r.modelMs.toFixed(0)} ms, first render ${r.firstRenderMs.toFixed(1)} ms); ` +
      `render per zoom level ${Math.min(...renders).toFixed(1)}–${Math.max(...renders).toFixed(1)} ms over ${r.zoom.length} levels ` +
      `(${r.zoom[0]?.view} … ${r.zoom.at(-1)?.view})`);
  }
  mkdirSync(OUTPUT_DIR, { recursive: true });
  writeFileSync(join(OUTPUT_DIR, 'bench.json'), JSON.stringify({ date: new Date().toISOString(), results }, null, 1) + '\n');
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
