import { zonedParts } from '../time.ts';

/** A team's opening hours; null means always open. */
export interface BusinessHours {
  tz: string;
  /** ISO weekdays, 1 = Monday */
  days: number[];
  start: string;
  end: string;
}

const local = (d: Date, tz: string) => zonedParts(d, tz);

const toMinutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/**
 * `minutes` of working time after `from`: the SLA clock only runs while the team is open, so a message at
 * 23:00 is due the next morning, not at 23:05. Walks minute by minute over closed spans, bounded to 14 days.
 */
export function addBusinessMinutes(from: Date, minutes: number, hours: BusinessHours | null): Date {
  if (!hours) return new Date(from.getTime() + minutes * 60_000);
  const open = toMinutes(hours.start);
  const close = toMinutes(hours.end);
  let t = from.getTime();
  let left = minutes;
  const limit = t + 14 * 86_400_000;
  while (left > 0 && t < limit) {
    const { weekday, minutes: m } = local(new Date(t), hours.tz);
    const isOpen = hours.days.includes(weekday) && m >= open && m < close;
    if (isOpen) {
      // consume up to the closing time in one step
      const step = Math.min(left, close - m);
      t += step * 60_000;
      left -= step;
    } else {
      // jump to the next opening minute (at most a day ahead, then re-check the weekday)
      const wait = m < open ? open - m : 24 * 60 - m + open;
      t += wait * 60_000;
    }
  }
  return new Date(t);
}
