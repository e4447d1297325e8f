// Exception vector names (SDM vol. 3, "Exception and Interrupt Reference"),
// written once and used by the engine, the CLI's filters and the adapter.

export const VECTOR_NAMES: Readonly<Record<number, string>> = {
  0: '#DE', 1: '#DB', 2: 'NMI', 3: '#BP', 4: '#OF', 5: '#BR', 6: '#UD', 7: '#NM', 8: '#DF',
  9: 'coprocessor segment overrun', 10: '#TS', 11: '#NP', 12: '#SS', 13: '#GP', 14: '#PF',
  16: '#MF', 17: '#AC', 18: '#MC', 19: '#XM', 20: '#VE', 21: '#CP',
};

/** Vectors whose exceptions push an error code in protected/long mode. */
export const HAS_ERROR_CODE: ReadonlySet<number> = new Set([8, 10, 11, 12, 13, 14, 17, 21]);

/** Contributory exceptions for the double-fault rules (SDM table "Conditions for Generating a Double Fault"). */
export const CONTRIBUTORY: ReadonlySet<number> = new Set([0, 10, 11, 12, 13]);

/** Parses "#PF", "PF", "14", "0xe" into a vector number. */
export function parseVector(s: string): number | undefined {
  const t = s.trim();
  if (/^(0x[0-9a-f]+|\d+)$/i.test(t)) {
    const n = Number(t);
    return n >= 0 && n < 256 ? n : undefined;
  }
  const want = (t.startsWith('#') ? t : '#' + t).toUpperCase();
  for (const [v, name] of Object.entries(VECTOR_NAMES)) if (name.toUpperCase() === want) return Number(v);
  return undefined;
}
