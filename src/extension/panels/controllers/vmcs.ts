// Host half of the VMCS inspector: the current VMCS of the stopped vCPU
// (vmscope/vmcs) at every stop, tagged with the stop number so the panel can
// mark the fields that changed since the previous stop. "No current VMCS"
// (no VMX yet, or VMPTRLD not executed) is a normal answer, shown as the
// panel's empty state.

import { fetchVmcs } from '../adapter-data';
import { PanelController } from './base';

export class VmcsController extends PanelController {
  protected async refresh(): Promise<void> {
    const model = this.env.model;
    const { link, threadId } = model;
    if (!link || !model.stopped || threadId === undefined) return;
    const status = model.status();
    const stopCount = status.state === 'stopped' ? status.stopCount : 0;
    await this.latest('vmcs', () => fetchVmcs(link, threadId), (a) => this.env.post({ type: 'vmcs', stopCount, ...a }));
  }
}
