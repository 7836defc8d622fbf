import { randomUUID } from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';
import { unauthorized } from '../errors.ts';
import type { Role } from './rows.ts';

const ISSUER = 'huike';
export const TOKEN_TTL_S = 12 * 3600; // one working day

export interface TokenClaims {
  sub: string;
  role: Role;
  /** the agent's session epoch when it was signed: a password change, a reset or disabling moves it on */
  sv: number;
}

/** What a verified token says: who, and its id and expiry (a logout revokes that id until it would expire). */
export interface VerifiedToken extends TokenClaims {
  jti: string;
  exp: Date;
}

export class TokenService {
  private key: Uint8Array;
  constructor(secret: string) {
    this.key = new TextEncoder().encode(secret);
  }

  sign(claims: TokenClaims): Promise<string> {
    return new SignJWT({ role: claims.role, sv: claims.sv })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(claims.sub)
      .setIssuer(ISSUER)
      .setIssuedAt()
      .setJti(randomUUID())
      .setExpirationTime(`${TOKEN_TTL_S}s`)
      .sign(this.key);
  }

  async verify(token: string): Promise<VerifiedToken> {
    try {
      const { payload } = await jwtVerify(token, this.key, { issuer: ISSUER, algorithms: ['HS256'] });
      if (typeof payload.sub !== 'string' || typeof payload.role !== 'string' || typeof payload.jti !== 'string' || typeof payload.exp !== 'number')
        throw new Error('claims');
      // tokens signed before epochs existed carry none: they belong to epoch 0, which every agent started at
      const sv = payload.sv === undefined ? 0 : payload.sv;
      if (typeof sv !== 'number' || !Number.isInteger(sv)) throw new Error('claims');
      return { sub: payload.sub, role: payload.role as Role, jti: payload.jti, exp: new Date(payload.exp * 1000), sv };
    } catch {
      throw unauthorized('登录已失效，请重新登录');
    }
  }
}
