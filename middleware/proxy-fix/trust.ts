/**
 * Which peers are proxies of ours: a list of addresses and CIDR ranges compiled once by
 * proxy-addr (Express's own `trust proxy`), plus the two names uvicorn's
 * `--forwarded-allow-ips` users expect: `*` (every peer) and `unix` (a peer on a Unix-domain
 * socket, reachable only through the file system).
 *
 * Whether a peer is on a Unix socket is what the gateway says (`environ.unixSocket`, from its
 * listener or the front end), never a guess from a missing address: a TCP client that resets
 * its connection right after its request has no address by the time it is read, and is as
 * untrusted as proxy-addr makes any peer without one.
 */
import proxyAddr from 'proxy-addr';
import type { Environ } from '../../src/types.js';

/** The direct peer, as a gateway describes it: an {@link Environ} is one. */
export type Peer = Pick<Environ, 'remoteAddress' | 'unixSocket'>;

/** Whether a peer (its address, and whether it came over a Unix socket) is trusted. */
export type PeerTrust = (peer: Peer) => boolean;

/** The default: loopback (127.0.0.0/8, ::1, and IPv4-mapped 127.x) and Unix sockets. */
export const DEFAULT_TRUSTED_PROXIES: readonly string[] = ['loopback', 'unix'];

/**
 * Compiles `entries` — IPv4/IPv6 addresses, CIDR ranges (`10.0.0.0/8`), proxy-addr's names
 * (`loopback`, `linklocal`, `uniquelocal`), `unix`, `*` — into a check. A peer on a Unix
 * socket is trusted when `unix` (or `*`) is listed; any other peer by its address, and a peer
 * without one only under `*`.
 *
 * @param option - The option's name, for the error message.
 * @throws TypeError naming `option` and the entry that is not an address or range.
 */
export function compileTrust(entries: string | readonly string[], option: string): PeerTrust {
  const list = (typeof entries === 'string' ? entries.split(',') : [...entries]).map((entry) =>
    entry.trim(),
  );
  if (list.includes('*')) return () => true;
  const unix = list.includes('unix');
  const addresses = list.filter((entry) => entry !== 'unix' && entry !== '');
  let trusted: (address: string, hop: number) => boolean = () => false;
  if (addresses.length > 0) {
    try {
      trusted = proxyAddr.compile(addresses);
    } catch (error) {
      throw new TypeError(`${option}: ${(error as Error).message} (in ${JSON.stringify(list)})`);
    }
  }
  return (peer) => {
    if (peer.unixSocket === true) return unix;
    const address = peer.remoteAddress;
    return address === undefined || address === '' ? false : trusted(address, 0);
  };
}
