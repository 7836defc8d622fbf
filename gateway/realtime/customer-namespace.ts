import { randomBytes } from 'node:crypto';
import type { Namespace } from 'socket.io';
import type { Deps } from '../../core/deps.ts';
import { presentMessage } from '../../core/conversations/presenter.ts';
import type { ConversationRow } from '../../core/conversations/rows.ts';
import { listMessages } from '../../core/conversations/queries.ts';
import { ingestWebMessage, ISSUED_VISITOR_ID, VISITOR_ID } from '../channels/web/inbound.ts';
import { visitorFromIdentityToken } from '../channels/web/signed-visitor.ts';
import { isAppError } from '../../core/errors.ts';
import type { Metrics } from '../metrics.ts';
import { parse } from '../validate.ts';
import { withAck } from './ack.ts';
import { tokenBucket } from './rate-limit.ts';
import { rooms } from './rooms.ts';
import { z } from 'zod';

const historySchema = z.object({ afterSeq: z.number().int().min(0).default(0) }).default({ afterSeq: 0 });

/** The web/H5 chat page. A visitor id is the customer's key to their chat; a new visitor gets one. */
export function setupCustomerNamespace(ns: Namespace, deps: Deps, metrics: Metrics, opts: { webChatSecret?: string; visitorIds?: 'any' | 'issued' } = {}) {
  const keeps = (id: unknown): id is string => typeof id === 'string' && (opts.visitorIds === 'issued' ? ISSUED_VISITOR_ID : VISITOR_ID).test(id);
  ns.use(async (socket, next) => {
    const { visitorId: given, identityToken } = socket.handshake.auth ?? {};
    if (typeof identityToken === 'string') {
      // a shop's signed-in user: refused with the reason rather than served as an anonymous visitor
      try {
        socket.data.visitorId = await visitorFromIdentityToken(opts.webChatSecret, identityToken);
        return next();
      } catch (err) {
        const e = new Error(isAppError(err) ? err.message : '身份令牌无效') as Error & { data?: unknown };
        e.data = { code: isAppError(err) ? err.code : 'invalid_identity' };
        return next(e);
      }
    }
    socket.data.visitorId = keeps(given) ? given : `v_${randomBytes(18).toString('base64url')}`;
    next();
  });

  ns.on('connection', (socket) => {
    const visitorId: string = socket.data.visitorId;
    const log = deps.log.child({ ns: 'customer', visitorId });
    const allow = tokenBucket(10, 1);
    metrics.socketsConnected.inc({ namespace: 'customer' });
    socket.on('disconnect', () => metrics.socketsConnected.dec({ namespace: 'customer' }));
    socket.join(rooms.visitor(visitorId));
    socket.emit('session', { visitorId });

    socket.on(
      'message:send',
      withAck(log, async (input: unknown) => {
        allow();
        const result = await ingestWebMessage(deps, visitorId, input);
        if (!result.duplicate) metrics.messagesIngested.inc({ channel: 'web' });
        return { message: presentMessage(result.message), duplicate: result.duplicate };
      }),
    );

    // "客户正在输入…" for the agent: at most one signal every 2 s per page, never stored
    let lastTyping = 0;
    socket.on('typing', async () => {
      if (Date.now() - lastTyping < 2000) return;
      lastTyping = Date.now();
      try {
        const [c] = await deps.sql<ConversationRow[]>`
          select c.* from conversations c join identities i on i.id = c.identity_id
           where i.kind = 'web_visitor' and i.value = ${visitorId} and c.status <> 'resolved'
           order by c.created_at desc limit 1`;
        if (c) ns.server.of('/agent').to(rooms.forConversation(c)).emit('typing', { conversationId: c.id });
      } catch (err) {
        log.debug({ err }, 'typing signal dropped');
      }
    });

    socket.on(
      'history',
      withAck(log, async (input: unknown) => {
        const { afterSeq } = parse(historySchema, input ?? undefined);
        const [conversation] = await deps.sql<ConversationRow[]>`
          select c.* from conversations c join identities i on i.id = c.identity_id
           where i.kind = 'web_visitor' and i.value = ${visitorId}
           order by c.created_at desc limit 1`;
        if (!conversation) return { conversationId: null, status: null, messages: [] };
        const messages = await listMessages(deps.sql, conversation.id, afterSeq, 500);
        return { conversationId: conversation.id, status: conversation.status, messages: messages.map(presentMessage) };
      }),
    );
  });
}
