/**
 * Arguments reach the worker exactly as they were enqueued: they are stored with `node:v8`
 * (the structured clone format), never as JSON.
 *
 * Structured clone silently changes some values (a class instance comes back as a plain object,
 * a symbol key is dropped) and refuses others with an unhelpful message. So before serializing,
 * `ArgumentCodec` walks the arguments once and refuses, with the path of the value, anything that
 * would not arrive unchanged. Instances of classes the app registers are encoded with their class
 * name and rebuilt on the prototype of the same class when the job is read.
 */

import { inspect } from 'node:util';
import { deserialize, serialize } from 'node:v8';
import { InvalidArgumentsError } from '../errors.js';

/** A class whose instances may travel in job arguments. Rebuilt with its prototype; the constructor is not called. */
export type SerializableClass = abstract new (...args: never[]) => object;

const CLASS_TAG = '\u0000toniq.class';

/** Arguments as stored: JSON text for plain data, structured clone bytes for the rest. */
export interface EncodedArgs {
  readonly bytes: Buffer;
  readonly format: 'none' | 'json' | 'v8';
  /** The v8 bytes hold registered class instances to rebuild. */
  readonly hasClasses: boolean;
}

/** A job without arguments (`undefined`), the most common case after plain JSON. */
export const NO_ARGS: EncodedArgs = Object.freeze({
  bytes: Buffer.alloc(0),
  format: 'none',
  hasClasses: false,
});

/**
 * Whether JSON round-trips `value` exactly. Anything unusual (undefined, NaN, -0, a Date, a
 * shared object, a symbol key, a hole in an array…) answers false, and the careful walk decides.
 */
function isPlainJson(value: unknown, seen: Set<object> | undefined): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value) && !Object.is(value, -0);
    case 'object': {
      if (value === null) return true;
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== Array.prototype) return false;
      if (seen?.has(value)) return false;
      const remembered = seen ?? new Set<object>();
      remembered.add(value);
      if (Object.getOwnPropertySymbols(value).length) return false;
      if (proto === Array.prototype) {
        const array = value as unknown[];
        if (Object.keys(array).length !== array.length) return false; // holes or named properties
        for (let i = 0; i < array.length; i++) if (!isPlainJson(array[i], remembered)) return false;
        return true;
      }
      for (const key in value) {
        if (!Object.hasOwn(value, key)) return false; // an inherited enumerable property
        if (!isPlainJson((value as Record<string, unknown>)[key], remembered)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

const ERROR_PROTOTYPES = new Set<object>([
  Error.prototype,
  EvalError.prototype,
  RangeError.prototype,
  ReferenceError.prototype,
  SyntaxError.prototype,
  TypeError.prototype,
  URIError.prototype,
]);
/** Built-ins that structured clone keeps as they are, with nothing inside to check. */
const LEAF_PROTOTYPES = new Set<object>([
  Date.prototype,
  RegExp.prototype,
  ArrayBuffer.prototype,
  Boolean.prototype,
  Number.prototype,
  String.prototype,
  DataView.prototype,
  Buffer.prototype,
  ...[
    Int8Array,
    Uint8Array,
    Uint8ClampedArray,
    Int16Array,
    Uint16Array,
    Int32Array,
    Uint32Array,
    Float32Array,
    Float64Array,
    BigInt64Array,
    BigUint64Array,
  ].map((type) => type.prototype),
]);
const ERROR_OWN_KEYS = new Set(['message', 'stack', 'cause']);

export class ArgumentCodec {
  readonly #classesByPrototype = new Map<object, string>();
  readonly #classesByName = new Map<string, SerializableClass>();

  constructor(classes: readonly SerializableClass[] = []) {
    for (const cls of classes) {
      const name = cls.name;
      const existing = this.#classesByName.get(name);
      if (existing && existing !== cls) {
        throw new InvalidArgumentsError(
          'serializableClasses',
          `Two different serializable classes are named "${name}"; give them distinct names.`,
        );
      }
      this.#classesByName.set(name, cls);
      this.#classesByPrototype.set(cls.prototype, name);
    }
  }

  /**
   * Checks that `args` can reach a worker unchanged and serializes them. Throws
   * InvalidArgumentsError naming the path of the first value that cannot.
   *
   * Plain JSON data (objects, arrays, strings, booleans, null, finite numbers other than -0,
   * nothing shared or cyclic) is stored as JSON, which round-trips it exactly and costs a
   * fraction of structured clone. Everything else goes through `node:v8`.
   */
  encode(args: unknown): EncodedArgs {
    if (args === undefined) return NO_ARGS;
    if (isPlainJson(args, undefined))
      return { bytes: Buffer.from(JSON.stringify(args)), format: 'json', hasClasses: false };
    const state = { hasClasses: false, seen: new Map<object, unknown>() };
    const value = this.#walk(args, 'args', state);
    return { bytes: serialize(state.hasClasses ? value : args), format: 'v8', hasClasses: state.hasClasses };
  }

  /** Reads arguments back: a fresh copy each time, with registered class instances rebuilt. */
  decode(encoded: EncodedArgs): unknown {
    if (encoded.format === 'none') return undefined;
    if (encoded.format === 'json') return JSON.parse(encoded.bytes.toString('utf8'));
    const value = deserialize(encoded.bytes);
    return encoded.hasClasses ? this.#rebuild(value, new Map()) : value;
  }

  /** Like decode, but undefined when the arguments cannot be read here (for showing a job that cannot run). */
  tryDecode(encoded: EncodedArgs): unknown {
    try {
      return this.decode(encoded);
    } catch {
      return undefined;
    }
  }

  #walk(value: unknown, path: string, state: { hasClasses: boolean; seen: Map<object, unknown> }): unknown {
    switch (typeof value) {
      case 'function':
        throw refuse(
          path,
          `is a function (${describeFunction(value)}); functions cannot be stored. Pass data and look the function up in the worker.`,
        );
      case 'symbol':
        throw refuse(path, `is a symbol (${String(value)}); symbols cannot be stored. Use a string.`);
      case 'object':
        break;
      default:
        return value;
    }
    if (value === null) return value;
    const object = value as object;
    if (state.seen.has(object)) return state.seen.get(object);

    const proto = Object.getPrototypeOf(object);
    if (proto === Object.prototype) {
      const copy: Record<string, unknown> = {};
      state.seen.set(object, copy);
      refuseSymbolKeys(object, path);
      for (const key of Object.keys(object)) {
        copy[key] = this.#walk((object as Record<string, unknown>)[key], propertyPath(path, key), state);
      }
      return copy;
    }
    if (proto === Array.prototype && Array.isArray(object)) {
      const copy: unknown[] = new Array(object.length);
      state.seen.set(object, copy);
      refuseSymbolKeys(object, path);
      for (const key of Object.keys(object)) {
        const index = Number(key);
        if (!Number.isInteger(index)) {
          throw refuse(
            `${path}.${key}`,
            'is a named property on an array; structured clone keeps only the items. Use an object.',
          );
        }
        copy[index] = this.#walk(object[index], `${path}[${key}]`, state);
      }
      return copy;
    }
    if (proto === Map.prototype) {
      const copy = new Map();
      state.seen.set(object, copy);
      let index = 0;
      for (const [key, item] of object as Map<unknown, unknown>) {
        const newKey = this.#walk(key, `${path}[map key ${index}]`, state);
        copy.set(newKey, this.#walk(item, `${path}.get(${inspect(key, { depth: 0 })})`, state));
        index++;
      }
      return copy;
    }
    if (proto === Set.prototype) {
      const copy = new Set();
      state.seen.set(object, copy);
      let index = 0;
      for (const item of object as Set<unknown>) {
        copy.add(this.#walk(item, `${path}[set item ${index}]`, state));
        index++;
      }
      return copy;
    }
    if (LEAF_PROTOTYPES.has(proto)) {
      state.seen.set(object, object);
      return object;
    }
    if (ERROR_PROTOTYPES.has(proto)) {
      state.seen.set(object, object);
      const extra = Reflect.ownKeys(object).filter(
        (key) => typeof key !== 'string' || !ERROR_OWN_KEYS.has(key),
      );
      if (extra.length) {
        throw refuse(
          path,
          `is an ${proto.constructor.name} with the extra property ${String(extra[0])}, which would be lost. ` +
            `Pass the error's fields as a plain object instead.`,
        );
      }
      return object;
    }
    const className = proto ? this.#classesByPrototype.get(proto) : undefined;
    if (className !== undefined) {
      state.hasClasses = true;
      const props: Record<string, unknown> = {};
      const encoded = { [CLASS_TAG]: className, props };
      state.seen.set(object, encoded);
      refuseSymbolKeys(object, path);
      for (const key of Object.keys(object)) {
        props[key] = this.#walk((object as Record<string, unknown>)[key], propertyPath(path, key), state);
      }
      return encoded;
    }
    if (proto === null) {
      throw refuse(
        path,
        'is an object with a null prototype, which would arrive as an ordinary object. Use a plain object or a Map.',
      );
    }
    const name =
      typeof proto.constructor === 'function' && proto.constructor.name
        ? proto.constructor.name
        : 'an unnamed class';
    throw refuse(
      path,
      `is an instance of ${name}, which would arrive as a plain object without its class. ` +
        `Pass plain data, or register the class with createToniq({ serializableClasses: [${name}] }) in every process.`,
    );
  }

  #rebuild(value: unknown, seen: Map<object, unknown>): unknown {
    if (typeof value !== 'object' || value === null) return value;
    if (seen.has(value)) return seen.get(value);
    const proto = Object.getPrototypeOf(value);
    if (proto === Object.prototype) {
      const record = value as Record<string, unknown>;
      const className = record[CLASS_TAG];
      if (typeof className === 'string') {
        const cls = this.#classesByName.get(className);
        if (!cls) {
          throw new InvalidArgumentsError(
            'args',
            `The job's arguments hold an instance of class ${className}, which this process has not registered. ` +
              `Add it to createToniq({ serializableClasses: [...] }).`,
          );
        }
        const instance = Object.create(cls.prototype) as Record<string, unknown>;
        seen.set(value, instance);
        const props = record.props as Record<string, unknown>;
        for (const key of Object.keys(props)) instance[key] = this.#rebuild(props[key], seen);
        return instance;
      }
      seen.set(value, value);
      for (const key of Object.keys(record)) record[key] = this.#rebuild(record[key], seen);
      return value;
    }
    seen.set(value, value);
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) value[i] = this.#rebuild(value[i], seen);
    } else if (value instanceof Map) {
      const entries = [...value];
      value.clear();
      for (const [key, item] of entries) value.set(this.#rebuild(key, seen), this.#rebuild(item, seen));
    } else if (value instanceof Set) {
      const items = [...value];
      value.clear();
      for (const item of items) value.add(this.#rebuild(item, seen));
    }
    return value;
  }
}

function refuse(path: string, problem: string): InvalidArgumentsError {
  return new InvalidArgumentsError(
    path,
    `${path} ${problem} Job arguments must arrive in the worker exactly as enqueued, so nothing was enqueued.`,
  );
}

function refuseSymbolKeys(object: object, path: string): void {
  const symbols = Object.getOwnPropertySymbols(object);
  if (symbols.length) {
    throw refuse(
      `${path}[${String(symbols[0])}]`,
      'is a symbol-keyed property, which structured clone drops. Use a string key.',
    );
  }
}

function propertyPath(path: string, key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function describeFunction(fn: unknown): string {
  const name = (fn as { name?: string }).name;
  return name ? `${name}()` : 'an anonymous function';
}

/** The bytes of a value in the structured clone format. */
export const serializeValue = (value: unknown): Buffer => serialize(value);
export const deserializeValue = (bytes: Buffer): unknown => deserialize(bytes);
