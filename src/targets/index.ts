// Picks the backend for a launch configuration. The adapter calls this and
// then talks only to the Target interface.

import { LaunchConfigError, type LaunchConfig } from '../common/launch';
import { EmulatorTarget } from './emulator';
import type { Target } from './target';

export function createTarget(config: LaunchConfig): Target {
  if (config.engine !== 'emulator') {
    throw new LaunchConfigError('engine', `"${config.engine}" is not available in this build yet; use "emulator"`);
  }
  return new EmulatorTarget();
}

export type * from './target';
