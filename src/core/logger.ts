import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logs on stderr (stdout stays the CLI's own output), at `server.logLevel`
 * (from the environment as `VIGIL_SERVER__LOG_LEVEL`, like every setting). Rule for callers:
 * at info and above, log counts, names and codes, never a customer id, a token or a payload.
 */
export function createLogger(level: string): Logger {
  return pino(
    { level, base: { service: 'vigil' }, redact: ['token', 'authorization', 'req.headers.authorization'] },
    pino.destination({ fd: 2, sync: false }),
  );
}
