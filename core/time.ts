/** Times leave the server as ISO 8601 UTC strings. */
export const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);

export interface ZonedParts {
  year: number;
  month: number;
  day: number;
  /** ISO weekday, 1 = Monday */
  weekday: number;
  /** minutes since local midnight */
  minutes: number;
}

/** The wall clock of `d` in a time zone (shops count days and hours in Asia/Shanghai, servers in UTC). */
export function zonedParts(d: Date, tz: string): ZonedParts {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone: tz,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    weekday: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hour12: false,
  }).formatToParts(d);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
  return {
    year: Number(get('year')),
    month: Number(get('month')),
    day: Number(get('day')),
    weekday: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'].indexOf(get('weekday')) + 1,
    minutes: (Number(get('hour')) % 24) * 60 + Number(get('minute')),
  };
}
