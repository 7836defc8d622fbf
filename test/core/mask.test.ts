import { describe, expect, it } from 'vitest';
import { maskPhone, normalizePhone } from '../../core/customers/mask.ts';

describe('phone masking', () => {
  it('masks the middle four digits of a mainland number', () => {
    expect(maskPhone('13812345678')).toBe('138****5678');
  });
  it('masks other lengths without revealing the middle', () => {
    expect(maskPhone('12345')).toBe('1***5');
    expect(maskPhone('12')).toBe('**');
    expect(maskPhone(null)).toBeNull();
  });
  it('normalizes +86, spaces and dashes, and rejects non-mobile numbers', () => {
    expect(normalizePhone('+86 138-1234-5678')).toBe('13812345678');
    expect(normalizePhone('8613812345678')).toBe('13812345678');
    expect(normalizePhone('010-12345678')).toBeNull();
  });
});
