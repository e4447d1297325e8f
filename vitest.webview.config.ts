// Webview tests (npm run test:webview): each panel's built script in real
// headless Chromium (playwright-core driving the Debian chromium package),
// in the page the extension host renders, talking to the real host-side
// controllers over recorded session data. The bundles are built first
// (test/webview/support/global-setup.ts). Screenshots go to test-output/webview/.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/webview/**/*.test.ts'],
    globalSetup: ['test/webview/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    reporters: ['default'],
  },
});
