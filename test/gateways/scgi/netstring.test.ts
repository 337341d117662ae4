// The SCGI header netstring, without a socket or a front end.
import { describe, expect, it } from 'vitest';
import { parseSCGIHeader } from '../../../src/gateways/scgi/netstring.js';

const netstring = (fields: string[], rest = '') => {
  const body = `${fields.join('\0')}\0`;
  return Buffer.from(`${Buffer.byteLength(body)}:${body},${rest}`, 'latin1');
};

describe('parseSCGIHeader', () => {
  it('reads the meta-variables and hands back the bytes after the comma', () => {
    const parsed = parseSCGIHeader(
      netstring(['CONTENT_LENGTH', '5', 'SCGI', '1', 'REQUEST_METHOD', 'POST'], 'hello'),
      65_536,
    );
    expect(parsed?.meta).toEqual({ CONTENT_LENGTH: '5', SCGI: '1', REQUEST_METHOD: 'POST' });
    expect(parsed?.rest.toString()).toBe('hello');
  });

  it('asks for more data while the netstring is incomplete', () => {
    const whole = netstring(['CONTENT_LENGTH', '0']);
    for (let cut = 0; cut < whole.length; cut++) {
      expect(parseSCGIHeader(whole.subarray(0, cut), 65_536)).toBeUndefined();
    }
    expect(parseSCGIHeader(whole, 65_536)).toBeDefined();
  });

  it.each([
    ['a length that is not a number', Buffer.from('12a:xx,')],
    ['no colon within ten digits', Buffer.from('12345678901')],
    ['no comma at the end', Buffer.from('3:abc;')],
  ])('throws on %s', (_, data) => {
    expect(() => parseSCGIHeader(data, 65_536)).toThrow();
  });

  it('throws when the header is over the limit, naming both sizes', () => {
    expect(() => parseSCGIHeader(Buffer.from('70000:'), 65_536)).toThrow(/70000 bytes, over 65536/);
  });
});
