// Colours for canvas drawing, read from the --vscode-* CSS variables VS Code
// sets on the webview (so the pictures follow the colour theme), and a hook
// to redraw when the theme changes (VS Code swaps the body class and the
// variables in place).

export function cssVar(name: string, fallbackVar?: string): string {
  const style = getComputedStyle(document.documentElement);
  const v = style.getPropertyValue(name).trim();
  if (v || !fallbackVar) return v;
  return style.getPropertyValue(fallbackVar).trim();
}

export function fontFamily(): string {
  return cssVar('--vscode-editor-font-family') || cssVar('--vscode-font-family') || 'monospace';
}

/** Calls `redraw` after the theme changed. */
export function onThemeChange(redraw: () => void): void {
  const obs = new MutationObserver(() => redraw());
  obs.observe(document.body, { attributes: true, attributeFilter: ['class'] });
  obs.observe(document.documentElement, { attributes: true, attributeFilter: ['style', 'class'] });
}

/** A canvas sized to its CSS box at the device pixel ratio; returns its 2-D context scaled to CSS pixels. */
export function fitCanvas(canvas: HTMLCanvasElement): { ctx: CanvasRenderingContext2D; width: number; height: number } {
  const dpr = window.devicePixelRatio || 1;
  const rect = canvas.getBoundingClientRect();
  const width = Math.max(1, Math.floor(rect.width));
  const height = Math.max(1, Math.floor(rect.height));
  if (canvas.width !== Math.round(width * dpr) || canvas.height !== Math.round(height * dpr)) {
    canvas.width = Math.round(width * dpr);
    canvas.height = Math.round(height * dpr);
  }
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('panel: no 2-D canvas context');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return { ctx, width, height };
}
