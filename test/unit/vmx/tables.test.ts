// The VMX tables are data written once; these checks catch typos against
// the encoding rules of the SDM and a few well-known values.
import { describe, it, expect } from 'vitest';
import { VMCS_FIELDS, fieldByEncoding, fieldByName, decodeEncoding } from '../../../src/engine/vmx/vmcs-fields';
import { exitReasonName, parseExitReason } from '../../../src/engine/vmx/exit-reasons';

describe('VMCS field table', () => {
  it('has unique names and encodings, with names matching their group and width', () => {
    expect(new Set(VMCS_FIELDS.map((f) => f.name)).size).toBe(VMCS_FIELDS.length);
    expect(new Set(VMCS_FIELDS.map((f) => f.encoding)).size).toBe(VMCS_FIELDS.length);
    for (const f of VMCS_FIELDS) {
      expect(f.encoding & 1, f.name).toBe(0); // full encodings only
      if (f.name.startsWith('HOST_')) expect(f.group, f.name).toBe('host');
      if (f.name.endsWith('_SELECTOR')) expect(f.width, f.name).toBe(16);
      if (f.name.endsWith('_AR_BYTES') || f.name.endsWith('_LIMIT')) expect(f.width, f.name).toBe(32);
      if (f.name.endsWith('_BASE') && f.group !== 'control') expect(f.width, f.name).toBe('natural');
    }
  });

  it('knows well-known fields and the high half of 64-bit fields', () => {
    expect(fieldByName('GUEST_RIP')).toMatchObject({ encoding: 0x681e, width: 'natural', group: 'guest' });
    expect(fieldByName('EPT_POINTER')).toMatchObject({ encoding: 0x201a, width: 64, group: 'control' });
    expect(fieldByName('VM_EXIT_REASON')).toMatchObject({ encoding: 0x4402, readOnly: true, group: 'exit-info' });
    expect(fieldByEncoding(0x201b)).toMatchObject({ field: { name: 'EPT_POINTER' }, high: true });
    expect(fieldByEncoding(0x681f)).toBeUndefined(); // natural-width fields have no high half
    expect(decodeEncoding(0x4826)).toEqual({ width: 32, group: 'guest', high: false, index: 0x13 });
  });
});

describe('exit reasons', () => {
  it('names and parses reasons by name or number', () => {
    expect(exitReasonName(48)).toBe('EPT_VIOLATION');
    expect(exitReasonName(0x80000021)).toBe('INVALID_GUEST_STATE');
    expect(parseExitReason('CPUID')).toBe(10);
    expect(parseExitReason('ept violation')).toBe(48);
    expect(parseExitReason('30')).toBe(30);
    expect(parseExitReason('0x1e')).toBe(30);
    expect(parseExitReason('NOPE')).toBeUndefined();
  });
});
