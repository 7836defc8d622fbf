import { z } from 'zod';
import type { Deps } from '../../../core/deps.ts';
import { ingestInbound, MAX_TEXT_LENGTH, type IngestResult } from '../../../core/conversations/ingest.ts';
import { badRequest } from '../../../core/errors.ts';

export const VISITOR_ID = /^[A-Za-z0-9_-]{8,64}$/;
/** The ids this server gives out: random ones (`v_`, 144 bits) and identity tokens' (`u_`, an HMAC). */
export const ISSUED_VISITOR_ID = /^(v_[A-Za-z0-9_-]{24}|u_[A-Za-z0-9_-]{43})$/;

// Chosen by the page for each message it sends; a resend after a lost ack reuses it and is stored once.
const clientMsgId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);
export const webMessageSchema = z.union([
  z.object({ clientMsgId, text: z.string().trim().min(1).max(MAX_TEXT_LENGTH) }),
  // a picture uploaded first (POST /channels/web/upload), sent by its URL
  z.object({ clientMsgId, image: z.string().regex(/^\/uploads\/[0-9a-f]{64}\.(png|jpg|gif|webp)$/) }),
]);

/** A message typed on the H5 chat page. Resolves after the message is durably stored. */
export async function ingestWebMessage(deps: Deps, visitorId: string, input: unknown): Promise<IngestResult> {
  const parsed = webMessageSchema.safeParse(input);
  if (!parsed.success) throw badRequest('invalid_message', '消息格式不正确或内容为空');
  const m = parsed.data;
  // a picture is sent by the URL its upload answered: one that was never uploaded would show the agent a 404
  if ('image' in m) {
    const [stored] = await deps.sql`select 1 from uploads where name = ${m.image.slice('/uploads/'.length)}`;
    if (!stored) throw badRequest('image_not_found', '图片不存在或未上传成功，请重新上传');
  }
  return ingestInbound(deps, {
    channel: 'web',
    channelMsgId: `${visitorId}:${m.clientMsgId}`,
    identity: { kind: 'web_visitor', value: visitorId },
    ...('image' in m ? { type: 'image', text: '[图片]', payload: { url: m.image } } : { type: 'text', text: m.text }),
  });
}
