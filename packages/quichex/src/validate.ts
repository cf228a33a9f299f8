/**
 * Argument checks shared by every public entry point. Each names the option
 * and the allowed range, and runs before any side effect, so that nothing
 * invalid ever reaches quiche (where a bad value can panic and abort Node).
 *
 * @module
 */

/** Largest QUIC variable-length integer (2^62 − 1). */
export const MAX_VARINT = (1n << 62n) - 1n;

/** Checks an integer option in `[min, max]`; accepts `number` or `bigint`. */
export function checkInt(
  name: string,
  value: unknown,
  min: number | bigint,
  max: number | bigint,
): number | bigint {
  if (typeof value === 'bigint') {
    if (value < BigInt(min) || value > BigInt(max)) {
      throw new RangeError(`${name} must be an integer in ${min}..${max}, got ${value}`);
    }
    return value;
  }
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new TypeError(`${name} must be an integer, got ${describe(value)}`);
  }
  if (value < Number(min) || (typeof max === 'bigint' ? BigInt(value) > max : value > max)) {
    throw new RangeError(`${name} must be an integer in ${min}..${max}, got ${value}`);
  }
  return value;
}

/** Checks a boolean option. */
export function checkBool(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new TypeError(`${name} must be a boolean, got ${describe(value)}`);
  return value;
}

/** Checks a non-empty string option that quiche will read as UTF-8 (no NUL bytes). */
export function checkString(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new TypeError(`${name} must be a non-empty string, got ${describe(value)}`);
  }
  if (value.includes('\0')) throw new TypeError(`${name} must not contain NUL characters`);
  if (!value.isWellFormed()) throw new TypeError(`${name} must be well-formed Unicode`);
  return value;
}

/** Checks an application error code (a QUIC varint). */
export function checkErrorCode(name: string, value: unknown): bigint {
  return BigInt(checkInt(name, value, 0, MAX_VARINT));
}

/** Converts `string | Uint8Array` payloads to bytes. */
export function toBytes(name: string, value: unknown): Uint8Array {
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (value instanceof Uint8Array) return value;
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  throw new TypeError(`${name} must be a string or a Uint8Array, got ${describe(value)}`);
}

/** Checks an optional AbortSignal. */
export function checkSignal(value: unknown): AbortSignal | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof AbortSignal))
    throw new TypeError(`signal must be an AbortSignal, got ${describe(value)}`);
  return value;
}

/** Checks a UDP port. */
export function checkPort(name: string, value: unknown): number {
  return checkInt(name, value, 0, 65535) as number;
}

/** A short description of a value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string')
    return `string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === 'object') return value.constructor?.name ?? 'object';
  return `${typeof value} ${String(value)}`;
}

/**
 * The keep-alive interval in ms for `keepAlive` (`true`: half the idle
 * timeout, or 15 s without one), or `null` when off.
 */
export function keepAliveInterval(value: unknown, idleTimeoutMs: number): number | null {
  if (value === undefined || value === false) return null;
  if (value === true) return idleTimeoutMs > 0 ? Math.max(1, Math.floor(idleTimeoutMs / 2)) : 15_000;
  if (typeof value !== 'number')
    throw new TypeError(`keepAlive must be a boolean or a number of ms, got ${describe(value)}`);
  return checkInt('keepAlive', value, 1, 3_600_000) as number;
}
