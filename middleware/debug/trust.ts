/**
 * Who may see a traceback: the `Host` the request was made to must be a loopback name, or one
 * the developer listed. A page served under any other name could be a DNS-rebinding attacker's
 * (Werkzeug's CVE-2024-34069), and gets the plain `errors()` page instead.
 */

/**
 * Whether the request's host (from its URL, which the gateway built from `Host`) is
 * `localhost`, a `*.localhost` name, `127.0.0.1`, `[::1]`, or one of `hosts`.
 *
 * @param hosts - Extra trusted host names, lower case, without a port.
 */
export function isTrustedHost(request: Request, hosts: ReadonlySet<string>): boolean {
  const host = new URL(request.url).hostname.toLowerCase();
  return (
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    host === '127.0.0.1' ||
    host === '[::1]' ||
    hosts.has(host)
  );
}
