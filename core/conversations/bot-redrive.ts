import type { Sql } from '../db/client.ts';
import type { MessageRow } from './rows.ts';

/**
 * Customer messages the bot never answered: the conversation is still the bot's, its last message is the
 * customer's and older than `afterMs` (a node died between storing it and answering). Each is claimed once across
 * nodes, so a message the bot still cannot answer is not tried again and again. Greetings (enter-session events)
 * are left out: late, they would only be noise. Messages older than a day are left to the agents.
 */
export async function claimUnansweredByBot(sql: Sql, opts: { afterMs: number; limit: number }): Promise<MessageRow[]> {
  return sql<MessageRow[]>`
    with waiting as (
      select m.id from conversations c
        join messages m on m.conversation_id = c.id and m.seq = c.last_seq
       where c.status = 'bot'
         and c.last_customer_message_at < now() - ${opts.afterMs} * interval '1 millisecond'
         and c.last_customer_message_at > now() - interval '1 day'
         and m.sender_type = 'customer' and m.type <> 'event'
         and not exists (select 1 from bot_redrives r where r.message_id = m.id)
       order by c.last_customer_message_at
       limit ${opts.limit}),
    claimed as (
      insert into bot_redrives (message_id) select id from waiting on conflict do nothing returning message_id)
    select * from messages where id in (select message_id from claimed) order by created_at`;
}
