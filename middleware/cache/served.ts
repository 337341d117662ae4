/**
 * What every hit of a stored response reads, made once per entry rather than on every hit: its
 * status, the header fields it is served with (a flat list the gateway writes as it is), its
 * lifetime, and what its age is counted from — so a hit reads the clock once and copies one
 * short list, where http-cache-semantics would rebuild its headers object and re-read its
 * `Age` on every call.
 */
import { HOP_BY_HOP } from '../_shared/hop-by-hop.js';
import { type CachePolicy, policyHeaders, statusOf } from './policy.js';

export interface Served {
  status: number;
  /**
   * `[name, value, …]` of the stored fields less the hop-by-hop ones, `Age` and
   * `Cache-Status` (each hit adds its own), with `Content-Length` when the response had none.
   */
  fields: string[];
  /** Seconds of freshness from the response's `Date` (http-cache-semantics' `maxAge()`). */
  lifetime: number;
  /** The `Age` the response came with, in seconds. */
  ageBase: number;
  /** Milliseconds since the epoch when it was received. */
  responseTime: number;
  /** The fields its last hit was served with, for that status, `Age` and `ttl` (respond.ts). */
  shown?: { status: object | undefined; age: number; ttl: number; fields: string[] } | undefined;
}

/** The {@link Served} of a stored response whose body is `length` bytes. */
export function servedOf(policy: CachePolicy, length: number): Served {
  const object = policy.toObject() as { t: number };
  const stored = policyHeaders(policy);
  const fields: string[] = [];
  for (const name in stored) {
    if (HOP_BY_HOP.has(name) || name === 'age' || name === 'cache-status') continue;
    fields.push(name, stored[name]!);
  }
  const status = statusOf(policy);
  if (stored['content-length'] === undefined && status !== 204 && status !== 304) {
    fields.push('content-length', String(length));
  }
  const age = Number.parseInt(stored.age ?? '', 10); // as http-cache-semantics reads it
  return {
    status,
    fields,
    lifetime: policy.maxAge(),
    ageBase: Number.isFinite(age) ? age : 0,
    responseTime: object.t,
    shown: undefined,
  };
}

/** The entry's {@link Served}, made on its first hit. */
export function servedFor(entry: {
  policy: CachePolicy;
  body: Uint8Array;
  served?: Served | undefined;
}): Served {
  entry.served ??= servedOf(entry.policy, entry.body.byteLength);
  return entry.served;
}

/** The entry's age in seconds now (RFC 9111 §4.2.3, as http-cache-semantics' `age()`). */
export function ageOf(served: Served, now = Date.now()): number {
  return served.ageBase + (now - served.responseTime) / 1000;
}
