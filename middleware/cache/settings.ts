/** What one `cache()` middleware works with: its options, checked, and this process's memories. */
import type { Environ } from '../../src/types.js';
import type { Passes } from './pass.js';
import type { UrlKeys } from './request.js';
import type { CacheStore } from './store.js';

/** The middleware's settings, checked. Durations as the options give them. */
export interface Settings {
  store: CacheStore;
  prefix: string;
  maxEntrySize: number;
  lockTimeout: number;
  keepStale: number;
  passTtl: number;
  heuristic: number;
  /** Whether responses carry `Cache-Status` (the `cacheStatus` option). */
  cacheStatus: boolean;
  /** Keys being refreshed in the background by this process. */
  refreshing: Set<string>;
  /** URLs that answered something not storable lately, in this process. */
  passes: Passes;
  /** The store keys of the URLs requested lately, in this process (`prefix + request.url`). */
  keys: UrlKeys;
  /** The environ the application is called with: this cache's purger placed on `environ`. */
  environFor(environ: Environ, request: Request): Environ;
}
