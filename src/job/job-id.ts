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
let timePart = '';
// The random part, as 5-bit digits; the first is kept below 16 so that counting up never overflows in practice.
const random = new Uint8Array(RANDOM_LENGTH);
// Cached text of the random part's first 10 digits, which change only when the last 6 overflow.
let randomHead = '';

export function newJobId(now: number = Date.now()): string {
  if (now <= lastTime) {
    if (incrementRandom()) randomHead = digits(random, 0, 10);
  } else {
    lastTime = now;
    let time = '';
    let t = now;
    for (let i = 0; i < 10; i++) {
      time = ALPHABET[t % 32] + time;
      t = Math.floor(t / 32);
    }
    timePart = time;
    randomFillSync(random);
    for (let i = 0; i < RANDOM_LENGTH; i++) random[i]! &= i === 0 ? 15 : 31;
    randomHead = digits(random, 0, 10);
  }
  return timePart + randomHead + digits(random, 10, RANDOM_LENGTH);
}

function digits(values: Uint8Array, from: number, to: number): string {
  let text = '';
  for (let i = from; i < to; i++) text += ALPHABET[values[i]!];
  return text;
}

/** Counts the random part up by one; true when a digit of the cached head changed. */
function incrementRandom(): boolean {
  for (let i = RANDOM_LENGTH - 1; i >= 0; i--) {
    if (random[i]! < 31) {
      random[i]!++;
      return i < 10;
    }
    random[i] = 0;
  }
  return true;
}

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
