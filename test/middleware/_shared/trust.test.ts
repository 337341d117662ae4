/**
 * compileTrust keeps Express's `trust proxy` rules (proxy-addr, a devDependency kept for this
 * comparison) on ipaddr.js alone: the same peers trusted, the same entries refused.
 */
import fc from 'fast-check';
import proxyAddr from 'proxy-addr';
import { describe, expect, it } from 'vitest';
import { compileTrust } from '../../../middleware/_shared/trust.js';

const ENTRIES = [
  'loopback',
  'linklocal',
  'uniquelocal',
  '10.0.0.0/8',
  '10.1.2.3',
  '192.168.1.0/255.255.255.0',
  '172.16.0.0/12',
  '::ffff:10.0.0.0/104',
  '2001:db8::/32',
  'fe80::1',
  '::/1',
  '203.0.113.7/32',
];

const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'));
const ipv6 = fc.ipV6();
const special = fc.constantFrom(
  '127.0.0.1',
  '127.255.0.9',
  '::1',
  '::ffff:127.0.0.1',
  '::ffff:10.9.8.7',
  '169.254.3.4',
  'fe80::abcd',
  'fc00::1',
  '10.1.2.3',
  '2001:db8::9',
  '::ffff:192.168.1.77',
  'not-an-ip',
  '',
);

describe('compileTrust', () => {
  it('trusts the peers proxy-addr trusts, for any list of entries', () => {
    fc.assert(
      fc.property(
        fc.subarray(ENTRIES, { minLength: 1 }),
        fc.oneof(ipv4, ipv6, special),
        (entries, address) => {
          const ours = compileTrust(entries, 'test')({ remoteAddress: address, unixSocket: false });
          const theirs = proxyAddr.compile(entries)(address, 0);
          expect(ours, `${address} in ${entries.join(',')}`).toBe(theirs);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('refuses the entries proxy-addr refuses, naming the option and the entry', () => {
    for (const bad of ['10.0.0.0/33', '10.0.0.0/0', '::1/129', 'nope', '10.0.0.0/255.0.255.0']) {
      expect(() => proxyAddr.compile([bad]), bad).toThrow(TypeError);
      expect(() => compileTrust([bad], 'trustedProxies'), bad).toThrow(
        new RegExp(
          `^trustedProxies: invalid (IP address|range on address): ${bad.replace(/[./]/g, '\\$&')} `,
        ),
      );
    }
  });

  it('adds * (every peer) and unix (a peer on a Unix socket, as the gateway says)', () => {
    expect(compileTrust('*', 'x')({ remoteAddress: '198.51.100.1' })).toBe(true);
    expect(compileTrust('unix', 'x')({ remoteAddress: undefined, unixSocket: true })).toBe(true);
    expect(compileTrust('loopback', 'x')({ remoteAddress: undefined, unixSocket: true })).toBe(
      false,
    );
    // No address and no Unix socket: a TCP client already gone — never trusted but under *.
    expect(compileTrust('unix', 'x')({ remoteAddress: undefined })).toBe(false);
    expect(compileTrust('unix, 10.0.0.0/8', 'x')({ remoteAddress: '10.2.3.4' })).toBe(true);
  });
});
