// Host half of the memory map: fetches vmscope/memoryMap for the space the
// panel shows ('gva' through the vCPU's paging, 'gpa' as EPT or the physical
// layout) whenever the guest stops, and opens the hex Memory view at a range
// the user picked.

import type { MapSpace, PanelMessage } from '../../../common/messages';
import { fetchMemoryMap, fetchWalk } from '../adapter-data';
import type { DebugLink } from '../session-model';
import { PanelController, errorText } from './base';

export class MemoryMapController extends PanelController {
  private space: MapSpace = 'gva';

  protected async refresh(): Promise<void> {
    const { link, threadId } = this.env.model;
    if (!link || !this.env.model.stopped || threadId === undefined) return;
    const space = this.space;
    await this.latest('map', async () => {
      try {
        const regions = await fetchMemoryMap(link, space, threadId);
        return { regions, ...(space === 'gva' ? await pagingModeOf(link, threadId) : {}) };
      } catch (e) {
        return { regions: [], error: errorText(e) };
      }
    }, (r) => this.env.post({ type: 'memoryMap', space, ...r }));
  }

  protected override async handle(m: PanelMessage): Promise<void> {
    if (m.type === 'memoryMap') {
      this.space = m.space;
      await this.refresh();
    } else if (m.type === 'openMemory') {
      await this.env.openMemory(m.space, m.address, m.length);
    }
  }
}

/** The vCPU's paging mode (a walk of address 0 names it), so the map knows a 4-level space is 256 TiB. */
async function pagingModeOf(link: DebugLink, threadId: number): Promise<{ pagingMode?: string }> {
  try {
    const w = await fetchWalk(link, '0x0', 'gva', threadId);
    return w.mode ? { pagingMode: w.mode } : {};
  } catch {
    return {};
  }
}
