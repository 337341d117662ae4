// The debugger's security decisions as separate functions: who is trusted, the PIN gate, the
// console endpoint's refusals, and the bounded store of errors.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isLoopback, isTrustedHost, viaProxy } from '../../../middleware/_shared/dev-trust.js';
import { MAX_PIN_FAILURES, PinGate } from '../../../middleware/_shared/pin.js';
import { refusal } from '../../../middleware/debug/endpoint.js';
import { ErrorLog, type KeptError } from '../../../middleware/debug/kept.js';

const at = (url: string, headers: HeadersInit = {}, method = 'POST') =>
  new Request(url, { method, headers });

describe('isTrustedHost', () => {
  it.each([
    'http://localhost/',
    'http://LOCALHOST:8000/',
    'http://app.localhost/',
    'http://127.0.0.1:3000/',
    'http://[::1]:3000/',
  ])('trusts %s', (url) => {
    expect(isTrustedHost(at(url), new Set())).toBe(true);
  });

  it.each([
    'http://example.test/',
    'http://localhost.example.test/',
    'http://127.0.0.2/',
    'http://10.0.0.1/',
  ])('does not trust %s', (url) => {
    expect(isTrustedHost(at(url), new Set())).toBe(false);
  });

  it('trusts the configured names, case-insensitively', () => {
    expect(isTrustedHost(at('http://Dev.Example.test/'), new Set(['dev.example.test']))).toBe(true);
  });
});

describe('isLoopback and viaProxy', () => {
  it.each(['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1'])('%s is loopback', (address) => {
    expect(isLoopback(address)).toBe(true);
  });
  it.each(['10.0.0.1', '::ffff:10.0.0.1', '1127.0.0.1', undefined])('%s is not', (address) => {
    expect(isLoopback(address)).toBe(false);
  });
  it('a Forwarded, X-Forwarded-* or Via header is a sign of a proxy', () => {
    expect(viaProxy(at('http://localhost/', { via: '1.1 proxy' }))).toBe(true);
    expect(viaProxy(at('http://localhost/', { 'x-forwarded-proto': 'https' }))).toBe(true);
    expect(viaProxy(at('http://localhost/'))).toBe(false);
  });
});

describe('PinGate', () => {
  it('prints a PIN of three groups and accepts it, trimmed', () => {
    const gate = new PinGate('token');
    expect(gate.pin).toMatch(/^\d{3}-\d{3}-\d{3}$/);
    expect(gate.try(` ${gate.pin} `)).toBe(true);
  });

  it('locks after the tenth wrong PIN, and the right one no longer helps', () => {
    const gate = new PinGate('token');
    for (let i = 1; i < MAX_PIN_FAILURES; i++) expect(gate.try('000-000-000')).toBe(false);
    expect(gate.locked).toBe(false);
    expect(gate.triesLeft).toBe(1);
    gate.try('000-000-000');
    expect(gate.locked).toBe(true);
    expect(gate.try(gate.pin)).toBe(false);
  });

  it('derives the PIN and the cookie from the secret: the same secret, the same PIN', () => {
    expect(new PinGate('secret').pin).toBe(new PinGate('secret').pin);
    expect(new PinGate('secret').pin).not.toBe(new PinGate('another').pin);
    const gate = new PinGate('secret');
    expect(gate.try(gate.pin.replaceAll('-', ''))).toBe(true);
  });

  it('unlocks only a request carrying its own cookie, for 8 hours', () => {
    const gate = new PinGate('token');
    const other = new PinGate('another token');
    const value = (cookie: string) => cookie.split(';')[0]!;
    const cookie = gate.cookie('/__debug__/', false);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    expect(gate.unlocked(at('http://localhost/', { cookie: value(cookie) }))).toBe(true);
    expect(other.unlocked(at('http://localhost/', { cookie: value(cookie) }))).toBe(false);
    expect(gate.unlocked(at('http://localhost/'))).toBe(false);
    const at9 = Date.UTC(2030, 0, 1, 9);
    const morning = `${gate.cookieName}=${value(gate.cookie('/', false, at9)).split('=')[1]}`;
    const request = at('http://localhost/', { cookie: morning });
    expect(gate.unlocked(request, at9 + (8 * 3600 - 1) * 1000)).toBe(true);
    expect(gate.unlocked(request, at9 + 8 * 3600 * 1000)).toBe(false);
    const forged = morning.replace(/=\d+\./, `=${at9 / 1000 + 3600}.`);
    expect(gate.unlocked(at('http://localhost/', { cookie: forged }), at9 + 8 * 3600 * 1000)).toBe(
      false,
    );
  });
});

describe('refusal (the console endpoint rules)', () => {
  const token = 'a'.repeat(64);
  const good = { 'x-mortar-debug-token': token, origin: 'http://localhost:8000' };
  const url = 'http://localhost:8000/__debug__/console';

  it('lets a same-origin POST with the token through', () => {
    expect(refusal(at(url, good), token)).toBeUndefined();
    expect(refusal(at(url, { ...good, 'sec-fetch-site': 'same-origin' }), token)).toBeUndefined();
  });

  it.each([
    ['GET', {}, 405],
    ['POST', { origin: good.origin }, 403],
    ['POST', { ...good, 'x-mortar-debug-token': 'b'.repeat(64) }, 403],
    ['POST', { ...good, origin: 'http://evil.test' }, 403],
    ['POST', { 'x-mortar-debug-token': token }, 403],
    ['POST', { ...good, 'sec-fetch-site': 'cross-site' }, 403],
  ] as const)('refuses %s with %j: %i', (method, headers, status) => {
    expect(refusal(at(url, headers, method), token)?.status).toBe(status);
  });
});

describe('ErrorLog', () => {
  afterEach(() => vi.useRealTimers());
  const entry = (id: string) =>
    ({
      traceback: { id },
      error: new Error(id),
      request: at('http://localhost/'),
      environ: { scriptName: '', pathInfo: '/', gateway: 'test' },
      captured: [{ name: 'f', locals: { x: 1 } }],
    }) as unknown as Omit<KeptError, 'expires' | 'scopes'>;

  it('keeps at most maxErrors, dropping the oldest', () => {
    const log = new ErrorLog(2, 60_000);
    log.remember(entry('a'));
    log.remember(entry('b'));
    log.remember(entry('c'));
    expect(log.get('a')).toBeUndefined();
    expect(log.get('b')).toBeDefined();
    expect(log.get('c')).toBeDefined();
  });

  it('forgets an error once its ttl (milliseconds) passed', () => {
    vi.useFakeTimers();
    const log = new ErrorLog(5, 1000);
    log.remember(entry('a'));
    vi.advanceTimersByTime(999);
    expect(log.get('a')).toBeDefined();
    vi.advanceTimersByTime(1);
    expect(log.get('a')).toBeUndefined();
  });

  it('gives each frame one scope: its locals, $err, $request, $environ; assignments persist', () => {
    const log = new ErrorLog(5, 1000);
    log.remember(entry('a'));
    const kept = log.get('a')!;
    const scope = log.scopeOf(kept, 0);
    expect(scope.x).toBe(1);
    expect(scope.$err).toBe(kept.error);
    scope.y = 2;
    expect(log.scopeOf(kept, 0).y).toBe(2);
    expect(log.scopeOf(kept, 1).x).toBeUndefined();
  });
});
