/**
 * What the admin handler reads from a request (URL, path segments, query numbers, the JSON body of
 * an action), each refusing bad input as the client's mistake: an HttpError with a 4xx status and
 * a message meant for the client, never a 500.
 */
import type { IncomingMessage } from 'node:http';
import type { ActionTarget } from '../admin-types.js';

const MAX_BODY = 1024 * 1024;

/** Express and Fastify (when the app passes it along) may have read the body already. */
export type MountedRequest = IncomingMessage & { originalUrl?: string; baseUrl?: string; body?: unknown };

/** An answer the handler chose (a 4xx): its message is meant for the client. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function parseUrl(text: string | undefined): URL {
  try {
    return new URL(text ?? '/', 'http://admin.invalid');
  } catch {
    throw new HttpError(400, 'BAD_REQUEST', 'The request URL cannot be parsed.');
  }
}

/** A path segment's text; a malformed percent-encoding is the client's mistake (400), not ours. */
export function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(
      400,
      'BAD_REQUEST',
      `The path segment "${segment}" is not valid percent-encoding (UTF-8). Encode the id with encodeURIComponent.`,
    );
  }
}

export function intParam(url: URL, name: string, fallback: number): number {
  const text = url.searchParams.get(name);
  if (text === null || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value))
    throw new HttpError(400, 'BAD_REQUEST', `${name} must be a whole number, got "${text}".`);
  return value;
}

export async function readJsonBody(req: MountedRequest): Promise<unknown> {
  if (req.body !== undefined && !(Buffer.isBuffer(req.body) && !req.body.length)) {
    if (typeof req.body === 'string' || Buffer.isBuffer(req.body)) return parseJson(String(req.body));
    return req.body;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new HttpError(413, 'TOO_LARGE', 'The request body is over 1 MB.');
    chunks.push(chunk as Buffer);
  }
  return parseJson(Buffer.concat(chunks).toString('utf8'));
}

export function parseJson(text: string): unknown {
  if (!text.trim()) return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(
      400,
      'BAD_REQUEST',
      'The request body is not JSON. Send a JSON object like { "ids": ["…"] }.',
    );
  }
}

export function idsOf(body: unknown): string[] {
  const ids = (body as { ids?: unknown })?.ids;
  if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string')) {
    throw new HttpError(400, 'BAD_REQUEST', 'Send { "ids": ["…"] } with the ids of the jobs.');
  }
  return ids;
}

export function targetOf(body: unknown): ActionTarget {
  const b = body as { ids?: unknown; all?: unknown; worker?: unknown; search?: unknown };
  if (b?.all === true) {
    return {
      all: true,
      worker: typeof b.worker === 'string' && b.worker ? b.worker : undefined,
      search: typeof b.search === 'string' && b.search ? b.search : undefined,
    };
  }
  return { ids: idsOf(body) };
}
