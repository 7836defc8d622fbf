import type { Deps } from '../../../core/deps.ts';
import { ingestInbound } from '../../../core/conversations/ingest.ts';
import { findOutboundByChannelId, markUndeliverable } from '../../../core/conversations/delivery.ts';
import { identityExists, linkWechatIdentity } from '../../../core/customers/wechat-link.ts';
import { resolveConversation } from '../../../core/tickets/tickets.ts';
import { REPLIES } from '../../../bot/replies.ts';
import { kfFailType } from '../wx/delivery-errors.ts';
import type { KfClient, KfSyncedMessage } from './client.ts';
import { mapKfMessage } from './incoming.ts';

export const ORIGIN_CUSTOMER = 3;
export const ORIGIN_EVENT = 4;
export const ORIGIN_SERVICER = 5;


export interface KfHandlerContext {
  deps: Deps;
  client: KfClient;
  welcomeText?: string;
}

/**
 * Applies one synced message or event. Every branch is idempotent (messages dedupe on msgid, failures and
 * session ends are set-once), because a sync interrupted before its cursor was saved replays the whole page.
 */
export async function handleSyncedMessage(ctx: KfHandlerContext, msg: KfSyncedMessage): Promise<void> {
  if (msg.msgtype === 'event' || msg.origin === ORIGIN_EVENT) return handleEvent(ctx, msg);
  if (!msg.external_userid) return;
  if (msg.origin !== ORIGIN_CUSTOMER && msg.origin !== ORIGIN_SERVICER) return;
  await knowCustomer(ctx, msg.external_userid);
  const mapped = mapKfMessage(msg);
  await ingestInbound(ctx.deps, {
    channel: 'wecom_kf',
    channelMsgId: msg.msgid,
    channelAccount: msg.open_kfid,
    identity: { kind: 'wecom_external_userid', value: msg.external_userid },
    type: mapped.type,
    text: mapped.text ?? undefined,
    payload: msg.origin === ORIGIN_SERVICER ? { ...mapped.payload, servicerUserId: msg.servicer_userid ?? null } : mapped.payload,
    // a servicer writing from the WeCom app: history, not a customer question
    echo: msg.origin === ORIGIN_SERVICER,
  });
}

/** First sight of a customer: fetch nickname, avatar and unionid so the agent sees a name and OneID can join. */
async function knowCustomer(ctx: KfHandlerContext, externalUserId: string): Promise<void> {
  if (await identityExists(ctx.deps, 'wecom_external_userid', externalUserId)) return;
  let profile: { nickname?: string; avatar?: string; unionid?: string } = {};
  try {
    [profile = {}] = await ctx.client.batchgetCustomers([externalUserId]);
  } catch (err) {
    // a missing nickname is no reason to lose the message
    ctx.deps.log.warn({ err, externalUserId }, 'kf customer/batchget failed');
  }
  await linkWechatIdentity(ctx.deps, {
    kind: 'wecom_external_userid',
    value: externalUserId,
    nickname: profile.nickname || undefined,
    avatar: profile.avatar || undefined,
    unionid: profile.unionid || undefined,
  });
}

async function handleEvent(ctx: KfHandlerContext, msg: KfSyncedMessage): Promise<void> {
  const event = (msg.event ?? {}) as Record<string, unknown>;
  const log = ctx.deps.log;
  switch (event.event_type) {
    case 'enter_session': {
      const externalUserId = String(event.external_userid ?? '');
      if (externalUserId) await knowCustomer(ctx, externalUserId);
      // the code is single-use and short-lived: a replayed page gets an error here, which is harmless
      if (event.welcome_code) {
        await ctx.client
          .sendMsgOnEvent({ code: String(event.welcome_code), msgtype: 'text', text: { content: ctx.welcomeText ?? REPLIES.welcome } })
          .catch((err) => log.warn({ err, externalUserId }, 'kf welcome message not sent'));
      }
      return;
    }
    case 'msg_send_fail': {
      const failMsgId = String(event.fail_msgid ?? '');
      const ours = failMsgId ? await findOutboundByChannelId(ctx.deps, 'wecom_kf', failMsgId) : null;
      if (!ours) return void log.info({ failMsgId }, 'msg_send_fail for a message we did not send');
      await markUndeliverable(ctx.deps, { messageId: ours.id }, kfFailType(Number(event.fail_type ?? 0)));
      return;
    }
    case 'session_status_change': {
      // 3 = a WeCom servicer ended the session: end ours too, so the next message starts fresh
      if (Number(event.change_type) !== 3) return void log.info({ event }, 'kf session status changed');
      const [conversation] = await ctx.deps.sql<{ id: string }[]>`
        select c.id from conversations c join identities i on i.id = c.identity_id
         where i.kind = 'wecom_external_userid' and i.value = ${String(event.external_userid ?? '')}
           and c.channel = 'wecom_kf' and c.channel_account = ${String(event.open_kfid ?? msg.open_kfid)} and c.status <> 'resolved'`;
      if (conversation) await resolveConversation(ctx.deps, conversation.id);
      return;
    }
    default:
      log.debug({ event: event.event_type }, 'kf event ignored');
  }
}
