/**
 * How the admin handler answers: every response through one function that adds the security
 * headers (a 401, a 404 and a redirect too), JSON bodies, and the UI's page and assets read from
 * the package (no CDN). Apart from the handler so that its routes read without the plumbing.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';

export interface Asset {
  file: string;
  type: string;
}

const ASSET_TYPES: Record<string, string> = {
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
};

/** `/assets/<file>` for each script and stylesheet of the UI (the page's ES modules import each other). */
let assets: Record<string, Asset> | undefined;
export function assetFor(path: string): Asset | undefined {
  if (!assets) {
    assets = {};
    for (const file of readdirSync(new URL('../ui/', import.meta.url))) {
      const match = /^[a-z0-9-]+\.(js|css)$/.exec(file);
      if (match) assets[`/assets/${file}`] = { file, type: ASSET_TYPES[match[1]!]! };
    }
  }
  return Object.hasOwn(assets, path) ? assets[path] : undefined;
}

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'x-frame-options': 'DENY',
};

const assetCache = new Map<string, string>();
export function assetText(file: string): string {
  let text = assetCache.get(file);
  if (text === undefined) {
    text = readFileSync(new URL(`../ui/${file}`, import.meta.url), 'utf8');
    assetCache.set(file, text);
  }
  return text;
}

export function sendAsset(res: ServerResponse, asset: Asset): void {
  send(res, 200, { 'content-type': asset.type, 'cache-control': 'no-cache' }, assetText(asset.file));
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, { 'content-type': 'application/json; charset=utf-8' }, JSON.stringify(body));
}

/** Every response goes out here, so that each one (a 401, a 404, a redirect) has the security headers. */
export function send(
  res: ServerResponse,
  status: number,
  headers: Record<string, string>,
  body?: string,
): void {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'cache-control': 'no-store',
    ...(body !== undefined && { 'content-type': 'application/json; charset=utf-8' }),
    ...headers,
  });
  res.end(body);
}

export function errorJson(code: string, message: string): string {
  return JSON.stringify({ error: { code, message } });
}

export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}
