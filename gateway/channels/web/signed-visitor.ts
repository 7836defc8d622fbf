import { createHmac } from 'node:crypto';
import { jwtVerify } from 'jose';
import { AppError } from '../../../core/errors.ts';

/** Longest a shop may make an identity token live: it is a sign-in, handed to a page. */
export const IDENTITY_TOKEN_MAX_S = 24 * 3600;

/**
 * A shop's signed-in user on the chat page. The shop's server signs `{sub: its user id, exp}` (HS256, with
 * WEB_CHAT_SECRET); the page passes it as `identityToken`. The visitor id it stands for is a keyed hash of the user
 * id, so one user has one chat history across devices and nobody can work it out from a user id: a page that
 * passed its own user ids as visitor ids would let anyone who guesses one read that customer's chat.
 */
export async function visitorFromIdentityToken(secret: string | undefined, token: string): Promise<string> {
  if (!secret) throw new AppError(400, 'identity_not_configured', '未配置 WEB_CHAT_SECRET，无法识别已登录用户');
  const key = new TextEncoder().encode(secret);
  let sub: unknown;
  try {
    const { payload } = await jwtVerify(token, key, { algorithms: ['HS256'], requiredClaims: ['sub', 'exp'] });
    if (payload.iat !== undefined && payload.exp! - payload.iat > IDENTITY_TOKEN_MAX_S) throw new Error('lifetime');
    if (payload.exp! - Date.now() / 1000 > IDENTITY_TOKEN_MAX_S) throw new Error('lifetime');
    sub = payload.sub;
  } catch {
    throw new AppError(401, 'invalid_identity', '身份令牌无效或已过期，请重新打开聊天页');
  }
  if (typeof sub !== 'string' || sub.length < 1 || sub.length > 128) throw new AppError(401, 'invalid_identity', '身份令牌无效或已过期，请重新打开聊天页');
  return `u_${createHmac('sha256', secret).update(`web-user:${sub}`).digest('base64url')}`;
}
