/**
 * Who may use the admin UI. There is no default: the app passes HTTP Basic credentials, its own
 * check, or says `insecureNoAuth: true`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * `{ username, password }` for HTTP Basic auth, or a function that returns true (or the user's
 * name, used in the log of actions) to let the request in.
 */
export type AdminAuth =
  | ((req: IncomingMessage) => boolean | string | Promise<boolean | string>)
  | { readonly username: string; readonly password: string };

/** False when the request may not pass; true or the user's name when it may. */
export async function checkAuth(
  options: { auth?: AdminAuth | undefined; insecureNoAuth?: boolean | undefined },
  req: IncomingMessage,
): Promise<boolean | string> {
  const { auth } = options;
  if (auth === undefined) return options.insecureNoAuth === true;
  if (typeof auth === 'function') {
    const verdict = await auth(req);
    return typeof verdict === 'string' ? verdict || false : verdict === true;
  }
  const header = req.headers.authorization ?? '';
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!match) return false;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return false;
  const username = decoded.slice(0, colon);
  const password = decoded.slice(colon + 1);
  // Both compared in full, in constant time, so the reply's timing tells nothing.
  const userOk = sameText(username, auth.username);
  const passwordOk = sameText(password, auth.password);
  return userOk && passwordOk ? username : false;
}

function sameText(a: string, b: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(a), digest(b));
}
