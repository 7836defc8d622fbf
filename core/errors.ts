/** A failure with a stable code that clients can rely on; HTTP maps `status`, sockets send `{code,message}`. */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const badRequest = (code: string, message: string, details?: unknown) => new AppError(400, code, message, details);
export const unauthorized = (message = '请先登录') => new AppError(401, 'unauthorized', message);
export const forbidden = (message = '没有权限执行此操作') => new AppError(403, 'forbidden', message);
export const notFound = (what: string) => new AppError(404, 'not_found', `${what}不存在`);
export const conflict = (code: string, message: string) => new AppError(409, code, message);
export const payloadTooLarge = (limit: number) => new AppError(413, 'payload_too_large', `请求体超过 ${limit} 字节上限`);
export const unsupportedMediaType = (expected: string) => new AppError(415, 'unsupported_media_type', `Content-Type 必须是 ${expected}`);
export const unavailable = (message = '服务暂不可用，请稍后重试') => new AppError(503, 'unavailable', message);

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}
