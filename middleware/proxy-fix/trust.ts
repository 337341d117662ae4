/**
 * Which peers are proxies of ours: a list of addresses and CIDR ranges compiled once by
 * proxy-addr (Express's own `trust proxy`), plus the two names uvicorn's
 * `--forwarded-allow-ips` users expect: `*` (every peer) and `unix` (a peer with no IP
 * address: a Unix socket, reachable only through the file system).
 */
import proxyAddr from 'proxy-addr';

/** Whether a peer, by the address the gateway gave (`undefined` for a Unix socket), is trusted. */
export type PeerTrust = (address: string | undefined) => boolean;

/** The default: loopback (127.0.0.0/8, ::1, and IPv4-mapped 127.x) and Unix sockets. */
export const DEFAULT_TRUSTED_PROXIES: readonly string[] = ['loopback', 'unix'];

/**
 * Compiles `entries` — IPv4/IPv6 addresses, CIDR ranges (`10.0.0.0/8`), proxy-addr's names
 * (`loopback`, `linklocal`, `uniquelocal`), `unix`, `*` — into a check.
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
  return (address) => (address === undefined || address === '' ? unix : trusted(address, 0));
}
