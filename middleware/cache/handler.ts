/**
 * One request through the response cache: look up, serve what is fresh, and otherwise let one
 * caller per key ask the application (the others wait on the lock, then read what it stored);
 * store what may be stored, revalidate what has a validator, stand in for errors with what
 * `stale-if-error` allows, and refresh `stale-while-revalidate` entries in the background.
 */
import { type ResponseParts, responseParts } from '../../src/_internal/response-parts.js';
import { isThenable } from '../../src/_internal/thenable.js';
import type { Application, Environ } from '../../src/types.js';
import { bytesOf, teeToStore, webStream } from './body.js';
import { type Entry, type Lookup, lookup, markPass, save, storeTtl } from './entries.js';
import { acquire, Held } from './lock.js';
import { PASS_REASONS } from './pass.js';
import {
  type CacheStatus,
  earlyRefusal,
  evaluate,
  fieldObject,
  type HeaderOf,
  hasValidator,
  type PolicyRequest,
  policies,
  policyHeaders,
  policyRequest,
  refusal,
  staleIfError,
  ttlOf,
  updatedPolicy,
} from './policy.js';
import { headersOf, onlyIfCached, passHost, passTarget, plainRequest } from './request.js';
import {
  discard,
  freshHit,
  HIT,
  notCached,
  passStatus,
  shownStatus,
  storedResponse,
  withStatus,
  withStatusValue,
} from './respond.js';
import { ageOf, servedFor } from './served.js';
import type { Settings } from './settings.js';
import { storedFields } from './stored-fields.js';

interface Context {
  app: Application;
  request: Request;
  environ: Environ;
  /** The request's header fields, read one by one (no copy on a hit or a pass). */
  header: HeaderOf;
  /** The request as a policy reads it, made on first use ({@link reqOf}). */
  req?: PolicyRequest;
  /** A `GET` with `Range`: answered from a fresh stored 200, else forwarded as it is. */
  ranged: boolean;
  /** Whether the request has none of the fields a hit reads ({@link plainRequest}). */
  plain: boolean;
  /** Milliseconds since the epoch when the request last went to the application (its response's age). */
  sentAt?: number;
  /** Where this process's pass memory remembers the request (request.ts). */
  passTarget: string;
  passHost: string;
  s: Settings;
}

function reqOf(ctx: Context): PolicyRequest {
  ctx.req ??= policyRequest(ctx.request);
  return ctx.req;
}

/**
 * Answers a `GET` or `HEAD` from the cache or through it. A URL this process saw answer
 * something not storable lately goes to the application at once (no store lookup, no URL
 * built, no promise of this function's own). The purger goes on `environ` only with a call.
 */
export function cachedRequest(
  app: Application,
  request: Request,
  environ: Environ,
  header: HeaderOf,
  s: Settings,
): Response | Promise<Response> {
  const target = passTarget(request, header);
  const host = passHost(header);
  if (s.passes.has(target, host)) {
    const cc = header.get('cache-control');
    if (onlyIfCached(cc)) return notCached(s);
    const inner = s.environFor(environ, request);
    const response = app(request, inner);
    if (isThenable<Response>(response)) {
      return Promise.resolve(response).then((later) =>
        passed(app, request, inner, header, cc, s, later),
      );
    }
    return passed(app, request, inner, header, cc, s, response);
  }
  const plain = plainRequest(header);
  const found = lookup(s.store, s.keys.of(request, header, target, host), header);
  if (plain && !(found instanceof Promise)) {
    // In memory, a fresh hit to a request without directives or conditions: nothing more to ask.
    const fresh = freshHit(request.method, header, found, s);
    if (fresh !== undefined) return fresh;
  }
  const ctx = context(app, request, s.environFor(environ, request), header, s, target, host);
  ctx.plain = plain;
  ctx.ranged = !plain && request.method === 'GET' && header.get('range') !== null;
  if (found instanceof Promise) return found.then((later) => decide(ctx, later));
  return decide(ctx, found);
}

function context(
  app: Application,
  request: Request,
  environ: Environ,
  header: HeaderOf,
  s: Settings,
  passTarget: string,
  passHost: string,
): Context {
  return {
    app,
    request,
    environ,
    header,
    req: undefined,
    ranged: false,
    plain: false,
    passTarget,
    passHost,
    s,
  };
}

/**
 * The application's answer to a URL this process remembers as not storable (no lock held, no
 * stored response stands in, no promise of the cache's own when the application answers at
 * once): a refusal read from its fields in one pass over them; only an answer that may be
 * stored now has its URL read (for its key) and goes the whole way. Nothing else is made on
 * the way — a no-store route pays for what it reads. `requestCacheControl`: the request's
 * `Cache-Control` (or null), read once by the caller.
 */
function passed(
  app: Application,
  request: Request,
  environ: Environ,
  header: HeaderOf,
  requestCacheControl: string | null,
  s: Settings,
  response: Response,
): Response | Promise<Response> {
  const parts = responseParts(response);
  const why = earlyRefusal(request.method, requestCacheControl, parts.status, parts.headers);
  if (why !== undefined) {
    return withStatusValue(parts, s.cacheStatus ? passStatus(parts.status, why) : undefined);
  }
  // ranged: false — a pass read the whole response, Range or not.
  const target = passTarget(request, header);
  const host = passHost(header);
  const ctx = context(app, request, environ, header, s, target, host);
  const primary = s.keys.of(request, header, target, host);
  const found: Lookup = { primary, key: primary, pass: 'here', miss: 'uri-miss' };
  return answer(ctx, found, parts, false, new Held(s.store, primary, undefined));
}

/** What the lookup found decides: a hit, a pass, or the application (one caller per key). */
function decide(ctx: Context, found: Lookup): Response | Promise<Response> {
  const entry = found.pass ? undefined : found.entry;
  if (entry) {
    const served = servedFor(entry);
    const age = ageOf(served); // one clock read for the verdict and the response
    const verdict = evaluate(entry.policy, ctx.header, age, served.lifetime);
    if (verdict === 'fresh') return hit(ctx, entry, HIT, age);
    if (verdict === 'stale-while-revalidate') {
      refreshInBackground(ctx, found);
      return hit(ctx, entry, HIT, age);
    }
  }
  if (!ctx.plain && onlyIfCached(ctx.header.get('cache-control'))) return notCached(ctx.s);
  // Neither a HEAD nor a Range request can fill the store: no one waits for them.
  if (found.pass || ctx.request.method === 'HEAD' || ctx.ranged) {
    return forward(ctx, found, undefined);
  }
  return collapsed(ctx, found);
}

/** A miss: one caller per key asks the application; the others wait, then read what it stored. */
async function collapsed(ctx: Context, missed: Lookup): Promise<Response> {
  const { s } = ctx;
  let found = missed;
  const got = await acquire(s.store, found.key, s.lockTimeout);
  if (got.released) {
    found = await lookup(s.store, found.primary, ctx.header);
    if (found.entry && evaluate(found.entry.policy, ctx.header) === 'fresh') {
      return hit(ctx, found.entry, { hit: true, collapsed: true });
    }
  }
  return forward(ctx, found, got.token);
}

/** The stored response, with `status` (`hit`, or `hit: false` and why) in `Cache-Status`. */
function hit(ctx: Context, entry: Entry, status: CacheStatus, age?: number): Response {
  const shown = shownStatus(ctx.s, status);
  return storedResponse(ctx.request.method, ctx.header, entry, shown, age, ctx.plain);
}

/**
 * Asks the application — conditionally when a stored response has a validator — and answers
 * from what it says. The lock of `found.key`, when `token` holds it, is released once the
 * response is stored or known not to be.
 */
async function forward(ctx: Context, found: Lookup, token: string | undefined): Promise<Response> {
  const unlock = new Held(ctx.s.store, found.key, token);
  const entry = found.entry;
  const conditional =
    entry !== undefined &&
    ctx.request.method === 'GET' &&
    hasValidator(policyHeaders(entry.policy));
  const inner = conditional
    ? new Request(ctx.request.url, {
        method: 'GET',
        headers: entry.policy.revalidationHeaders(reqOf(ctx)) as Record<string, string>,
        signal: ctx.request.signal,
      })
    : ctx.request;
  let response: Response;
  try {
    ctx.sentAt = Date.now();
    response = await ctx.app(inner, ctx.environ);
  } catch (error) {
    unlock.release();
    if (entry && staleIfError(entry.policy)) {
      return hit(ctx, entry, { hit: false, fwd: 'stale', detail: 'stale-if-error' });
    }
    throw error;
  }
  try {
    const answered = answer(ctx, found, responseParts(response), conditional, unlock);
    if (!(answered instanceof Promise)) return answered; // the common case: no await more
    return await answered;
  } catch (error) {
    unlock.release();
    throw error;
  }
}

function answer(
  ctx: Context,
  found: Lookup,
  parts: ResponseParts,
  conditional: boolean,
  unlock: Held,
): Response | Promise<Response> {
  const entry = found.entry;
  const headers = fieldObject(parts.headers);
  if (entry && parts.status >= 500 && staleIfError(entry.policy)) {
    discard(parts.body);
    unlock.release();
    const status = { hit: false, fwd: 'stale', fwdStatus: parts.status, detail: 'stale-if-error' };
    return hit(ctx, entry, status);
  }
  if (entry && conditional && parts.status === 304)
    return revalidated(ctx, found, parts, headers, unlock);
  return store(ctx, found, parts, headers, unlock);
}

/** A `304` to the cache's own conditional request: update the entry, or evict it and ask again. */
async function revalidated(
  ctx: Context,
  found: Lookup,
  parts: ResponseParts,
  headers: Record<string, string>,
  unlock: Held,
): Promise<Response> {
  const entry = found.entry!;
  const fields = storedFields(headers, ctx.sentAt, Date.now());
  const policy = updatedPolicy(entry.policy, reqOf(ctx), fields);
  if (policy) {
    const updated = { policy, body: entry.body };
    await save(ctx.s.store, found, ctx.header, updated, storeTtl(ctx.s.keepStale, policy, fields));
    unlock.release();
    return hit(ctx, updated, { hit: false, fwd: 'stale', fwdStatus: 304 });
  }
  // Another validator, or a changed Vary: forget the variant. A 304 to the client's own
  // validators stands; otherwise ask again, unconditionally.
  await ctx.s.store.delete(found.key);
  if (ctx.header.get('if-none-match') === null && ctx.header.get('if-modified-since') === null) {
    ctx.sentAt = Date.now();
    const again = responseParts(await ctx.app(ctx.request, ctx.environ));
    const missed: Lookup = { ...found, entry: undefined };
    return store(ctx, missed, again, fieldObject(again.headers), unlock);
  }
  return store(ctx, found, parts, headers, unlock);
}

/** Stores the application's full response when it may be, and answers with it. */
function store(
  ctx: Context,
  found: Lookup,
  parts: ResponseParts,
  headers: Record<string, string>,
  unlock: Held,
): Response | Promise<Response> {
  const { s } = ctx;
  const status: CacheStatus = { fwd: found.entry ? 'stale' : found.miss, fwdStatus: parts.status };
  const cc = ctx.header.get('cache-control');
  const early = earlyRefusal(ctx.request.method, cc, parts.status, parts.headers);
  if (early !== undefined) return refuse(ctx, found, parts, status, early, unlock);
  const fields = storedFields(headers, ctx.sentAt, Date.now());
  const policy = new (policies())(
    { ...reqOf(ctx), method: 'GET' },
    { status: parts.status, headers: fields },
    { shared: true, cacheHeuristic: s.heuristic, immutableMinTimeToLive: 0 },
  );
  const why = refusal(policy, fields);
  if (why !== undefined) return refuse(ctx, found, parts, status, why, unlock);
  s.passes.delete(ctx.passTarget, ctx.passHost);
  const ttl = storeTtl(s.keepStale, policy, fields);
  const bytes = bytesOf(parts.body);
  if (bytes) {
    const fits = bytes.byteLength <= s.maxEntrySize;
    const answer = () => {
      unlock.release();
      return withStatus(
        parts,
        bytes,
        shownStatus(s, { ...status, ttl: ttlOf(policy), stored: fits }),
      );
    };
    return fits
      ? save(s.store, found, ctx.header, { policy, body: bytes }, ttl).then(answer)
      : answer();
  }
  const body = teeToStore(webStream(parts.body as ReadableStream), s.maxEntrySize, (whole) => {
    if (!whole) return unlock.release();
    save(s.store, found, ctx.header, { policy, body: whole }, ttl)
      .catch(() => {})
      .finally(() => unlock.release());
  });
  return withStatus(parts, body, shownStatus(s, { ...status, ttl: ttlOf(policy) }));
}

/** Answers with the application's response, not stored (`why` in `Cache-Status`). */
function refuse(
  ctx: Context,
  found: Lookup,
  parts: ResponseParts,
  status: CacheStatus,
  why: string,
  unlock: Held,
): Response {
  unlock.release();
  // A 206 to a Range request says nothing of the URL's full responses.
  const pass = PASS_REASONS.has(why) && !(why === 'partial' && ctx.ranged) && !found.entry;
  if (pass && found.pass !== 'here') {
    ctx.s.passes.add(ctx.passTarget, ctx.passHost);
    if (!found.pass) markPass(ctx.s.store, found, ctx.s.passTtl).catch(() => {});
  }
  status.detail = why;
  return withStatus(parts, parts.body, shownStatus(ctx.s, status));
}

/**
 * `stale-while-revalidate`: one refresh per key at a time in this process (and, on a shared
 * store, across processes: the refresh runs only under the key's lock), handed to the
 * runtime's `waitUntil` where the request has one.
 */
function refreshInBackground(ctx: Context, found: Lookup): void {
  const { s } = ctx;
  if (s.refreshing.has(found.key)) return;
  s.refreshing.add(found.key);
  const task = (async () => {
    const token = await s.store.lock(found.key, s.lockTimeout);
    if (token === undefined) return;
    const headers = new Headers(ctx.request.headers);
    headers.delete('range'); // the refresh fetches the full response
    headers.delete('if-range');
    const request = new Request(ctx.request.url, { headers });
    const background: Context = {
      ...ctx,
      request,
      header: headersOf(request),
      req: undefined,
      ranged: false,
    };
    const response = await forward(background, found, token);
    // Read to the end: a streamed body is stored as it is read.
    if (response.body) await response.arrayBuffer();
  })()
    .catch(() => {})
    .finally(() => s.refreshing.delete(found.key));
  (ctx.request as { waitUntil?: (promise: Promise<unknown>) => void }).waitUntil?.(task);
}
