/**
 * Which peers are proxies of ours: a list of addresses and CIDR ranges, compiled once and
 * matched with ipaddr.js (the rules of Express's `trust proxy`, proxy-addr's: its names
 * `loopback`, `linklocal`, `uniquelocal`, netmasks, IPv4-mapped IPv6 peers matching IPv4
 * ranges), plus the two names uvicorn's `--forwarded-allow-ips` users expect: `*` (every peer)
 * and `unix` (a peer on a Unix-domain socket, reachable only through the file system).
 *
 * Whether a peer is on a Unix socket is what the gateway says (`environ.unixSocket`, from its
 * listener or the front end), never a guess from a missing address: a TCP client that resets
 * its connection right after its request has no address by the time it is read, and is as
 * untrusted as proxy-addr makes any peer without one.
 */
import ipaddr from 'ipaddr.js';
import { ConfigError } from '../../src/_internal/config-error.js';
import type { Environ } from '../../src/types.js';

/** The direct peer, as a gateway describes it: an {@link Environ} is one. */
export type Peer = Pick<Environ, 'remoteAddress' | 'unixSocket'>;

/** Whether a peer (its address, and whether it came over a Unix socket) is trusted. */
export type PeerTrust = (peer: Peer) => boolean;

/** The default: loopback (127.0.0.0/8, ::1, and IPv4-mapped 127.x) and Unix sockets. */
export const DEFAULT_TRUSTED_PROXIES: readonly string[] = ['loopback', 'unix'];

/** The named ranges (RFC 6890's special-purpose blocks). */
const NAMED: Readonly<Record<string, readonly string[]>> = {
  loopback: ['127.0.0.1/8', '::1/128'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
  uniquelocal: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
};

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

/**
 * Compiles `entries` — IPv4/IPv6 addresses, CIDR ranges (`10.0.0.0/8`, `10.0.0.0/255.0.0.0`),
 * the names `loopback`, `linklocal`, `uniquelocal`, `unix`, `*` — into a check. A peer on a
 * Unix socket is trusted when `unix` (or `*`) is listed; any other peer by its address, and a
 * peer without one only under `*`.
 *
 * @param option - The option's name, for the error message.
 * @throws ConfigError naming `option` and the entry that is not an address or range.
 */
export function compileTrust(entries: string | readonly string[], option: string): PeerTrust {
  const list = (typeof entries === 'string' ? entries.split(',') : [...entries]).map((entry) =>
    entry.trim(),
  );
  if (list.includes('*')) return () => true;
  const unix = list.includes('unix');
  let ranges: Range[];
  try {
    ranges = list
      .filter((entry) => entry !== 'unix' && entry !== '')
      .flatMap((entry) => NAMED[entry] ?? [entry])
      .map(parseRange);
  } catch (error) {
    throw new ConfigError(`${option}: ${(error as Error).message} (in ${JSON.stringify(list)})`);
  }
  return (peer) => {
    if (peer.unixSocket === true) return unix;
    const address = peer.remoteAddress;
    return address === undefined || address === '' ? false : inRanges(address, ranges);
  };
}

/**
 * `address` or `address/bits` or `address/netmask` as a range; an IPv4-mapped IPv6 address
 * (`::ffff:10.0.0.0/104`) becomes the IPv4 range it maps.
 * @throws TypeError for an address or a prefix length that is not one.
 */
function parseRange(entry: string): Range {
  const slash = entry.indexOf('/');
  const text = slash === -1 ? entry : entry.slice(0, slash);
  if (!ipaddr.isValid(text)) throw new TypeError(`invalid IP address: ${entry}`);
  const parsed = ipaddr.parse(text);
  const mapped = parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress();
  const address = mapped ? (parsed as ipaddr.IPv6).toIPv4Address() : parsed;
  const max = address.kind() === 'ipv6' ? 128 : 32;
  const suffix = slash === -1 ? undefined : entry.slice(slash + 1);
  let bits: number | null = max;
  if (suffix !== undefined && /^[0-9]+$/.test(suffix)) {
    bits = Number(suffix) - (mapped ? 96 : 0);
  } else if (suffix !== undefined) {
    const netmask = address.kind() === 'ipv4' && ipaddr.IPv4.isValid(suffix);
    bits = netmask ? ipaddr.IPv4.parse(suffix).prefixLengthFromSubnetMask() : null;
  }
  if (bits === null || bits <= 0 || bits > max) {
    throw new TypeError(`invalid range on address: ${entry}`);
  }
  return [address, bits];
}

/**
 * Whether `address` is in one of `ranges`: an IPv4-mapped IPv6 peer counts as its IPv4, and
 * matches IPv4 ranges only (as an IPv4 peer does); an IPv6 peer matches IPv6 ranges.
 */
function inRanges(address: string, ranges: readonly Range[]): boolean {
  let ip: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    ip = ipaddr.process(address); // parses once; throws for what is not an address
  } catch {
    return false;
  }
  const kind = ip.kind();
  // Same kind, so one signature fits: match(range, bits) of IPv4 or of IPv6.
  const match = ip.match as (this: typeof ip, range: typeof ip, bits: number) => boolean;
  return ranges.some(([range, bits]) => range.kind() === kind && match.call(ip, range, bits));
}
