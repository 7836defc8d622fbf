// PostgreSQL's text and jsonb cannot hold U+0000: a string with one fails its whole statement, and with it every
// other message of a group-commit batch. Nobody types it; a script can send it.

/** Whether any string in `value` (nested in arrays and plain objects too) holds U+0000. */
export function hasNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (Array.isArray(value)) return value.some(hasNul);
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) return Object.values(value).some(hasNul);
  return false;
}

/** `value` with U+0000 taken out of every string: for what a channel delivers, which is stored, never refused. */
export function withoutNul<T>(value: T): T {
  if (!hasNul(value)) return value;
  if (typeof value === 'string') return value.replaceAll('\u0000', '') as T;
  if (Array.isArray(value)) return value.map(withoutNul) as T;
  return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, withoutNul(v)])) as T;
}
