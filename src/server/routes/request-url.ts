import type { IncomingMessage } from 'node:http';

/** The request target as a URL, or undefined when it does not parse (`//[`): never a throw in a handler. */
export function requestUrl(req: IncomingMessage): URL | undefined {
  try {
    return new URL(req.url ?? '/', 'http://localhost');
  } catch {
    return undefined;
  }
}
