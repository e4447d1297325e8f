// Deterministic random numbers for the differential tests: one sequence is a
// pure function of its 32-bit seed, so a seed printed by a failing run
// regenerates exactly the same instructions, registers, flags and memory.
//
// mulberry32 (a small, well-mixed 32-bit generator); the seed is first run
// through a splitmix-style finaliser so that consecutive seeds (a run uses
// base, base+1, ...) give unrelated streams.

export class Rng {
  private s: number;

  constructor(seed: number) {
    let z = (seed >>> 0) ^ 0x9e3779b9;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    this.s = (z ^ (z >>> 16)) >>> 0;
  }

  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    this.s = (this.s + 0x6d2b79f5) | 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** An integer in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor((this.u32() / 0x1_0000_0000) * (hi - lo + 1));
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.u32() / 0x1_0000_0000 < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[this.int(0, items.length - 1)]!;
  }

  /** An item chosen with probability proportional to weight(item). */
  weighted<T>(items: readonly T[], weight: (t: T) => number): T {
    let total = 0;
    for (const it of items) total += weight(it);
    let x = (this.u32() / 0x1_0000_0000) * total;
    for (const it of items) {
      x -= weight(it);
      if (x < 0) return it;
    }
    return items[items.length - 1]!;
  }

  /** A uniform 64-bit unsigned value. */
  u64(): bigint {
    return (BigInt(this.u32()) << 32n) | BigInt(this.u32());
  }

  /**
   * A value of `bits` bits, unsigned, biased towards the edges where
   * arithmetic goes wrong: 0, 1, all ones, the sign boundary, small numbers,
   * single bits, and otherwise uniform.
   */
  interesting(bits: 8 | 16 | 32 | 64): bigint {
    const mask = (1n << BigInt(bits)) - 1n;
    const sign = 1n << BigInt(bits - 1);
    switch (this.int(0, 11)) {
      case 0: return 0n;
      case 1: return this.pick([1n, 2n, mask, mask - 1n]);
      case 2: return this.pick([sign, sign - 1n, sign + 1n]);
      case 3: return BigInt(this.int(0, 16));
      case 4: return (mask - BigInt(this.int(0, 16))) & mask;
      case 5: return 1n << BigInt(this.int(0, bits - 1));
      default: return this.u64() & mask;
    }
  }
}
