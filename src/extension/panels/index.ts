// The panels' entry: registerPanels(context) registers the four commands
// (vmscope.showMemoryMap, vmscope.showAddressWalk, vmscope.showExitTimeline,
// vmscope.showVmcs; their menus are in package.json contributes) and starts
// watching vmscope debug sessions. Called once from extension.ts.

import * as vscode from 'vscode';
import type { MapSpace } from '../../common/messages';
import { PanelHost, type PanelSpec } from './host';
import { SessionModel } from './session-model';
import { sessionOf, watchDebugSessions } from './watcher';
import { openMemoryView } from './memory-view';
import { MemoryMapController } from './controllers/memory-map';
import { WalkController } from './controllers/walk';
import { TimelineController } from './controllers/timeline';
import { VmcsController } from './controllers/vmcs';
import { addressFromArgument } from './address-argument';

const SPECS = {
  memoryMap: { id: 'memory-map', title: 'vmscope: Memory Map', create: (env) => new MemoryMapController(env) } satisfies PanelSpec<MemoryMapController>,
  walk: { id: 'walk', title: 'vmscope: Address Walk', create: (env) => new WalkController(env) } satisfies PanelSpec<WalkController>,
  timeline: { id: 'timeline', title: 'vmscope: Exit Timeline', create: (env) => new TimelineController(env) } satisfies PanelSpec<TimelineController>,
  vmcs: { id: 'vmcs', title: 'vmscope: VMCS', create: (env) => new VmcsController(env) } satisfies PanelSpec<VmcsController>,
};

export function registerPanels(context: vscode.ExtensionContext): void {
  const model = new SessionModel();
  const openMemory = async (space: MapSpace, address: string, length: number): Promise<void> => {
    const session = model.link && sessionOf(model.link);
    if (!session) throw new Error('no vmscope debug session to read memory from');
    await openMemoryView(session, space, address, length);
  };
  const memoryMap = new PanelHost(context, model, SPECS.memoryMap, openMemory);
  const walk = new PanelHost(context, model, SPECS.walk, openMemory);
  const timeline = new PanelHost(context, model, SPECS.timeline, openMemory);
  const vmcs = new PanelHost(context, model, SPECS.vmcs, openMemory);

  context.subscriptions.push(
    ...watchDebugSessions(model),
    memoryMap, walk, timeline, vmcs,
    vscode.commands.registerCommand('vmscope.showMemoryMap', () => { memoryMap.show(); }),
    vscode.commands.registerCommand('vmscope.showAddressWalk', (arg?: unknown) => {
      const controller = walk.show();
      const address = addressFromArgument(arg);
      if (address) controller.showAddress(address);
    }),
    vscode.commands.registerCommand('vmscope.showExitTimeline', () => { timeline.show(); }),
    vscode.commands.registerCommand('vmscope.showVmcs', () => { vmcs.show(); }),
  );
}
