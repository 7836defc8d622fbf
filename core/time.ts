/** Times leave the server as ISO 8601 UTC strings. */
export const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);
