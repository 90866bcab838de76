import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { alertTypes, type AlertType } from '../alerts/alert.js';
import type { ServerToken } from './config.js';
import { BEARER_SUBPROTOCOL_PREFIX } from './frames.js';
import { scopeNames, type Scope } from './scopes.js';

/** Who a request authenticated as: the token's name (never the token) and what it may see. */
export interface Principal {
  readonly name: string;
  readonly scopes: ReadonlySet<Scope>;
  readonly types: readonly AlertType[];
  readonly maxConnections: number;
}

/**
 * The configured bearer tokens. A presented token is compared against every configured
 * one, through fixed-length digests and `timingSafeEqual`, without an early exit: the
 * time taken says nothing about how much of a token was right, or which one matched.
 */
export class TokenTable {
  private readonly entries: { digest: Buffer; principal: Principal }[];

  constructor(tokens: readonly ServerToken[]) {
    this.entries = tokens.map((t) => ({
      digest: digest(t.token),
      principal: {
        name: t.name,
        scopes: new Set(t.scopes),
        types: t.types ?? alertTypes,
        maxConnections: t.maxConnections,
      },
    }));
  }

  get size(): number {
    return this.entries.length;
  }

  authenticate(presented: string | undefined): Principal | undefined {
    if (presented === undefined) return undefined;
    const d = digest(presented);
    let found: Principal | undefined;
    for (const e of this.entries) if (timingSafeEqual(e.digest, d) && found === undefined) found = e.principal;
    return found;
  }
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/** A one-time token holding every scope, for `vigil start` when none is configured (printed in the URL fragment). */
export function generatedToken(maxConnections = 16): ServerToken {
  return { name: 'generated', token: randomBytes(24).toString('base64url'), scopes: [...scopeNames], maxConnections };
}

/**
 * The token a request presents: `Authorization: Bearer <token>`, or (browsers cannot set
 * headers on a WebSocket) an offered subprotocol `vigil.bearer.<token>`.
 */
export function presentedToken(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (auth !== undefined) {
    const m = /^Bearer ([^\s]+)$/i.exec(auth.trim());
    return m?.[1];
  }
  const offered = req.headers['sec-websocket-protocol'];
  if (offered === undefined) return undefined;
  for (const p of offered.split(',')) {
    const name = p.trim();
    if (name.startsWith(BEARER_SUBPROTOCOL_PREFIX)) return name.slice(BEARER_SUBPROTOCOL_PREFIX.length);
  }
  return undefined;
}

/**
 * Which browser origins may open the stream: the configured list, or when it is empty, the
 * server's own origin under its loopback spellings. No Origin header means a non-browser
 * client, which the token alone authenticates (an origin check only protects browsers).
 */
export class OriginPolicy {
  private readonly allowed: Set<string>;

  constructor(configured: readonly string[], host: string, port: number) {
    this.allowed = new Set(configured.map((o) => o.toLowerCase()));
    if (configured.length === 0) {
      for (const h of new Set([host, '127.0.0.1', 'localhost', '[::1]']))
        this.allowed.add(`http://${h}:${port}`.toLowerCase());
    }
  }

  allows(origin: string | undefined): boolean {
    return origin === undefined || this.allowed.has(origin.toLowerCase());
  }
}
