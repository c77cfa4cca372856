/**
 * RFC 8785 JSON Canonicalization Scheme (JCS), for hashing audit events (SPEC A2:
 * `hash = SHA-256(prev_hash ‖ canonical event)`). Pure: no I/O, no config.
 *
 * Only real JSON values are accepted: `null`, booleans, finite numbers, well-formed strings, arrays
 * and plain objects. Anything `JSON.stringify` would drop, convert or mangle (undefined,
 * functions, symbols, bigint, NaN/Infinity, Dates and other class instances, lone surrogates,
 * sparse arrays, symbol keys, cycles) is refused with a `TypeError`, so two different inputs can
 * never silently canonicalize to the same bytes.
 */

const encoder = new TextEncoder();

// Without the `u` flag this matches single UTF-16 code units: a high surrogate not followed by
// a low one, or a low surrogate not preceded by a high one.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function refuse(path: string, what: string): never {
  // The path names keys and indexes only, never a value, so nothing sensitive reaches the message.
  throw new TypeError(`canonical JSON: ${what} at ${path} is not a JSON value`);
}

function serializeString(value: string, path: string, what: string): string {
  // RFC 8785 §3.2.2.2 needs well-formed Unicode, since the output is hashed as UTF-8.
  if (LONE_SURROGATE.test(value)) refuse(path, `${what} with a lone surrogate`);
  // RFC 8785 §3.2.2.2: the ES2019+ JSON.stringify string escaping is exactly JCS's (\b \t \n \f
  // \r \" \\ as two-character escapes, other controls as lowercase \u00xx, everything else raw).
  return JSON.stringify(value);
}

function isPlainObject(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function serialize(value: unknown, path: string, ancestors: Set<object>): string {
  switch (typeof value) {
    case 'string':
      return serializeString(value, path, 'a string');
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) refuse(path, String(value));
      // RFC 8785 §3.2.2.3: ECMAScript Number serialization; JSON.stringify also maps -0 to "0".
      return JSON.stringify(value);
    case 'object':
      break;
    default:
      refuse(path, typeof value);
  }
  if (value === null) return 'null';
  if (ancestors.has(value)) refuse(path, 'a circular reference');

  if (Array.isArray(value)) {
    // Own keys of a dense array are its indexes plus `length`; JSON.stringify would silently
    // drop anything else (named or symbol properties).
    if (Reflect.ownKeys(value).length > value.length + 1) refuse(path, 'an array with extra properties');
    ancestors.add(value);
    const items: string[] = [];
    for (let i = 0; i < value.length; i += 1) {
      // A hole reads as undefined and is refused rather than turned into null.
      items.push(serialize(value[i], `${path}[${i}]`, ancestors));
    }
    ancestors.delete(value);
    return `[${items.join(',')}]`;
  }

  if (!isPlainObject(value)) refuse(path, 'an instance of a class');
  ancestors.add(value);
  const record = value as Record<string, unknown>;
  const keys: string[] = [];
  for (const key of Reflect.ownKeys(record)) {
    if (typeof key === 'symbol') refuse(path, 'an object with a symbol key');
    // JSON.stringify skips non-enumerable properties; refuse them instead of dropping them.
    if (!Object.prototype.propertyIsEnumerable.call(record, key)) refuse(path, 'an object with a hidden property');
    keys.push(key);
  }
  // RFC 8785 §3.2.3: sort by UTF-16 code units, which is what the default sort compares.
  keys.sort();
  const members: string[] = [];
  for (const key of keys) {
    const memberPath = `${path}[${JSON.stringify(key)}]`;
    members.push(`${serializeString(key, path, 'a key')}:${serialize(record[key], memberPath, ancestors)}`);
  }
  ancestors.delete(value);
  return `{${members.join(',')}}`;
}

/**
 * Serializes a JSON value canonically per RFC 8785: object members sorted by the UTF-16 code
 * units of their keys (§3.2.3), no whitespace, strings escaped as in §3.2.2.2, numbers in
 * ECMAScript form (§3.2.2.3), arrays in order.
 *
 * @param value `null`, a boolean, a finite number, a string, or an array or plain object of
 *   those (`Object.create(null)` objects included).
 * @returns the canonical JSON text.
 * @throws {TypeError} for anything that is not JSON (see the module comment); the message gives
 *   the path of the offending member, never its value.
 * @example
 * canonicalize({ b: 1, a: [true, null] }); // '{"a":[true,null],"b":1}'
 */
export function canonicalize(value: unknown): string {
  return serialize(value, '$', new Set());
}

/**
 * The UTF-8 bytes of {@link canonicalize}: what gets hashed (RFC 8785 §3.2.4).
 *
 * @throws {TypeError} as {@link canonicalize}.
 * @example
 * const hash = createHash('sha256').update(prevHash).update(canonicalBytes(event)).digest();
 */
export function canonicalBytes(value: unknown): Uint8Array {
  return encoder.encode(canonicalize(value));
}
