/**
 * What `TestClient` answers: {@link TestResponse}, the response with its body read once and
 * kept (also what a refused `TestClient.websocket` handshake carries).
 */

/** A finished response, with its body read once and kept so `text()` and `json()` both work. */
export class TestResponse {
  /** The final URL (after redirects, when followed). */
  readonly url: string;
  /** The underlying `Response`; its body is already consumed. */
  readonly response: Response;
  /** The URLs of the redirects that were followed, in order. */
  readonly redirects: readonly string[];
  readonly #bytes: Uint8Array;

  constructor(response: Response, url: string, bytes: Uint8Array, redirects: readonly string[]) {
    this.response = response;
    this.url = url;
    this.#bytes = bytes;
    this.redirects = redirects;
  }
  get status(): number {
    return this.response.status;
  }
  get headers(): Headers {
    return this.response.headers;
  }
  /** The body as UTF-8 text. */
  text(): string {
    return new TextDecoder().decode(this.#bytes);
  }
  /**
   * The body parsed as JSON.
   * @throws SyntaxError naming the status and the start of the body when it is not JSON.
   */
  json<T = unknown>(): T {
    const text = this.text();
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new SyntaxError(
        `response ${this.status} is not JSON: ${JSON.stringify(text.slice(0, 80))}`,
      );
    }
  }
  /** The raw body bytes. */
  bytes(): Uint8Array {
    return this.#bytes;
  }
}
