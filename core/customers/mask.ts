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

/** Keeps the region (省/市/区 prefix) and hides the street: 广东省广州市天河区体育西路1号 -> 广东省广州市天河区****. */
export function maskAddress(address: string | null): string | null {
  if (!address) return address;
  const region = /^(.+?(省|自治区|市))?(.+?(市|自治州|地区|盟))?(.+?(区|县|旗|市))?/.exec(address)?.[0] ?? '';
  return `${region}****`;
}
