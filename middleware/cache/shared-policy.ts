/**
 * http-cache-semantics' `CachePolicy`, loaded on the first `cache()` (an optional peer
 * dependency, so that installing mortar installs no HTTP-cache code), with the one freshness
 * rule mortar reads otherwise: in a shared cache, the library gives a response with
 * `proxy-revalidate` no lifetime at all, where RFC 9111 §5.2.2.8 makes it `must-revalidate`
 * for shared caches — a rule about stale responses only. `max-age=60, proxy-revalidate` is
 * fresh for 60 seconds here, then never served stale (policy.ts's `mustRevalidate`).
 */
import type CachePolicy from 'http-cache-semantics';
import { requireOptional } from '../../src/_internal/optional.js';

/** The library's fields this reads (its own, not its declared interface). */
interface Internals {
  _isShared: boolean;
  _rescc: Record<string, string | true>;
}

let policyClass: typeof CachePolicy | undefined;

/**
 * The `CachePolicy` class `cache()` builds its policies with (see the module comment).
 * @throws Error saying to `npm install http-cache-semantics` when it is not installed.
 */
export function policies(): typeof CachePolicy {
  policyClass ??= sharedPolicy(
    requireOptional<typeof CachePolicy>(
      'http-cache-semantics',
      'cache() needs the http-cache-semantics package: npm install http-cache-semantics',
    ),
  );
  return policyClass;
}

function sharedPolicy(Base: typeof CachePolicy): typeof CachePolicy {
  return class SharedCachePolicy extends Base {
    override maxAge(): number {
      const self = this as unknown as Internals;
      const rescc = self._rescc;
      if (!self._isShared || rescc?.['proxy-revalidate'] === undefined) return super.maxAge();
      // The lifetime as if the directive were absent; the stored fields keep it.
      const { 'proxy-revalidate': _, ...others } = rescc;
      self._rescc = others;
      try {
        return super.maxAge();
      } finally {
        self._rescc = rescc;
      }
    }
  };
}
