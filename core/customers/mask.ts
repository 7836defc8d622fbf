/** Normalizes a mainland phone number to its 11 digits (drops +86, spaces, dashes); returns null when it is not one. */
export function normalizePhone(raw: string): string | null {
  const digits = raw.replace(/[\s\-()（）]/g, '').replace(/^(\+?86)/, '');
  return /^1\d{10}$/.test(digits) ? digits : null;
}

/** 13812345678 -> 138****5678; anything else keeps only its first and last character. */
export function maskPhone(phone: string | null): string | null {
  if (!phone) return phone;
  if (phone.length === 11) return `${phone.slice(0, 3)}****${phone.slice(7)}`;
  if (phone.length <= 2) return '*'.repeat(phone.length);
  return `${phone[0]}${'*'.repeat(phone.length - 2)}${phone[phone.length - 1]}`;
}
