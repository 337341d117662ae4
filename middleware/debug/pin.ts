/**
 * The console PIN (Werkzeug's debugger PIN): printed in the server's terminal, asked once per
 * browser, remembered in an HttpOnly `SameSite=Strict` cookie; 10 wrong tries lock the console
 * until the process restarts.
 */
import { createHmac, randomInt, timingSafeEqual } from 'node:crypto';
import { parseCookie, stringifySetCookie } from 'cookie';

/** Wrong PINs after which the console stays locked until restart. */
export const MAX_PIN_FAILURES = 10;
const COOKIE = 'mortar_debug';

/** One `debug()` instance's PIN, its cookie and the count of wrong tries. */
export class PinGate {
  /** `123-456-789`. */
  readonly pin = `${randomInt(100, 1000)}-${randomInt(100, 1000)}-${randomInt(100, 1000)}`;
  readonly #cookieValue: string;
  #failures = 0;

  /** @param token - The per-process secret the cookie value is derived from. */
  constructor(token: string) {
    this.#cookieValue = createHmac('sha256', token).update(`pin:${this.pin}`).digest('base64url');
  }

  /** True after {@link MAX_PIN_FAILURES} wrong tries. */
  get locked(): boolean {
    return this.#failures >= MAX_PIN_FAILURES;
  }

  /** Tries left before the lock. */
  get triesLeft(): number {
    return Math.max(0, MAX_PIN_FAILURES - this.#failures);
  }

  /** Checks a PIN (constant time); a wrong one counts towards the lock, a right one resets it. */
  try(pin: string): boolean {
    if (this.locked) return false;
    if (safeEqual(pin.trim(), this.pin)) {
      this.#failures = 0;
      return true;
    }
    this.#failures++;
    return false;
  }

  /** Whether the request carries the cookie a right PIN set. */
  unlocked(request: Request): boolean {
    const value = parseCookie(request.headers.get('cookie') ?? '')[COOKIE];
    return value !== undefined && safeEqual(value, this.#cookieValue);
  }

  /** The `Set-Cookie` value that unlocks the console, scoped to the console's own path. */
  cookie(path: string, secure: boolean): string {
    return stringifySetCookie(COOKIE, this.#cookieValue, {
      path,
      httpOnly: true,
      sameSite: 'strict',
      secure,
    });
  }
}

/** String equality in constant time for equal lengths. */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
