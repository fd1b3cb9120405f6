/**
 * CSRF protection for the admin actions, by double submit: the page (or GET api/session) gets a
 * random token, also set as a SameSite=Strict, HttpOnly cookie scoped to the admin's path; a POST
 * must send the same token in the X-CSRF-Token header. Another site can neither read the token
 * nor make the browser send the cookie, and a request whose Origin is another site is refused
 * outright. Nothing is kept on the server, so it works behind a load balancer.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export const CSRF_HEADER = 'X-CSRF-Token';
const COOKIE = 'toniq_csrf';
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** The request's token, or a new one set as a cookie on the response. */
export function csrfToken(req: IncomingMessage, res: ServerResponse, mountPath: string): string {
  const existing = cookieToken(req);
  if (existing) return existing;
  const token = randomBytes(32).toString('base64url');
  const secure = (req.socket as { encrypted?: boolean }).encrypted ? '; Secure' : '';
  res.setHeader(
    'set-cookie',
    `${COOKIE}=${token}; Path=${mountPath || ''}/; HttpOnly; SameSite=Strict${secure}`,
  );
  return token;
}

/** Whether a POST carries the token of its cookie, and does not come from another site. */
export function checkCsrf(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin && origin !== 'null') {
    try {
      if (new URL(origin).host !== req.headers.host) return false;
    } catch {
      return false;
    }
  }
  const cookie = cookieToken(req);
  const header = req.headers[CSRF_HEADER.toLowerCase()];
  if (!cookie || typeof header !== 'string' || !TOKEN_SHAPE.test(header)) return false;
  return timingSafeEqual(Buffer.from(cookie), Buffer.from(header));
}

function cookieToken(req: IncomingMessage): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [name, value] = part.trim().split('=');
    if (name === COOKIE && value && TOKEN_SHAPE.test(value)) return value;
  }
  return undefined;
}
