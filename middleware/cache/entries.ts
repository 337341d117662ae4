/**
 * How responses sit in a store. A URL's key holds either the response (no `Vary`), a `vary`
 * record naming the selecting fields — each variant then has a key of its own, made of those
 * fields' values and the record's generation, so deleting the URL's key forgets every variant
 * at once — or a `pass` record: the URL answered something not storable, and requests go
 * straight through without waiting on a lock (Varnish's hit-for-miss) until it expires.
 */
import {
  type CachePolicy,
  type HeaderOf,
  hasValidator,
  policies,
  policyHeaders,
} from './policy.js';
import type { Served } from './served.js';
import { type CacheRecord, type CacheStore, MemoryCacheStore } from './store.js';

/** A stored response. */
export interface Entry {
  policy: CachePolicy;
  body: Uint8Array;
  /** What its hits read, made on the first (served.ts). */
  served?: Served | undefined;
}

type Meta =
  | { kind: 'response'; policy: object }
  | { kind: 'vary'; vary: string[]; generation: string }
  | { kind: 'pass' };

/** What a lookup found for a request. */
export interface Lookup {
  /** The URL's key. */
  primary: string;
  /** The key the response for this request is (or would be) stored under. */
  key: string;
  entry?: Entry | undefined;
  /**
   * The URL answered something not storable lately: `store`, as its pass record says;
   * `here`, as this process remembers (pass.ts) — the store was not asked.
   */
  pass?: 'store' | 'here' | undefined;
  /** Why nothing was found: `uri-miss`, or `vary-miss` (the URL has other variants). */
  miss: 'uri-miss' | 'vary-miss';
  /** The URL's vary record, when it has one. */
  vary?: { names: string[]; generation: string } | undefined;
}

/**
 * Finds the stored response under `primary` (the URL's key) for the request's `header`s — at
 * once, without a promise, in this process's memory ({@link MemoryCacheStore.peek}).
 */
export function lookup(
  store: CacheStore,
  primary: string,
  header: HeaderOf,
): Lookup | Promise<Lookup> {
  if (store instanceof MemoryCacheStore) {
    const found = urlLookup(primary, store.peek(primary), header);
    return found.vary ? variantLookup(found, store.peek(found.key)) : found;
  }
  return lookupIn(store, primary, header);
}

async function lookupIn(store: CacheStore, primary: string, header: HeaderOf): Promise<Lookup> {
  const found = urlLookup(primary, await store.get(primary), header);
  return found.vary ? variantLookup(found, await store.get(found.key)) : found;
}

/** What the URL's own record says: a response, a pass, or (with `vary`) where its variant is. */
function urlLookup(primary: string, record: CacheRecord | undefined, header: HeaderOf): Lookup {
  if (!record) return { primary, key: primary, miss: 'uri-miss' };
  const meta = record.meta as Meta;
  if (meta.kind === 'pass') return { primary, key: primary, pass: 'store', miss: 'uri-miss' };
  if (meta.kind === 'response') {
    return { primary, key: primary, entry: entryOf(meta, record), miss: 'uri-miss' };
  }
  const vary = { names: meta.vary, generation: meta.generation };
  return { primary, key: variantKey(primary, vary, header), vary, miss: 'vary-miss' };
}

function variantLookup(found: Lookup, variant: CacheRecord | undefined): Lookup {
  const meta = variant?.meta as Meta | undefined;
  return meta?.kind === 'response' ? { ...found, entry: entryOf(meta, variant!) } : found;
}

/**
 * The entries made from records: a store that keeps records as objects (the memory store)
 * returns the same record on every hit, whose policy is then built once, not on every hit.
 */
const made = new WeakMap<CacheRecord, Entry>();

function entryOf(meta: { policy: object }, record: CacheRecord): Entry {
  let entry = made.get(record);
  if (entry === undefined) {
    entry = {
      policy: policies().fromObject(meta.policy as CachePolicy.CachePolicyObject),
      body: record.body ?? new Uint8Array(0),
    };
    made.set(record, entry);
  }
  return entry;
}

/** The lower-case field names of a `Vary` value (`*` included: the caller refuses it). */
export function varyNames(vary: string | undefined): string[] {
  if (!vary) return [];
  return vary
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter(Boolean)
    .sort();
}

function variantKey(
  primary: string,
  vary: { names: string[]; generation: string },
  header: HeaderOf,
): string {
  let key = `${primary}\n${vary.generation}`;
  for (const name of vary.names) {
    // An absent field matches only an absent one, never an empty value (RFC 9111 §4.1).
    const value = header.get(name);
    key += value === null ? `\n${name}` : `\n${name}:${value.trim()}`;
  }
  return key;
}

let generations = 0;

/**
 * Seconds to keep a response: its lifetime and stale windows, and `keepStale` seconds more when
 * it has a validator (it can then be revalidated rather than fetched again).
 */
export function storeTtl(
  keepStale: number,
  policy: CachePolicy,
  headers: Record<string, string>,
): number {
  const ttl = policy.timeToLive() / 1000 + (hasValidator(headers) ? keepStale : 0);
  return Math.max(1, Math.ceil(ttl));
}

/**
 * Stores a response for `ttl` seconds under the key its `Vary` and the request's
 * `header`s select (writing the URL's vary record first when it has none, or another).
 */
export async function save(
  store: CacheStore,
  found: Lookup,
  header: HeaderOf,
  entry: Entry,
  ttl: number,
): Promise<void> {
  const names = varyNames(policyHeaders(entry.policy).vary);
  const record: CacheRecord = {
    meta: { kind: 'response', policy: entry.policy.toObject() },
    body: entry.body,
  };
  if (names.length === 0) {
    await store.set(found.primary, record, ttl);
    return;
  }
  let vary = found.vary;
  if (!vary || vary.names.join() !== names.join()) {
    vary = { names, generation: `${Date.now().toString(36)}.${++generations}` };
  }
  const meta: Meta = { kind: 'vary', vary: vary.names, generation: vary.generation };
  await store.set(found.primary, { meta }, ttl);
  await store.set(variantKey(found.primary, vary, header), record, ttl);
}

/** Marks the URL as not storable for `ttl` seconds (only where nothing else is stored, and once). */
export async function markPass(store: CacheStore, found: Lookup, ttl: number): Promise<void> {
  if (found.miss === 'uri-miss' && !found.entry && !found.pass && ttl > 0) {
    await store.set(found.primary, { meta: { kind: 'pass' } satisfies Meta }, ttl);
  }
}
