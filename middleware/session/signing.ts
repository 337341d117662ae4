/**
 * Session ids and their signatures: ids of 192 random bits, sent as `id.keyId.mac` with an
 * HMAC-SHA256 under the newest secret, verified under any configured secret (rotation).
 * Web Crypto only, so the session middleware runs on every runtime.
 */

import { ConfigError } from '../../src/_internal/options.js';
import { base64url, constantTimeEqual } from '../_shared/crypto.js';

/** Secrets by numeric id; the highest id signs and seals (as iron-session does). */
export interface Secrets {
  current: { id: string; secret: string };
  all: ReadonlyMap<string, string>;
}

const ID = /^[A-Za-z0-9_-]{32}$/;

/**
 * Normalises the `secret` option: a string is `{ 1: secret }`.
 * @throws ConfigError (a TypeError) when a secret is shorter than 32 characters or an id is not an integer.
 */
export function parseSecrets(secret: unknown, option = 'option "secret"'): Secrets {
  if (secret === undefined || secret === null || secret === '') {
    throw new ConfigError(`session: ${option} is required (a string of 32 or more characters)`);
  }
  const entries: [string, unknown][] =
    typeof secret === 'string' ? [['1', secret]] : Object.entries(secret as object);
  if (entries.length === 0) throw new ConfigError(`session: ${option} has no secrets`);
  const all = new Map<string, string>();
  for (const [id, value] of entries) {
    if (!/^\d+$/.test(id)) {
      throw new ConfigError(`session: ${option} ids must be integers (1, 2, …), got "${id}"`);
    }
    if (typeof value !== 'string' || value.length < 32) {
      throw new ConfigError(
        `session: ${option}${typeof secret === 'string' ? '' : `[${id}]`} must be a string of at least 32 characters`,
      );
    }
    all.set(id, value);
  }
  const newest = [...all.keys()].sort((a, b) => Number(b) - Number(a))[0]!;
  return { current: { id: newest, secret: all.get(newest)! }, all };
}

/** Bytes of one session id. */
const ID_BYTES = 24;
/**
 * Random bytes for ids, drawn from Web Crypto 170 ids at a time (as Node's `randomUUID` pools
 * its entropy): one call into the system's generator per 170 new sessions, not one each.
 * Each byte is used once.
 */
const pool = new Uint8Array(ID_BYTES * 170);
let pooled = 0;

/** A new session id: 24 random bytes from Web Crypto, base64url (32 characters). */
export function newSessionId(): string {
  if (pooled === 0) {
    crypto.getRandomValues(pool);
    pooled = pool.length;
  }
  pooled -= ID_BYTES;
  return base64url(pool.subarray(pooled, pooled + ID_BYTES));
}

/** Whether `id` has the shape of an id we made (what FileStore relies on for file names). */
export function isSessionId(id: string): boolean {
  return ID.test(id);
}

/** The cookie value for `id`: `id.keyId.mac`. */
export async function signId(id: string, secrets: Secrets): Promise<string> {
  return `${id}.${secrets.current.id}.${await mac(secrets.current.secret, id)}`;
}

/** The id in a signed cookie value, or `undefined` when it is malformed or forged. */
export async function verifyId(value: string, secrets: Secrets): Promise<string | undefined> {
  const [id, keyId, signature, extra] = value.split('.');
  if (extra !== undefined || !id || !keyId || !signature || !isSessionId(id)) return undefined;
  const secret = secrets.all.get(keyId);
  if (secret === undefined) return undefined;
  return constantTimeEqual(signature, await mac(secret, id)) ? id : undefined;
}

/** Imported HMAC keys by secret: importing costs more than signing. */
const keys = new Map<string, Promise<CryptoKey>>();
const encoder = new TextEncoder();

/** HMAC-SHA256 of `id` under `secret`, base64url without padding (as Node's digest gives). */
async function mac(secret: string, id: string): Promise<string> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey(
      'raw',
      encoder.encode(secret),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign'],
    );
    keys.set(secret, key);
  }
  return base64url(new Uint8Array(await crypto.subtle.sign('HMAC', await key, encoder.encode(id))));
}
