import { readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { packageRoot } from '../core/package-root.js';

/**
 * The dashboard's files. Only the names in this table are served, each mapped to one file
 * under the repository root, so no request path ever reaches the file system: there is
 * nothing to traverse. The root is found from config/default.json, which works from src/
 * (tsx, vitest) and from dist/src/ alike; the page files stay in src/server/dashboard/.
 */
const FILES: Readonly<Record<string, { path: string[]; type: string }>> = {
  '/': { path: ['src', 'server', 'dashboard', 'index.html'], type: 'text/html; charset=utf-8' },
  '/index.html': { path: ['src', 'server', 'dashboard', 'index.html'], type: 'text/html; charset=utf-8' },
  '/dashboard.js': { path: ['src', 'server', 'dashboard', 'dashboard.js'], type: 'text/javascript; charset=utf-8' },
  '/alert-types.js': { path: ['src', 'server', 'dashboard', 'alert-types.js'], type: 'text/javascript; charset=utf-8' },
  '/forecast.js': { path: ['src', 'server', 'dashboard', 'forecast.js'], type: 'text/javascript; charset=utf-8' },
  '/chart.js': { path: ['src', 'server', 'dashboard', 'chart.js'], type: 'text/javascript; charset=utf-8' },
  '/campaigns.js': { path: ['src', 'server', 'dashboard', 'campaigns.js'], type: 'text/javascript; charset=utf-8' },
  '/clusters.js': { path: ['src', 'server', 'dashboard', 'clusters.js'], type: 'text/javascript; charset=utf-8' },
  '/dashboard.css': { path: ['src', 'server', 'dashboard', 'dashboard.css'], type: 'text/css; charset=utf-8' },
  '/assets/uplot.iife.min.js': {
    path: ['node_modules', 'uplot', 'dist', 'uPlot.iife.min.js'],
    type: 'text/javascript; charset=utf-8',
  },
  '/assets/uPlot.min.css': {
    path: ['node_modules', 'uplot', 'dist', 'uPlot.min.css'],
    type: 'text/css; charset=utf-8',
  },
};

/**
 * Scripts, styles and connections only from this origin; no inline script, no framing, no
 * plugins. `connect-src 'self'` covers ws:// to the same host and port in CSP Level 3.
 */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

export class StaticFiles {
  private readonly root = packageRoot();

  has(pathname: string): boolean {
    return Object.hasOwn(FILES, pathname);
  }

  /** Serves `pathname` if it is in the table; false when it is not (the caller answers 404). */
  async serve(pathname: string, res: ServerResponse, head = false): Promise<boolean> {
    if (!Object.hasOwn(FILES, pathname)) return false;
    const file = FILES[pathname]!;
    let body: Buffer;
    try {
      body = await readFile(join(this.root, ...file.path));
    } catch {
      return false;
    }
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'Content-Type': file.type,
      'Content-Length': body.length,
      'Content-Security-Policy': CONTENT_SECURITY_POLICY,
      'Cache-Control': 'no-cache',
    });
    res.end(head ? undefined : body);
    return true;
  }
}
