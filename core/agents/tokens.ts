import { SignJWT, jwtVerify } from 'jose';
import { unauthorized } from '../errors.ts';
import type { Role } from './rows.ts';

const ISSUER = 'huike';
export const TOKEN_TTL_S = 12 * 3600; // one working day

export interface TokenClaims {
  sub: string;
  role: Role;
}

export class TokenService {
  private key: Uint8Array;
  constructor(secret: string) {
    this.key = new TextEncoder().encode(secret);
  }

  sign(claims: TokenClaims): Promise<string> {
    return new SignJWT({ role: claims.role })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(claims.sub)
      .setIssuer(ISSUER)
      .setIssuedAt()
      .setExpirationTime(`${TOKEN_TTL_S}s`)
      .sign(this.key);
  }

  async verify(token: string): Promise<TokenClaims> {
    try {
      const { payload } = await jwtVerify(token, this.key, { issuer: ISSUER, algorithms: ['HS256'] });
      if (typeof payload.sub !== 'string' || typeof payload.role !== 'string') throw new Error('claims');
      return { sub: payload.sub, role: payload.role as Role };
    } catch {
      throw unauthorized('登录已失效，请重新登录');
    }
  }
}
