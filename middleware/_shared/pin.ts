/**
 * The debugger PIN (Werkzeug's): printed in the server's terminal, asked once per browser,
 * remembered in an HttpOnly `SameSite=Strict` cookie for {@link PIN_LIFETIME} seconds; 10 wrong
 * tries lock the console until the process restarts.
 *
 * The PIN and the cookie are derived from a secret that outlives the process (see secret.ts),
 * so a restart — `mortar serve --reload` restarts at every save — keeps both: a developer
 * gives the PIN once per browser per working day, as Werkzeug's PIN, stable across restarts,
 * and its timestamped cookie intend.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { parseCookie, stringifySetCookie } from 'cookie';

/** Wrong PINs after which the console stays locked until restart. */
export const MAX_PIN_FAILURES = 10;
/** Seconds a PIN cookie unlocks the debugger: a working day (8 hours). */
export const PIN_LIFETIME = 8 * 60 * 60;

/** One `debug()` instance's PIN, its cookie and the count of wrong tries. */
export class PinGate {
  /** `123-456-789`, derived from the secret. */
  readonly pin: string;
  /** `mortar_debug_` and 8 hex digits of the secret's: servers with other secrets keep theirs. */
  readonly cookieName: string;
  readonly #secret: string;
  #failures = 0;

  /** @param secret - The secret the PIN and the cookie are derived from (see secret.ts). */
  constructor(secret: string) {
    this.#secret = secret;
    const digits = BigInt(`0x${this.#mac('pin')}`) % 1_000_000_000n;
    const nine = digits.toString().padStart(9, '0');
    this.pin = `${nine.slice(0, 3)}-${nine.slice(3, 6)}-${nine.slice(6)}`;
    this.cookieName = `mortar_debug_${this.#mac('cookie name').slice(0, 8)}`;
  }

  #mac(text: string): string {
    return createHmac('sha256', this.#secret).update(text).digest('hex');
  }

  /** True after {@link MAX_PIN_FAILURES} wrong tries. */
  get locked(): boolean {
    return this.#failures >= MAX_PIN_FAILURES;
  }

  /** Tries left before the lock. */
  get triesLeft(): number {
    return Math.max(0, MAX_PIN_FAILURES - this.#failures);
  }

  /**
   * Checks a PIN (constant time; spaces and dashes do not count); a wrong one counts towards
   * the lock, a right one resets it.
   */
  try(pin: string): boolean {
    if (this.locked) return false;
    if (safeEqual(pin.replace(/[\s-]/g, ''), this.pin.replaceAll('-', ''))) {
      this.#failures = 0;
      return true;
    }
    this.#failures++;
    return false;
  }

  /**
   * Whether the request carries a cookie a right PIN set less than {@link PIN_LIFETIME}
   * seconds ago (by this process or an earlier one with the same secret).
   *
   * @param now - Milliseconds since the epoch.
   */
  unlocked(request: Request, now = Date.now()): boolean {
    const value = parseCookie(request.headers.get('cookie') ?? '')[this.cookieName];
    const match = /^(\d{1,12})\.([\w-]{43})$/.exec(value ?? '');
    if (!match) return false;
    const age = now / 1000 - Number(match[1]);
    return age >= -60 && age < PIN_LIFETIME && safeEqual(match[2]!, this.#stamp(match[1]!));
  }

  #stamp(issued: string): string {
    return createHmac('sha256', this.#secret).update(`unlocked ${issued}`).digest('base64url');
  }

  /**
   * The `Set-Cookie` value that unlocks the debugger for {@link PIN_LIFETIME} seconds, on every
   * path of the application (`{scriptName}/`): the traceback is served at the failing URL.
   *
   * @param now - Milliseconds since the epoch.
   */
  cookie(path: string, secure: boolean, now = Date.now()): string {
    const issued = String(Math.floor(now / 1000));
    return stringifySetCookie(this.cookieName, `${issued}.${this.#stamp(issued)}`, {
      path,
      maxAge: PIN_LIFETIME,
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
