import type { Context, Next } from 'koa';

/** Sent with every answer, the channel callbacks' included. */
export const SECURITY_HEADERS: readonly (readonly [string, string])[] = [
  ['X-Content-Type-Options', 'nosniff'],
  ['X-Frame-Options', 'DENY'],
  ['Referrer-Policy', 'no-referrer'],
  ['Cross-Origin-Opener-Policy', 'same-origin'],
  // the console and chat page load only their own scripts; Ant Design injects its CSS at runtime (inline styles)
  [
    'Content-Security-Policy',
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob: https:; connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
  ],
];

export async function securityHeaders(ctx: Context, next: Next): Promise<void> {
  for (const [name, value] of SECURITY_HEADERS) ctx.set(name, value);
  await next();
}
