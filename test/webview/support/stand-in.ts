// What a page needs before a panel script runs, injected with Playwright's
// addInitScript (as VS Code injects its own preamble into a webview):
// a stand-in acquireVsCodeApi() whose postMessage records the message and
// hands it to the test's host (an exposed binding), in-memory get/setState,
// the theme variables, and a record of CSP violations and console warnings.

export interface StandInOptions {
  theme: Record<string, string>;
  /** Saved panel state to start with (as VS Code restores it). */
  state?: unknown;
}

/** Runs in the page (serialised by Playwright): keep it self-contained. */
export function standIn(opts: StandInOptions): void {
  const w = window as unknown as Record<string, unknown>;
  const posted: unknown[] = [];
  const violations: string[] = [];
  const warnings: string[] = [];
  // VS Code keeps a webview's state across reloads (a hidden panel is reloaded when shown): so does sessionStorage.
  const KEY = '__vmscopeState';
  const stored = sessionStorage.getItem(KEY);
  let state: unknown = stored !== null ? JSON.parse(stored) as unknown : opts.state;
  let acquired = false;
  w.__posted = posted;
  w.__cspViolations = violations;
  w.__warnings = warnings;
  w.acquireVsCodeApi = () => {
    if (acquired) throw new Error('acquireVsCodeApi may be called only once');
    acquired = true;
    return {
      postMessage: (m: unknown) => {
        posted.push(m);
        const toHost = w.__vmscopeToHost as ((m: unknown) => void) | undefined;
        if (toHost) toHost(m);
      },
      getState: () => state,
      setState: (s: unknown) => { state = s; sessionStorage.setItem(KEY, JSON.stringify(s)); },
    };
  };
  document.addEventListener('securitypolicyviolation', (e) => {
    violations.push(`${e.violatedDirective}: ${e.blockedURI}`);
  });
  const warn = console.warn.bind(console);
  console.warn = (...args: unknown[]) => { warnings.push(args.map(String).join(' ')); warn(...args); };
  // VS Code puts the theme variables on <html> and a theme class on <body>.
  const applyTheme = (): void => {
    for (const [k, v] of Object.entries(opts.theme)) document.documentElement.style.setProperty(k, v);
  };
  if (document.documentElement) applyTheme();
  else {
    const mo = new MutationObserver(() => {
      if (!document.documentElement) return;
      mo.disconnect();
      applyTheme();
    });
    mo.observe(document, { childList: true });
  }
  document.addEventListener('DOMContentLoaded', () => { document.body.classList.add('vscode-dark'); });
}
