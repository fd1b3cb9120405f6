/**
 * The admin web UI and its JSON API as one `(req, res)` handler for node:http, which Express and
 * Fastify can mount too. It
 * 1. refuses every request that does not pass the app's auth (there is no default: the app says
 *    how to authenticate, or says `insecureNoAuth: true` outright);
 * 2. works under any base path: the page and its scripts use relative URLs only;
 * 3. serves the page and its assets from the package (no CDN), with a strict Content-Security-Policy;
 * 4. answers the JSON API (README, "JSON API") from the admin read API;
 * 5. takes actions only as POST with the CSRF token, and none at all when `readOnly`;
 * 6. answers every response, errors and redirects too, through one path with the security headers;
 *    an unexpected error is logged with a reference and answered with only that reference, so
 *    that no internal detail (a throwing auth function's message, a Lua script's error) reaches
 *    the client.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidArgumentsError, InvalidOptionsError, ToniqError } from '../../errors.js';
import { unknownOptionsProblem } from '../../known-options.js';
import { consoleLogger, type Logger } from '../../logger.js';
import { TONIQ_VERSION } from '../../version.js';
import type { Admin } from '../admin-api.js';
import { JOB_STATES, type JobState } from '../admin-types.js';
import { type AdminAuth, checkAuth } from './auth.js';
import { CSRF_HEADER, checkCsrf, csrfToken } from './csrf.js';
import {
  decodePathSegment,
  HttpError,
  idsOf,
  intParam,
  type MountedRequest,
  parseUrl,
  readJsonBody,
  targetOf,
} from './request-input.js';
import { assetFor, assetText, errorJson, escapeHtml, send, sendAsset, sendJson } from './responses.js';

export type { AdminAuth } from './auth.js';

export interface AdminHandlerOptions {
  /**
   * Who may see the admin UI: `{ username, password }` for HTTP Basic auth, or a function that
   * gets the request and returns true (or the user's name, for the log of actions) to let it in.
   * Required unless `insecureNoAuth: true`.
   * @example { auth: { username: 'admin', password: process.env.TONIQ_ADMIN_PASSWORD! } }
   * @example { auth: (req) => req.user?.isAdmin === true }
   */
  auth?: AdminAuth;
  /** Serve the UI to anyone who can reach it. Only for a server bound to localhost. Default: false. */
  insecureNoAuth?: boolean;
  /** Show no actions and refuse every POST. Default: false. */
  readOnly?: boolean;
  /**
   * The path the handler is mounted under, for `http.createServer` and Fastify. Under Express's
   * `app.use('/admin', handler)` it is found by itself. Default: `''` (the whole server).
   * @example { basePath: '/admin' }
   */
  basePath?: string;
  /** Where actions (retry, delete, run now) and errors are logged. Default: the toniq logger. */
  logger?: Logger;
}

/** A node:http request handler; Express may pass `next`, which gets nothing: every request under the mount is answered. */
export type AdminHandler = (req: IncomingMessage, res: ServerResponse, next?: unknown) => void;

/**
 * Makes the admin handler. `admin` may be a function, so that a handler made before toniq starts
 * answers 503 until it has.
 */
export function createAdminHandler(admin: Admin | (() => Admin), options: AdminHandlerOptions): AdminHandler {
  checkOptions(options);
  const getAdmin = typeof admin === 'function' ? admin : () => admin;
  const logger = options.logger ?? consoleLogger();
  const readOnly = options.readOnly === true;
  const basePath = (options.basePath ?? '').replace(/\/+$/, '');

  return (req, res) => {
    void handle(req as MountedRequest, res).catch((error: unknown) => {
      const answer = answerFor(error);
      if (answer.reference) {
        logger.error(
          { err: error, reference: answer.reference },
          `Admin UI: ${req.method} ${req.url} failed (reference ${answer.reference}): ${(error as Error)?.message ?? String(error)}`,
        );
      } else if (!(error instanceof HttpError)) {
        logger.warn({ err: error }, `Admin UI: ${req.method} ${req.url}: ${answer.message}`);
      }
      if (res.headersSent) {
        res.destroy();
        return;
      }
      send(res, answer.status, answer.headers ?? {}, errorJson(answer.code, answer.message));
    });
  };

  async function handle(req: MountedRequest, res: ServerResponse): Promise<void> {
    const url = parseUrl(req.url);
    const browserPath = parseUrl(req.originalUrl ?? req.url).pathname;
    let path: string;
    if (req.originalUrl !== undefined && req.baseUrl !== undefined) {
      path = url.pathname; // Express stripped its mount path already.
    } else if (url.pathname === basePath || url.pathname.startsWith(`${basePath}/`)) {
      path = url.pathname.slice(basePath.length);
    } else {
      throw new HttpError(
        404,
        'NOT_FOUND',
        `${url.pathname} is not under the admin UI's basePath "${basePath}". Pass the path you mount it under as basePath.`,
      );
    }
    const user = await checkAuth(options, req);
    if (user === false) {
      throw new HttpError(
        401,
        'UNAUTHORIZED',
        'Sign in to see the toniq admin UI: this request did not pass its auth.',
        options.auth && typeof options.auth === 'object'
          ? { 'www-authenticate': 'Basic realm="toniq admin", charset="UTF-8"' }
          : {},
      );
    }
    // The page uses relative URLs, so it must be served at a path ending in a slash.
    if (path === '' || (path === '/' && !browserPath.endsWith('/'))) {
      send(res, 301, { location: `${browserPath}/${url.search}` });
      return;
    }
    const mountPath = browserPath.slice(0, browserPath.length - path.length) || '';
    const source = { via: 'ui', ...(typeof user === 'string' ? { user } : {}) };
    const method = req.method ?? 'GET';

    if (method === 'GET' || method === 'HEAD') {
      if (path === '/' || path === '/index.html') return sendPage(req, res, mountPath);
      const asset = assetFor(path);
      if (asset) return sendAsset(res, asset);
      if (path === '/api/session') {
        const token = csrfToken(req, res, mountPath);
        return sendJson(res, 200, { csrfToken: token, readOnly, version: TONIQ_VERSION });
      }
      if (path === '/api/stats') return sendJson(res, 200, await getAdmin().stats());
      if (path === '/api/processes') return sendJson(res, 200, { processes: await getAdmin().processes() });
      if (path === '/api/throughput') {
        const seconds = intParam(url, 'seconds', 3600);
        return sendJson(res, 200, await getAdmin().throughput(seconds));
      }
      if (path === '/api/jobs') {
        const state = url.searchParams.get('state') ?? '';
        if (!JOB_STATES.includes(state as JobState)) {
          throw new HttpError(
            400,
            'BAD_REQUEST',
            `state must be one of ${JOB_STATES.join(', ')}; got "${state}".`,
          );
        }
        const page = await getAdmin().jobs({
          state: state as JobState,
          worker: url.searchParams.get('worker') || undefined,
          search: url.searchParams.get('search') || undefined,
          offset: intParam(url, 'offset', 0),
          limit: intParam(url, 'limit', 50),
        });
        return sendJson(res, 200, page);
      }
      const jobMatch = /^\/api\/jobs\/([^/]+)$/.exec(path);
      if (jobMatch) {
        const id = decodePathSegment(jobMatch[1]!);
        const job = await getAdmin().job(id);
        if (!job)
          throw new HttpError(404, 'JOB_NOT_FOUND', `No job has the id ${id}: it finished, or was deleted.`);
        return sendJson(res, 200, { job });
      }
    }

    if (method === 'POST') {
      const action = ACTIONS[path];
      if (action) {
        if (readOnly) {
          throw new HttpError(
            403,
            'READ_ONLY',
            'This admin UI is read-only (readOnly: true): it takes no actions.',
          );
        }
        if (!checkCsrf(req)) {
          throw new HttpError(
            403,
            'CSRF',
            `Refused: the request lacks a valid CSRF token. Send the token from GET api/session (or the page's ` +
              `toniq-csrf meta tag) in the ${CSRF_HEADER} header, with the cookie that came with it.`,
          );
        }
        const body = await readJsonBody(req);
        const admin = getAdmin();
        const result =
          action === 'run-now'
            ? await admin.runDelayedJobsNow(idsOf(body), source)
            : action === 'retry'
              ? await admin.retryFailedJobs(targetOf(body), source)
              : await admin.deleteFailedJobs(targetOf(body), source);
        return sendJson(res, 200, result);
      }
    }

    const known = path.startsWith('/api/')
      ? 'The JSON API is listed in the README ("JSON API").'
      : 'Open the admin UI at its root.';
    throw new HttpError(404, 'NOT_FOUND', `No ${method} ${path} here. ${known}`);
  }

  function sendPage(req: IncomingMessage, res: ServerResponse, mountPath: string): void {
    const token = csrfToken(req, res, mountPath);
    const html = assetText('index.html')
      .replaceAll('{{csrfToken}}', escapeHtml(token))
      .replaceAll('{{readOnly}}', String(readOnly))
      .replaceAll('{{version}}', escapeHtml(TONIQ_VERSION));
    send(
      res,
      200,
      { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' },
      req.method === 'HEAD' ? undefined : html,
    );
  }
}

function checkOptions(options: AdminHandlerOptions): void {
  if (!options || typeof options !== 'object') {
    throw new InvalidOptionsError(
      'adminHandler needs options: { auth: { username, password } }, { auth: (req) => boolean }, or { insecureNoAuth: true }.',
    );
  }
  const unknown = unknownOptionsProblem('adminHandler', options, [
    'auth',
    'insecureNoAuth',
    'readOnly',
    'basePath',
    'logger',
  ]);
  if (unknown) throw new InvalidOptionsError(unknown);
  const { auth } = options;
  if (auth === undefined && options.insecureNoAuth !== true) {
    throw new InvalidOptionsError(
      'adminHandler serves nothing without auth: pass { auth: { username, password } } (HTTP Basic), ' +
        '{ auth: (req) => boolean } (your own check), or { insecureNoAuth: true } if anyone who can reach it may use it.',
    );
  }
  if (auth !== undefined && options.insecureNoAuth === true) {
    throw new InvalidOptionsError('adminHandler got both auth and insecureNoAuth: pass one of them.');
  }
  if (auth !== undefined && typeof auth !== 'function') {
    if (
      typeof auth !== 'object' ||
      typeof auth.username !== 'string' ||
      typeof auth.password !== 'string' ||
      !auth.username ||
      !auth.password
    ) {
      throw new InvalidOptionsError(
        'adminHandler: auth must be a function (req) => boolean, or { username, password } with two non-empty strings.',
      );
    }
  }
  if (
    options.basePath !== undefined &&
    (typeof options.basePath !== 'string' || !/^(\/[^?#]*)?$/.test(options.basePath))
  ) {
    throw new InvalidOptionsError(
      `adminHandler: basePath must be a path starting with "/", like "/admin"; got ${JSON.stringify(options.basePath)}.`,
    );
  }
}

const ACTIONS: Record<string, 'retry' | 'delete' | 'run-now'> = {
  '/api/jobs/retry': 'retry',
  '/api/jobs/delete': 'delete',
  '/api/jobs/run-now': 'run-now',
};

interface Answer {
  status: number;
  code: string;
  message: string;
  headers?: Record<string, string>;
  /** Set on an unexpected error: the id under which its detail is logged. */
  reference?: string;
}

/**
 * What to answer for an error, decided in this one place by its `code`: the handler's own 4xx
 * answers, bad arguments (400), toniq not started or Redis down or refusing (503, saying what Redis
 * said: the store wraps Redis's errors into toniq's, see storage/redis/redis-errors.ts), and
 * anything else as a 500 that names a reference into the log and nothing of the error itself.
 */
function answerFor(error: unknown): Answer {
  if (error instanceof HttpError) {
    return { status: error.status, code: error.code, message: error.message, headers: error.headers };
  }
  if (error instanceof InvalidArgumentsError)
    return { status: 400, code: error.code, message: error.message };
  if (error instanceof ToniqError && UNAVAILABLE_CODES.has(error.code)) {
    return { status: 503, code: error.code, message: error.message };
  }
  const reference = randomBytes(6).toString('hex');
  return {
    status: 500,
    code: 'INTERNAL',
    message:
      `The admin UI could not answer this request because of an unexpected error (reference ${reference}). ` +
      `The server's log has the details under that reference.`,
    reference,
  };
}

/** toniq's errors that say the service cannot answer now, in words meant for the person asking. */
const UNAVAILABLE_CODES = new Set<string>([
  'TONIQ_NOT_STARTED',
  'TONIQ_STOPPED',
  'TONIQ_REDIS_UNREACHABLE',
  'TONIQ_REDIS_UNAVAILABLE',
  'TONIQ_REDIS_REFUSED',
  'TONIQ_DAMAGED_KEY',
]);

/** The request's URL; one that cannot be parsed is the client's mistake (400). */
