// Exit statuses of the `vmscope` CLI. The guest's own status through the
// debug-exit port is (value << 1) | 1, always odd (as QEMU's isa-debug-exit
// gives it), so vmscope's own statuses are even and never collide with it.

export const enum ExitCode {
  /** The guest halted with interrupts disabled (or the command succeeded). */
  Ok = 0,
  /** Bad command line or launch attribute. */
  Usage = 2,
  /** The image could not be read or is malformed. */
  BadImage = 4,
  /** Triple fault or shutdown. */
  Shutdown = 6,
  /** The guest executed an instruction or used a feature the engine does not implement. */
  Unsupported = 8,
  /** --max-instructions or --timeout reached. */
  LimitReached = 10,
  /** Every vCPU is halted with interrupts enabled and nothing can wake them. */
  Idle = 12,
  /** A bug in vmscope. */
  Internal = 14,
  /** The requested engine is not available here. */
  EngineUnavailable = 16,
}

export const EXIT_CODE_TABLE: ReadonlyArray<[number, string]> = [
  [0, 'the guest halted with interrupts disabled'],
  [1, 'odd statuses: the guest wrote (status >> 1) to the debug-exit port 0xF4'],
  [2, 'usage error (bad flag or launch attribute)'],
  [4, 'bad image (unreadable or malformed)'],
  [6, 'triple fault / shutdown'],
  [8, 'unsupported instruction or feature'],
  [10, 'instruction limit or timeout reached'],
  [12, 'guest idle: halted with interrupts on and nothing armed to wake it'],
  [14, 'internal error in vmscope'],
  [16, 'engine not available'],
];
