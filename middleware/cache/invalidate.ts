/** Forgets a URL's stored responses: its key, and with it every variant (entries.ts). */
import type { Settings } from './settings.js';

/** Deletes the stored responses of the absolute `url`. */
export function invalidate(s: Pick<Settings, 'store' | 'prefix'>, url: string): Promise<void> {
  return s.store.delete(s.prefix + url);
}
