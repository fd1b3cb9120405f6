/**
 * Job ids are made on the client, so enqueue needs no round trip before its write, and they
 * sort by creation time: 10 characters of millisecond time, then 16 random ones, in Crockford's
 * base 32 (the ULID layout). Within one millisecond the random part counts up, so ids made by
 * one process also sort in the order they were made.
 */
import { randomFillSync } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const RANDOM_LENGTH = 16;

let lastTime = -1;
const lastRandom = new Uint8Array(RANDOM_LENGTH);

export function newJobId(now: number = Date.now()): string {
  if (now <= lastTime) {
    incrementRandom();
  } else {
    lastTime = now;
    const bytes = randomFillSync(new Uint8Array(RANDOM_LENGTH));
    // 5 random bits a character; the top bit is cleared so that incrementing never overflows in practice.
    for (let i = 0; i < RANDOM_LENGTH; i++) lastRandom[i] = bytes[i]! & (i === 0 ? 15 : 31);
  }
  let time = '';
  let t = lastTime;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  let random = '';
  for (let i = 0; i < RANDOM_LENGTH; i++) random += ALPHABET[lastRandom[i]!];
  return time + random;
}

function incrementRandom(): void {
  for (let i = RANDOM_LENGTH - 1; i >= 0; i--) {
    if (lastRandom[i]! < 31) {
      lastRandom[i]!++;
      return;
    }
    lastRandom[i] = 0;
  }
}

/** Whether a string looks like a job id (used to give a clear error for a mistyped id). */
export const isJobId = (value: unknown): value is string =>
  typeof value === 'string' && /^[0-9A-HJKMNP-TV-Z]{26}$/.test(value);

/** The creation time (epoch ms) encoded in an id; 0 for an id not made here (such as a migrated one). */
export function jobIdTime(id: string): number {
  let time = 0;
  for (let i = 0; i < 10; i++) {
    const digit = ALPHABET.indexOf(id[i] ?? '');
    if (digit < 0) return 0;
    time = time * 32 + digit;
  }
  return time;
}
