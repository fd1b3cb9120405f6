/**
 * The `tls` option of createToniq and connectAdmin: which CA to trust for a Redis that speaks TLS
 * (a rediss:// URL), and the client certificate to show it. ioredis gets it for every connection,
 * the keepalive thread's too; that thread receives a structured clone of it, so only data is
 * accepted (strings, Buffers, booleans), never a function such as checkServerIdentity.
 */
import type { ConnectionOptions } from 'node:tls';
import { maskRedisUrl } from './errors.js';

/** PEM text, as a string or the bytes of a file. */
type Pem = string | Buffer;

/**
 * The part of node's `tls.ConnectionOptions` toniq passes to ioredis. With a rediss:// URL and no
 * `tls` option, node's default CAs are trusted, as for any TLS connection.
 * @example { ca: readFileSync('/etc/redis/ca.crt') }
 */
export interface RedisTlsOptions
  extends Pick<
    ConnectionOptions,
    'ca' | 'cert' | 'key' | 'passphrase' | 'servername' | 'rejectUnauthorized'
  > {
  /**
   * The CA certificates to trust, instead of node's default ones: the CA that signed the Redis
   * server's certificate (a self-signed server's own certificate). Default: node's bundled CAs.
   * @example { ca: readFileSync('ca.crt') }
   */
  ca?: Pem | Pem[];
  /**
   * This client's certificate chain, for a server that asks for one (`tls-auth-clients yes`).
   * Default: none.
   * @example { cert: readFileSync('client.crt'), key: readFileSync('client.key') }
   */
  cert?: Pem | Pem[];
  /** The private key of `cert`. Default: none. */
  key?: Pem | Pem[];
  /** The passphrase of an encrypted `key`. Default: none. */
  passphrase?: string;
  /**
   * The name the server's certificate must be for, when it is not the URL's host (connecting by
   * IP address to a server whose certificate names its DNS name). Default: the URL's host.
   * @example { servername: 'redis.internal' }
   */
  servername?: string;
  /**
   * `false` accepts any certificate, which lets anyone between this process and Redis read and
   * change the jobs: for a test server only (a warning is logged at start). Default: `true`.
   */
  rejectUnauthorized?: boolean;
}

export const KNOWN_TLS_OPTIONS = [
  'ca',
  'cert',
  'key',
  'passphrase',
  'servername',
  'rejectUnauthorized',
] as const;

/**
 * Why `tls` cannot be used (`where` names the call: "createToniq"), or undefined when it can.
 * `url` is checked too when known: a `tls` option with a redis:// URL is refused.
 */
export function tlsOptionsProblem(where: string, tls: unknown, url?: string): string | undefined {
  if (tls === undefined) return undefined;
  if (typeof tls !== 'object' || tls === null || Array.isArray(tls)) {
    return `${where}: tls must be an object like { ca: readFileSync('ca.crt') }, got ${describe(tls)}.`;
  }
  for (const [name, value] of Object.entries(tls)) {
    if (typeof value === 'function') {
      return (
        `${where}: tls.${name} is a function, which toniq cannot pass on: the keepalive thread opens its own ` +
        `connection to Redis and receives a copy of the tls options, and a function cannot be copied to a thread. ` +
        `toniq takes ${KNOWN_TLS_OPTIONS.join(', ')} (data only); to accept a certificate for another name, ` +
        `set servername to the name it is for.`
      );
    }
    if (!(KNOWN_TLS_OPTIONS as readonly string[]).includes(name)) {
      return (
        `${where}: tls got the unknown option "${name}". toniq passes on ${KNOWN_TLS_OPTIONS.join(', ')} ` +
        `(the part of node's tls.connect options it supports).`
      );
    }
  }
  const options = tls as Record<string, unknown>;
  for (const name of ['ca', 'cert', 'key'] as const) {
    const value = options[name];
    if (value === undefined) continue;
    const items = Array.isArray(value) ? value : [value];
    if (!items.length || !items.every((item) => typeof item === 'string' || item instanceof Uint8Array)) {
      return (
        `${where}: tls.${name} must be PEM text, as a string or a Buffer (what readFileSync returns), ` +
        `or an array of them; got ${describe(value)}.`
      );
    }
  }
  for (const name of ['passphrase', 'servername'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'string') {
      return `${where}: tls.${name} must be a string, got ${describe(options[name])}.`;
    }
  }
  if (options.rejectUnauthorized !== undefined && typeof options.rejectUnauthorized !== 'boolean') {
    return `${where}: tls.rejectUnauthorized must be true or false, got ${describe(options.rejectUnauthorized)}.`;
  }
  if (url?.startsWith('redis://')) {
    // ioredis would use TLS all the same; but the URL is where one reads whether the connection
    // is encrypted, and a URL that says redis:// while the bytes go over TLS misleads whoever reads
    // it (and a plain server then fails with a puzzling handshake error). One place decides: the URL.
    return (
      `${where}: the tls option is given, but the Redis URL ${maskRedisUrl(url)} starts with redis:// ` +
      `(no TLS). Use a rediss:// URL to connect over TLS, or leave tls out for a plain connection ` +
      `(say, tls: url.startsWith('rediss://') ? { ca } : undefined).`
    );
  }
  return undefined;
}

/** A copy of `tls` holding only the options toniq passes on, so that a later change by the app does not reach it. */
export function copyTlsOptions(tls: RedisTlsOptions | undefined): RedisTlsOptions | undefined {
  if (!tls) return undefined;
  const copy: Record<string, unknown> = {};
  for (const name of KNOWN_TLS_OPTIONS) if (tls[name] !== undefined) copy[name] = tls[name];
  return copy as RedisTlsOptions;
}

/** The warning to log when `tls` turns certificate checks off, or undefined. */
export function insecureTlsWarning(tls: RedisTlsOptions | undefined): string | undefined {
  if (tls?.rejectUnauthorized !== false) return undefined;
  return (
    "tls.rejectUnauthorized is false: the Redis server's certificate is NOT checked, so anyone between this " +
    'process and Redis can pose as Redis and read or change every job. Use it for a test server only; ' +
    "otherwise pass the CA that signed the server's certificate as tls.ca."
  );
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array of something else';
  if (typeof value === 'object') return `an object (${value.constructor?.name ?? 'Object'})`;
  return typeof value === 'string' ? JSON.stringify(value) : `${typeof value} ${String(value)}`;
}
