import type { Deps } from '../deps.ts';
import type { Queryable } from '../db/client.ts';
import { sendOutbound } from '../conversations/outbound.ts';
import { recordTicketEvent } from './history.ts';
import { scheduleRuns } from '../recovery/schedule.ts';

export const CSAT_QUESTION = '本次服务您满意吗？请回复数字 1-5 评分（5 分最满意），也可以直接留言说说建议。';
const RATING = /^\s*([1-5])\s*(分|星|颗星)?\s*[。.!！]?\s*$/;
const CSAT_WINDOW_HOURS = 24;

/** Asks the customer to rate the service on their channel (quietly skipped when WeChat's window is closed). */
export async function requestCsat(deps: Deps, ticketId: string, conversationId: string): Promise<boolean> {
  try {
    await sendOutbound(deps, { conversationId, senderType: 'system', text: CSAT_QUESTION, payload: { csat: { ticketId }, quickReplies: ['5', '4', '3', '2', '1'] } });
  } catch (err) {
    deps.log.info({ err: (err as Error).message, ticketId }, 'csat request not sent');
    return false;
  }
  await deps.sql`update tickets set csat_requested_at = now() where id = ${ticketId}`;
  return true;
}

/** A bare 1-5 ("5", "4分", "5星。") is a rating; anything else is not. */
export function ratingOf(text: string): number | null {
  const m = RATING.exec(text);
  return m ? Number(m[1]) : null;
}

/**
 * A rating from a customer who was asked within the last day goes on that ticket (and so on the profile), in
 * the caller's transaction. Returns the ticket rated, or null when nobody asked this customer.
 */
export async function recordCsatIn(q: Queryable, customerId: string, score: number): Promise<{ id: string; number: number } | null> {
  const [t] = await q<{ id: string; number: number }[]>`
    update tickets set csat_score = ${score}, csat_at = now()
     where id = (select id from tickets
                  where customer_id = ${customerId} and csat_requested_at > now() - ${CSAT_WINDOW_HOURS} * interval '1 hour' and csat_score is null
                  order by csat_requested_at desc limit 1 for update skip locked)
    returning id, number`;
  if (!t) return null;
  await recordTicketEvent(q, t.id, 'csat', null, { score });
  // a low score may start a playbook (apology, follow-up by a senior agent); each playbook says how low
  if (score <= 4)
    await scheduleRuns(q, [{ type: 'unhappy', customerId, reasonKey: `csat:${t.id}`, context: { at: new Date().toISOString(), csat: score, ticketId: t.id } }]);
  return t;
}

/**
 * A bare 1-5 from a customer who was asked to rate within the last day is their rating: it goes on the ticket
 * (and so on the profile). Returns the ticket number rated, or null when the text is not a rating.
 */
export async function recordCsatReply(deps: Deps, customerId: string, text: string): Promise<number | null> {
  const score = ratingOf(text);
  return score === null ? null : ((await recordCsatIn(deps.sql, customerId, score))?.number ?? null);
}
