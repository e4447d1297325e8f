// The host half of a panel, without VS Code: it answers the panel's messages
// with data from the debug session (through the SessionModel's DebugLink)
// and pushes fresh data when the guest stops. The vscode glue (../host.ts)
// and the webview tests both drive these classes, so the tests exercise the
// real host logic.

import type { HostMessage, MapSpace, PanelMessage } from '../../../common/messages';
import type { TraceRecord } from '../../../common/trace';
import type { ModelEvent, SessionModel } from '../session-model';

export interface PanelEnv {
  readonly model: SessionModel;
  /** Sends a message to the webview. */
  post(m: HostMessage): void;
  /** Opens VS Code's hex Memory view at an address of the session. */
  openMemory(space: MapSpace, address: string, length: number): Promise<void>;
  /**
   * How long a stop must last before the panel fetches its data (default
   * 120 ms), so stepping quickly does not queue a fetch per step; 0 fetches
   * at once.
   */
  settleMs?: number;
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export abstract class PanelController {
  private readonly unsubscribe: () => void;
  private ready = false;
  /** Per kind of request, bumped by each one, so an answer that arrives after a newer request's is dropped. */
  private readonly generations = new Map<string, number>();
  private settleTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(protected readonly env: PanelEnv) {
    this.unsubscribe = env.model.onChange((e) => { void this.onModel(e); });
  }

  /** A validated message from the webview. */
  async receive(m: PanelMessage): Promise<void> {
    try {
      if (m.type === 'ready') {
        this.ready = true;
        this.env.post({ type: 'session', status: this.env.model.status() });
        await this.onReady();
      } else if (m.type === 'refresh') {
        await this.onRefreshRequest();
      } else {
        await this.handle(m);
      }
    } catch (e) {
      this.env.post({ type: 'notice', level: 'error', text: errorText(e) });
    }
  }

  private async onModel(e: ModelEvent): Promise<void> {
    if (!this.ready) return;
    try {
      if (e.kind === 'status') {
        this.env.post({ type: 'session', status: this.env.model.status() });
        if (this.settleTimer) clearTimeout(this.settleTimer);
        this.settleTimer = undefined;
        if (!this.env.model.stopped) return;
        const wait = this.env.settleMs ?? 120;
        if (wait <= 0) await this.refresh();
        else this.settleTimer = setTimeout(() => { this.settleTimer = undefined; void this.refreshReporting(); }, wait);
      } else {
        this.onTrace(e.records, e.reset);
      }
    } catch (err) {
      this.env.post({ type: 'notice', level: 'error', text: errorText(err) });
    }
  }

  private async refreshReporting(): Promise<void> {
    if (!this.ready || !this.env.model.stopped) return;
    try {
      await this.refresh();
    } catch (err) {
      this.env.post({ type: 'notice', level: 'error', text: errorText(err) });
    }
  }

  /** The webview went away (hidden, so VS Code dropped it): nothing is sent until it says 'ready' again. */
  suspend(): void {
    this.ready = false;
    if (this.settleTimer) clearTimeout(this.settleTimer);
    this.settleTimer = undefined;
  }

  /** Runs `fetch` and posts its result unless a newer request of the same `kind` started meanwhile. */
  protected async latest<T>(kind: string, fetch: () => Promise<T>, post: (v: T) => void): Promise<void> {
    const gen = (this.generations.get(kind) ?? 0) + 1;
    this.generations.set(kind, gen);
    const v = await fetch();
    if (gen === this.generations.get(kind)) post(v);
  }

  /** First data after the webview loaded (or reloaded). */
  protected async onReady(): Promise<void> { await this.refresh(); }
  /** The guest stopped, or the panel asked: fetch what the panel shows. */
  protected abstract refresh(): Promise<void>;
  /** The panel's Refresh button. */
  protected async onRefreshRequest(): Promise<void> { await this.refresh(); }
  protected async handle(_m: PanelMessage): Promise<void> { /* panels with own requests override */ }
  protected onTrace(_records: readonly TraceRecord[], _reset: boolean): void { /* timeline overrides */ }

  dispose(): void {
    this.suspend();
    this.unsubscribe();
  }
}
