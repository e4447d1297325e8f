// Screenshots of panels into test-output/webview/, with the luminance
// variance the tests use to tell a drawn panel from a blank one.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { decodePng, luminanceVariance } from './png';

export const OUTPUT_DIR = join(__dirname, '../../../test-output/webview');

export async function screenshotVariance(page: Page, name: string): Promise<number> {
  mkdirSync(OUTPUT_DIR, { recursive: true });
  const png = await page.screenshot({ fullPage: true });
  writeFileSync(join(OUTPUT_DIR, `${name}.png`), png);
  return luminanceVariance(decodePng(png));
}
