import type { z } from 'zod';
import { badRequest } from '../core/errors.ts';
import { hasNul } from '../core/nul.ts';

export function parse<S extends z.ZodType>(schema: S, data: unknown): z.infer<S> {
  const r = schema.safeParse(data);
  if (r.success) {
    if (hasNul(r.data)) throw badRequest('invalid_text', '内容不能包含空字符（U+0000）');
    return r.data;
  }
  throw badRequest(
    'invalid_request',
    `请求参数有误：${r.error.issues.map((i) => `${i.path.join('.') || '(body)'} ${i.message}`).join('; ')}`,
    r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
  );
}
