import type { ServerResponse } from 'node:http';
import type { ErrorCode } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { sendError } from '../http-api.js';
import type { StaticFiles } from '../static-files.js';

/** The dashboard's files, the last route: a path no route and no file answers is a 404. */
export function serveFile(
  pathname: string,
  res: ServerResponse,
  head: boolean,
  files: StaticFiles,
  refused: (code: ErrorCode) => void,
  log: Logger,
): void {
  files.serve(pathname, res, head).then(
    (served) => {
      if (!served) {
        refused('VIGIL_ERR_NOT_FOUND');
        sendError(res, 404, 'VIGIL_ERR_NOT_FOUND', 'no such path');
      }
    },
    (e: unknown) => {
      log.error({ err: e }, 'static file failed');
      sendError(res, 500, 'VIGIL_ERR_SERVER_INTERNAL', 'file could not be served');
    },
  );
}
