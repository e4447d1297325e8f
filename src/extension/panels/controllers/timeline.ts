// Host half of the exit timeline: the trace records the session's adapter
// sent (vmscope/trace events, collected by the SessionModel from the start
// of the session), fetched with the vmscope/trace request when none came
// yet or the panel asks, and the adapter's vmscope/exitStats totals.

import type { TraceRecord } from '../../../common/trace';
import { fetchExitStats, fetchTrace } from '../adapter-data';
import { PanelController } from './base';

/** Records per message, so one message stays a few MB at most. */
const CHUNK = 20_000;

export class TimelineController extends PanelController {
  protected override async onReady(): Promise<void> {
    const { link } = this.env.model;
    if (link && this.env.model.trace.length === 0) await this.refetch();
    else this.sendAll();
    await this.refreshStats();
  }

  protected async refresh(): Promise<void> {
    await this.refreshStats();
  }

  /** The panel's Refresh button: ask the adapter for everything it kept. */
  protected override async onRefreshRequest(): Promise<void> {
    await this.refetch();
    await this.refreshStats();
  }

  private async refetch(): Promise<void> {
    const { link } = this.env.model;
    if (!link) return;
    let records: TraceRecord[];
    try {
      records = await fetchTrace(link);
    } catch {
      this.sendAll(); // an adapter without the request: what the events brought is all there is
      return;
    }
    this.env.model.replaceTrace(link.id, records); // emits a reset with the records
  }

  private sendAll(): void {
    this.send(this.env.model.trace, true);
  }

  private send(records: readonly TraceRecord[], reset: boolean): void {
    if (reset && records.length === 0) this.env.post({ type: 'trace', records: [], reset: true });
    for (let i = 0; i < records.length; i += CHUNK) {
      this.env.post({ type: 'trace', records: records.slice(i, i + CHUNK), reset: reset && i === 0 });
    }
  }

  protected override onTrace(records: readonly TraceRecord[], reset: boolean): void {
    this.send(records, reset);
  }

  private async refreshStats(): Promise<void> {
    const { link } = this.env.model;
    if (!link) return;
    await this.latest('stats', () => fetchExitStats(link).catch(() => undefined), (stats) => {
      if (stats) this.env.post({ type: 'exitStats', stats });
    });
  }
}
