import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createToniq, defineWorker, InvalidArgumentsError } from '../src/index.js';
import { ArgumentCodec } from '../src/job/serialization.js';
import { nextEvent } from './harness/eventually.js';
import { jobKeys, toniqFactory, useRedis } from './harness/fixtures.js';

const roundTrip = (codec: ArgumentCodec, args: unknown) => codec.decode(codec.encode(args));

function refusal(codec: ArgumentCodec, args: unknown): InvalidArgumentsError {
  try {
    codec.encode(args);
  } catch (error) {
    assert.ok(error instanceof InvalidArgumentsError, `expected InvalidArgumentsError, got ${String(error)}`);
    return error;
  }
  assert.fail('the arguments were accepted');
}

class Money {
  constructor(
    public amount: bigint,
    public currency: string,
  ) {}
  format() {
    return `${this.amount} ${this.currency}`;
  }
}

describe('serialization of arguments', () => {
  const codec = new ArgumentCodec();

  it('round-trips built-in values exactly', () => {
    const date = new Date('2026-01-02T03:04:05.678Z');
    const args = {
      date,
      map: new Map<unknown, unknown>([
        ['a', 1],
        [2, new Set([1, 2])],
      ]),
      set: new Set(['x', 'y']),
      big: 12345678901234567890n,
      regexp: /ab+c/gi,
      typed: new Float64Array([1.5, -2]),
      bytes: new Uint8Array([1, 2, 3]),
      buffer: Buffer.from('hello'),
      undef: undefined,
      nan: Number.NaN,
      negativeZero: -0,
      infinity: -Infinity,
      nested: { deep: { deeper: [1, [2, [3]]] } },
      error: new RangeError('out of range'),
    };
    const back = roundTrip(codec, args) as typeof args;
    assert.ok(back.date instanceof Date && back.date.getTime() === date.getTime());
    assert.ok(back.map instanceof Map);
    assert.deepEqual([...(back.map.get(2) as Set<number>)], [1, 2]);
    assert.ok(back.set instanceof Set && back.set.has('y'));
    assert.equal(back.big, 12345678901234567890n);
    assert.ok(back.regexp instanceof RegExp && back.regexp.source === 'ab+c' && back.regexp.flags === 'gi');
    assert.ok(back.typed instanceof Float64Array && back.typed[0] === 1.5);
    assert.ok(back.bytes instanceof Uint8Array && !Buffer.isBuffer(back.bytes));
    assert.ok(Buffer.isBuffer(back.buffer) && back.buffer.toString() === 'hello');
    assert.ok('undef' in back && back.undef === undefined);
    assert.ok(Number.isNaN(back.nan));
    assert.ok(Object.is(back.negativeZero, -0));
    assert.equal(back.infinity, -Infinity);
    assert.deepEqual(back.nested, args.nested);
    assert.ok(back.error instanceof RangeError && back.error.message === 'out of range');
  });

  it('stores plain JSON data as JSON and everything else as structured clone', () => {
    assert.equal(codec.encode({ to: 'a', n: [1, 2.5, null, true], nested: { s: 'é\ud800' } }).format, 'json');
    for (const value of [
      { u: undefined },
      { n: Number.NaN },
      { z: -0 },
      { d: new Date() },
      // biome-ignore lint/suspicious/noSparseArray: a hole is the point
      [1, , 3],
      { big: 1n },
    ]) {
      assert.equal(codec.encode(value).format, 'v8', `${String(Object.keys(value))} is not plain JSON`);
    }
    const shared = { x: 1 };
    assert.equal(codec.encode({ a: shared, b: shared }).format, 'v8', 'a shared object stays shared');
    const back = roundTrip(codec, { a: shared, b: shared }) as { a: object; b: object };
    assert.equal(back.a, back.b);
    // biome-ignore lint/suspicious/noSparseArray: a hole is the point
    const sparse = roundTrip(codec, [1, , 3]) as unknown[];
    assert.ok(!(1 in sparse), 'a hole stays a hole');
  });

  it('round-trips cyclic and shared structures', () => {
    const shared = { name: 'shared' };
    const node: { self?: unknown; left: object; right: object } = { left: shared, right: shared };
    node.self = node;
    const back = roundTrip(codec, node) as typeof node;
    assert.equal(back.self, back);
    assert.equal(back.left, back.right);
  });

  it('refuses a function, naming its path', () => {
    const error = refusal(codec, { user: { name: 'Ann', save() {} } });
    assert.equal(error.path, 'args.user.save');
    assert.match(error.message, /^args\.user\.save is a function/);
    assert.match(error.message, /nothing was enqueued/);
  });

  it('refuses a symbol, a symbol key and a class instance, naming their paths', () => {
    assert.equal(refusal(codec, { list: [1, Symbol('x')] }).path, 'args.list[1]');
    assert.match(refusal(codec, { [Symbol('k')]: 1 }).path, /^args\[Symbol\(k\)\]$/);
    const instance = refusal(codec, { price: new Money(5n, 'EUR') });
    assert.equal(instance.path, 'args.price');
    assert.match(instance.message, /instance of Money/);
    assert.match(instance.message, /serializableClasses: \[Money\]/);
  });

  it('refuses values inside maps and sets with a path that shows where', () => {
    assert.equal(refusal(codec, new Map([['key', () => {}]])).path, "args.get('key')");
    assert.equal(refusal(codec, { s: new Set([1, Symbol('y')]) }).path, 'args.s[set item 1]');
  });

  it('refuses an Error with extra properties that structured clone would drop', () => {
    const error = Object.assign(new Error('x'), { code: 'E_X' });
    assert.match(refusal(codec, { error }).message, /extra property code/);
  });

  it('rebuilds instances of registered classes on their prototype', () => {
    const withClasses = new ArgumentCodec([Money]);
    const price = new Money(1999n, 'EUR');
    const back = roundTrip(withClasses, { price, again: price }) as { price: Money; again: Money };
    assert.ok(back.price instanceof Money);
    assert.equal(back.price.format(), '1999 EUR');
    assert.equal(back.price, back.again);
  });
});

describe('arguments through a real enqueue', () => {
  const server = useRedis();
  const newToniq = toniqFactory(server);

  it('refuses unstorable arguments at enqueue and persists nothing', async () => {
    const worker = defineWorker('Takes', (_args: { user: { save: () => void } }) => {});
    const toniq = await newToniq({ workers: [worker] });
    await assert.rejects(toniq.enqueue(worker, { user: { save() {} } }), /args\.user\.save is a function/);
    assert.deepEqual(await jobKeys(server.redis.client(), toniq.processId), []);
  });

  it('gives a worker a registered class instance as itself, also after a round trip through Redis', async () => {
    const seen: unknown[] = [];
    const charge = defineWorker('Charge', (args: { price: Money }) => {
      seen.push(args.price);
    });
    const toniq = await newToniq({ workers: [charge], serializableClasses: [Money] });
    const finished = nextEvent(toniq.events, 'finished');
    await toniq.enqueue(charge, { price: new Money(10n, 'USD') });
    await finished;
    assert.ok(seen[0] instanceof Money);
    // Delayed: the worker then gets the arguments back from Redis.
    const again = nextEvent(toniq.events, 'finished');
    await toniq.enqueue(charge, { price: new Money(20n, 'USD') }, { delayFor: 1 });
    await again;
    assert.ok(seen[1] instanceof Money);
    assert.equal((seen[1] as Money).format(), '20 USD');
  });

  it('checks arguments with a Standard Schema validator at enqueue', async () => {
    const { z } = await import('zod');
    const schema = z.object({ to: z.string().email() });
    const send = defineWorker('SendValidated', (_args: { to: string }) => {}, { schema });
    const toniq = await newToniq({ workers: [send] });
    await assert.rejects(toniq.enqueue(send, { to: 'not an email' }), (error: unknown) => {
      assert.ok(error instanceof InvalidArgumentsError);
      assert.equal(error.path, 'args.to');
      assert.match(error.message, /SendValidated's schema refused the arguments/);
      return true;
    });
    assert.deepEqual(await jobKeys(server.redis.client(), toniq.processId), []);
    const finished = nextEvent(toniq.events, 'finished');
    await toniq.enqueue(send, { to: 'a@example.com' });
    await finished;
  });

  it('refuses a serializable class list with two classes of one name', () => {
    const A = class Same {};
    const B = class Same {};
    assert.throws(() => createToniq({ serializableClasses: [A, B] }), /named "Same"/);
  });
});
