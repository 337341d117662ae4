import { preferredMediaType } from './negotiation.js';
import { STATUS_TEXT } from './status.js';
import type { HeadersInit } from './types.js';

/** Options of {@link HTTPError}. */
export interface HTTPErrorOptions {
  /**
   * What the client reads below the status line: plain text, always escaped in the HTML and
   * JSON renderings.
   * @default the reason phrase of `status`
   */
  body?: string;
  /** Extra response headers (`Allow` for a 405, `Location` for a redirect, …). */
  headers?: HeadersInit;
  /** The underlying error, kept for logs; never sent to the client. */
  cause?: unknown;
}

/**
 * An error that is also a response (paste.httpexceptions): throw it anywhere below a gateway
 * and the client gets its status, headers and body. The body is negotiated by the request's
 * `Accept` header — HTML, JSON or plain text — and always escaped.
 *
 * ```ts
 * const users: Application = (request) => {
 *   if (request.method !== 'GET') throw new HTTPError(405, { headers: { allow: 'GET, HEAD' } });
 *   const id = new URL(request.url).searchParams.get('id');
 *   throw new HTTPError(404, { body: `no user ${id}` });
 * };
 * ```
 *
 * @throws RangeError from the constructor when `status` is not an integer in 300–599.
 */
export class HTTPError extends Error {
  override readonly name = 'HTTPError';
  /** The HTTP status code (300–599). */
  readonly status: number;
  /** Response headers sent with the error. */
  readonly headers: Headers;
  /** The explanation sent to the client (plain text, escaped when rendered). */
  readonly body: string;

  constructor(status: number, options: HTTPErrorOptions = {}) {
    if (!Number.isInteger(status) || status < 300 || status > 599) {
      throw new RangeError(`HTTPError: status must be an integer from 300 to 599, got ${status}`);
    }
    const reason = STATUS_TEXT[status] ?? 'Error';
    super(`${status} ${reason}${options.body ? `: ${options.body}` : ''}`, {
      cause: options.cause,
    });
    this.status = status;
    this.headers = new Headers(options.headers);
    this.body = options.body ?? reason;
  }

  /** Renders this error as a response for `request` (its `Accept` picks the format). */
  toResponse(request?: Request): Response {
    return errorResponse(this.status, request, this.body, this.headers);
  }
}

const OFFERS = ['text/plain', 'text/html', 'application/json'] as const;
type Offer = (typeof OFFERS)[number];

/**
 * The class {@link errorResponse} builds: srvx's FastResponse once `./response.js` is loaded
 * (it registers itself; `mortar`, the HTTP gateway and every middleware load it), else the
 * platform's `Response`. So the CGI and FastCGI gateways' own errors need no srvx, and a CGI
 * process — one per request — never loads srvx's Node adapter (node:http, http2, tls: about
 * 25 ms of a 150 ms request; `npm run bench:cgi`).
 */
let errorResponseClass: typeof Response | undefined;

/** @internal Called once by `./response.ts` with FastResponse. */
export function useErrorResponseClass(ResponseClass: typeof Response): void {
  errorResponseClass = ResponseClass;
}

/**
 * A small error response for `status`, negotiated by `request`'s `Accept` (HTML, JSON, or
 * plain text, which is also the default) and escaped. Used by every response mortar makes
 * for an error of its own.
 *
 * @param detail - Plain text shown under the status; default the reason phrase.
 * @param headers - Extra headers; `Content-Type`, `Vary`, `Cache-Control` and
 *   `X-Content-Type-Options` are set here.
 */
export function errorResponse(
  status: number,
  request?: Request,
  detail?: string,
  headers?: HeadersInit,
): Response {
  const reason = STATUS_TEXT[status] ?? 'Error';
  const message = detail ?? reason;
  const type = preferredMediaType(request?.headers.get('accept'), OFFERS) ?? 'text/plain';
  const out = new Headers(headers);
  out.set('content-type', `${type}; charset=utf-8`);
  out.set('x-content-type-options', 'nosniff');
  out.append('vary', 'Accept');
  if (!out.has('cache-control')) out.set('cache-control', 'no-store');
  const body = request?.method === 'HEAD' ? null : renderError(type, status, reason, message);
  const ErrorResponse = errorResponseClass ?? Response;
  return new ErrorResponse(status === 304 ? null : body, { status, headers: out });
}

function renderError(type: Offer, status: number, reason: string, message: string): string {
  switch (type) {
    case 'application/json':
      return escapeJSON(JSON.stringify({ status, error: reason, message }));
    case 'text/html': {
      const title = escapeHTML(`${status} ${reason}`);
      return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${title}</title></head>\n<body><h1>${title}</h1>\n<p>${escapeHTML(message)}</p></body></html>\n`;
    }
    default:
      return `${status} ${reason}\n${message === reason ? '' : `\n${message}\n`}`;
  }
}

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes `& < > " '` for HTML text and attribute values. */
export function escapeHTML(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

/** Makes JSON safe to embed anywhere: `<`, `>`, `&` and U+2028/9 become `\uXXXX` escapes. */
function escapeJSON(json: string): string {
  return json.replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
