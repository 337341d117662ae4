/**
 * `mortar/node` — serving mortar applications on Node: {@link serve}, the HTTP/1.1 gateway.
 *
 * ```ts
 * import { serve } from 'mortar/node';
 * const server = await serve(app, { port: 8000 });
 * ```
 */
export type { ShutdownOptions } from '../_shared/shutdown.js';
export { type ServeOptions, type Server, serve } from './serve.js';
