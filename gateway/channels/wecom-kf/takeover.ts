import type { Deps } from '../../../core/deps.ts';
import type { DomainEvent } from '../../../core/events.ts';
import type { KfClient } from './client.ts';

const SERVICE_STATE_HUMAN = 3;

/**
 * Mirrors a takeover to WeCom: when a ticket on a kf conversation is assigned to an agent who has a WeCom
 * userid, the session moves to 「人工接待」 with that servicer, so WeCom's own reports and the servicer's app
 * agree with Huike. Agents without a WeCom account leave the session with the API, which is what lets them
 * reply from the console.
 */
export function kfTakeoverMirror(deps: Deps, client: KfClient) {
  return async (event: DomainEvent): Promise<void> => {
    if (event.type !== 'ticket.assigned' || event.conversation.channel !== 'wecom_kf' || !event.ticket.assigneeId) return;
    const [row] = await deps.sql<{ wecomUserid: string | null; externalUserid: string }[]>`
      select a.wecom_userid, i.value as external_userid
        from agents a, conversations c join identities i on i.id = c.identity_id
       where a.id = ${event.ticket.assigneeId} and c.id = ${event.conversation.id}`;
    if (!row?.wecomUserid || !event.conversation.channelAccount) return;
    try {
      await client.transState({
        open_kfid: event.conversation.channelAccount,
        external_userid: row.externalUserid,
        service_state: SERVICE_STATE_HUMAN,
        servicer_userid: row.wecomUserid,
      });
    } catch (err) {
      deps.log.warn({ err, conversationId: event.conversation.id }, 'kf service_state/trans failed');
    }
  };
}
