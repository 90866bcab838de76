import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logs on stderr (stdout stays the CLI's own output). The level comes from
 * `server.logLevel`, overridden by `VIGIL_LOG_LEVEL`. Rule for callers: at info and above,
 * log counts, names and codes, never a customer id, a token or a payload.
 */
export function createLogger(level: string, env: Record<string, string | undefined> = process.env): Logger {
  return pino(
    { level: env.VIGIL_LOG_LEVEL ?? level, base: { service: 'vigil' }, redact: ['token', 'authorization', 'req.headers.authorization'] },
    pino.destination({ fd: 2, sync: false }),
  );
}
