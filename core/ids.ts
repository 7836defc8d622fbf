const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Unknown ids must answer 404, not a database cast error: check the shape before querying. */
export function isUuid(s: string): boolean {
  return UUID_RE.test(s);
}
