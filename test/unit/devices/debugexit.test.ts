// isa-debug-exit: the exit status is (value << 1) | 1, as QEMU computes it.
import { describe, expect, it } from 'vitest';
import { IoBus } from '../../../src/engine/devices/bus';
import { DebugExit, DEBUG_EXIT_BASE, DEBUG_EXIT_SIZE } from '../../../src/engine/devices/debugexit';

describe('isa-debug-exit', () => {
  it('ends the run with status (v << 1) | 1 for any access size in its range', () => {
    const statuses: number[] = [];
    const io = new IoBus();
    io.register(DEBUG_EXIT_BASE, DEBUG_EXIT_SIZE, new DebugExit((s) => statuses.push(s)));
    io.out(0xf4, 1, 0x10);
    io.out(0xf4, 4, 0);
    io.out(0xf6, 2, 0x31);
    expect(statuses).toEqual([0x21, 1, 0x63]);
    io.out(0xf8, 1, 1); // outside the range: nothing
    expect(statuses.length).toBe(3);
  });
});
