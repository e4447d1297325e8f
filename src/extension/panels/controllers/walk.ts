// Host half of the address walk: answers translate requests with
// vmscope/translate, offers the stopped vCPU's register values as addresses
// to walk, re-walks the last address at every stop (page tables change), and
// takes addresses sent from the Variables view.

import { normalizeAddress, type MapSpace, type PanelMessage } from '../../../common/messages';
import { fetchRegisterChoices, fetchWalk } from '../adapter-data';
import { PanelController, errorText } from './base';

export class WalkController extends PanelController {
  private last: { address: string; space: MapSpace } | undefined;
  private pending: string | undefined;

  /** An address from outside the panel (Variables view context menu). */
  showAddress(address: string): void {
    const a = normalizeAddress(address);
    if (!a) {
      this.env.post({ type: 'notice', level: 'error', text: `"${address}" is not an address` });
      return;
    }
    this.pending = a;
    this.env.post({ type: 'setAddress', address: a, translate: true });
  }

  protected override async onReady(): Promise<void> {
    if (this.pending) this.env.post({ type: 'setAddress', address: this.pending, translate: true });
    await this.refreshRegisters();
  }

  protected async refresh(): Promise<void> {
    await this.refreshRegisters();
    if (this.last) await this.translate(this.last.address, this.last.space);
  }

  private async refreshRegisters(): Promise<void> {
    const { link, threadId } = this.env.model;
    if (!link || !this.env.model.stopped || threadId === undefined) return;
    await this.latest('registers', () => fetchRegisterChoices(link, threadId).catch(() => []),
      (registers) => this.env.post({ type: 'registers', registers }));
  }

  protected override async handle(m: PanelMessage): Promise<void> {
    if (m.type === 'translate') await this.translate(m.address, m.space);
  }

  private async translate(text: string, space: MapSpace): Promise<void> {
    const address = normalizeAddress(text);
    if (!address) {
      this.env.post({ type: 'walk', address: text, space, error: `"${text}" is not an address: type hex digits, e.g. 0xffff800000001000` });
      return;
    }
    this.last = { address, space };
    this.pending = undefined;
    const { link, threadId } = this.env.model;
    if (!link || !this.env.model.stopped || threadId === undefined) {
      this.env.post({ type: 'walk', address, space, error: 'the guest must be stopped to walk its page tables' });
      return;
    }
    await this.latest('walk', async () => {
      try {
        return { walk: await fetchWalk(link, address, space, threadId) };
      } catch (e) {
        return { error: errorText(e) };
      }
    }, (r) => this.env.post({ type: 'walk', address, space, ...r }));
  }
}
