/**
 * Why a first connection to Redis failed, when TLS is the reason: a certificate refused (node's
 * error code says which), or one side speaking TLS and the other not. The latter, and a server
 * refusing this client's certificate, show only as a reset or a timeout, so they are told apart
 * by asking the port once more: does it complete a TLS handshake (and what does it say to a PING
 * then), or does it answer a plain PING? These failures do not fix themselves, so the store gives
 * up at once with RedisTlsError instead of retrying. Only called on a failure: a connection that
 * works costs nothing more.
 */
import { connect as connectPlain } from 'node:net';
import { connect as connectTls, type TLSSocket } from 'node:tls';
import { RedisTlsError, type RedisTlsProblem } from '../../errors.js';
import type { RedisTlsOptions } from '../../tls-options.js';

/** node's (OpenSSL's) error codes for a certificate it refused, by what to do about it. */
const CERTIFICATE_CODES: Record<string, RedisTlsProblem> = {
  SELF_SIGNED_CERT_IN_CHAIN: 'untrusted',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'untrusted',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'untrusted',
  UNABLE_TO_GET_ISSUER_CERT: 'untrusted',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'untrusted',
  CERT_UNTRUSTED: 'untrusted',
  CERT_REJECTED: 'untrusted',
  CERT_SIGNATURE_FAILURE: 'untrusted',
  INVALID_CA: 'untrusted',
  ERR_TLS_CERT_ALTNAME_INVALID: 'wrong-name',
  HOSTNAME_MISMATCH: 'wrong-name',
  CERT_HAS_EXPIRED: 'expired',
  CERT_NOT_YET_VALID: 'expired',
  // The server's alerts about this client's certificate (tls-auth-clients yes).
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: 'client-certificate',
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: 'client-certificate',
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: 'client-certificate',
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN: 'client-certificate',
  // A TLS client reading a plain server's reply as a TLS record.
  ERR_SSL_WRONG_VERSION_NUMBER: 'server-speaks-plain',
  ERR_SSL_PACKET_LENGTH_TOO_LONG: 'server-speaks-plain',
};

/** Errors that may hide a TLS mismatch: the connection was made, then dropped or left unanswered. */
const AMBIGUOUS_CODES = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT']);

/** How long each look at the port may take, in ms. */
const PROBE_TIMEOUT_MS = 1000;

/**
 * The RedisTlsError for the error of a failed first connection to `url`, or undefined when TLS
 * is not the reason (Redis down, a wrong host) and the caller's own error applies.
 */
export async function tlsErrorOf(
  url: string,
  tls: RedisTlsOptions | undefined,
  error: unknown,
): Promise<RedisTlsError | undefined> {
  const known = problemOfCode(error);
  if (known) return new RedisTlsError(url, known, { cause: error });
  const code = (error as { code?: unknown } | undefined)?.code;
  const message = error instanceof Error ? error.message : '';
  const ambiguous =
    (typeof code === 'string' && AMBIGUOUS_CODES.has(code)) ||
    message === 'Connection is closed.' ||
    /before secure TLS connection was established/.test(message);
  const address = addressOf(url);
  if (!ambiguous || !address) return undefined;
  if (url.startsWith('redis://')) {
    const probe = await pingOverTls(address, undefined);
    return probe.handshake ? new RedisTlsError(url, 'server-speaks-tls', { cause: error }) : undefined;
  }
  // A server that asks for a client certificate drops the connection after the handshake; its
  // alert, which says why, comes with the reply to the first command, so send one and read it.
  const probe = await pingOverTls(address, tls);
  const refused = problemOfCode(probe.error);
  if (refused) return new RedisTlsError(url, refused, { cause: probe.error });
  if (probe.handshake) return undefined;
  return (await answersPlainPing(address))
    ? new RedisTlsError(url, 'server-speaks-plain', { cause: error })
    : undefined;
}

function problemOfCode(error: unknown): RedisTlsProblem | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code !== 'string') return undefined;
  if (Object.hasOwn(CERTIFICATE_CODES, code)) return CERTIFICATE_CODES[code];
  // OpenSSL refused this side's own settings (a key that does not match its certificate, text
  // that is not PEM) before anything was sent.
  if (code.startsWith('ERR_OSSL_')) return 'bad-option';
  if (/^ERR_(SSL|TLS)_/.test(code)) return 'handshake';
  return undefined;
}

function addressOf(url: string): { host: string; port: number } | undefined {
  try {
    const parsed = new URL(url);
    return { host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(parsed.port || 6379) };
  } catch {
    return undefined;
  }
}

/**
 * Connects over TLS without checking the server's certificate (only whether the port speaks TLS
 * is asked), with this client's certificate if any, and sends a PING: whether the handshake
 * completed, and the error that ended the connection, if one did.
 */
function pingOverTls(
  { host, port }: { host: string; port: number },
  tls: RedisTlsOptions | undefined,
): Promise<{ handshake: boolean; error?: unknown }> {
  return new Promise((resolve) => {
    let handshake = false;
    const done = (error?: unknown) => {
      socket?.destroy();
      resolve({ handshake, error });
    };
    let socket: TLSSocket | undefined;
    try {
      socket = connectTls({
        host,
        port,
        ...(tls?.cert ? { cert: tls.cert, key: tls.key, passphrase: tls.passphrase } : {}),
        ...(tls?.servername ? { servername: tls.servername } : {}),
        rejectUnauthorized: false,
        timeout: PROBE_TIMEOUT_MS,
      });
    } catch (error) {
      done(error);
      return;
    }
    socket.once('secureConnect', () => {
      handshake = true;
      socket?.write('PING\r\n');
    });
    socket.once('data', () => done());
    socket.once('error', (error) => done(error));
    socket.once('close', () => done());
    socket.once('timeout', () => done());
  });
}

/** Whether the port answers a plain PING as Redis does (+PONG, or an error such as -NOAUTH). */
function answersPlainPing({ host, port }: { host: string; port: number }): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connectPlain({ host, port, timeout: PROBE_TIMEOUT_MS });
    const done = (speaksPlain: boolean) => {
      socket.destroy();
      resolve(speaksPlain);
    };
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(/^[+-]/.test(data.toString('latin1'))));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}
