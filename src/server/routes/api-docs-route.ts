import type { ServerResponse } from 'node:http';
import { asyncApiDocument, openApiDocument } from '../api-specs.js';
import { sendJson } from '../http-api.js';

const DOCUMENTS: Readonly<Record<string, () => unknown>> = {
  '/v1/openapi.json': openApiDocument,
  '/v1/asyncapi.json': asyncApiDocument,
};

/** `GET /v1/openapi.json` and `/v1/asyncapi.json`, public; false for any other path. */
export function serveApiDocs(pathname: string, res: ServerResponse): boolean {
  const document = DOCUMENTS[pathname];
  if (document === undefined) return false;
  sendJson(res, 200, document());
  return true;
}
