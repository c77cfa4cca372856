import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

/**
 * Where an audit sink may send (A5), guarded against server-side request forgery: a sink is
 * configured by an org admin but sends from inside the installation's network, so by default
 * it may not reach loopback, private, link-local, unspecified or other non-public addresses
 * (the cloud metadata service at 169.254.169.254 among them). The check runs on the resolved
 * addresses, at creation and again before every delivery, and the connection then goes to the
 * address that was checked (no second lookup a rebinding DNS server could answer differently).
 */

/** Why a destination was refused; the message is user-safe (no credentials, no address list). */
export class DestinationRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DestinationRefusedError';
  }
}

/** A destination after the guard: the address to connect to and the name to verify TLS against. */
export interface ResolvedDestination {
  /** The IP address that was checked; connect to this, not to the host name. */
  address: string;
  family: 4 | 6;
  /** The host name for TLS SNI and certificate checks; undefined when the host is an IP literal. */
  servername: string | undefined;
}

// [first address as a 32-bit number, prefix length]
const BLOCKED_V4: readonly (readonly [string, number])[] = [
  ['0.0.0.0', 8], // "this network", including the unspecified address (RFC 1122)
  ['10.0.0.0', 8], // private (RFC 1918)
  ['100.64.0.0', 10], // carrier-grade NAT (RFC 6598): not public either
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, cloud metadata services (RFC 3927)
  ['172.16.0.0', 12], // private (RFC 1918)
  ['192.0.0.0', 24], // IETF protocol assignments (RFC 6890)
  ['192.168.0.0', 16], // private (RFC 1918)
  ['198.18.0.0', 15], // benchmarking (RFC 2544)
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, and the limited broadcast address
];

function v4ToNumber(address: string): number {
  return address.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

function inV4Block(address: string, [base, prefix]: readonly [string, number]): boolean {
  const size = 2 ** (32 - prefix);
  return Math.floor(v4ToNumber(address) / size) === Math.floor(v4ToNumber(base) / size);
}

/** The eight 16-bit groups of an IPv6 address (zone id dropped, embedded IPv4 expanded). */
function v6Groups(address: string): number[] {
  let a = address.toLowerCase();
  const zone = a.indexOf('%');
  if (zone >= 0) a = a.slice(0, zone);
  // A trailing dotted IPv4 part (::ffff:1.2.3.4) is two groups.
  const v4 = /(\d{1,3}(?:\.\d{1,3}){3})$/.exec(a);
  if (v4?.[1]) {
    const n = v4ToNumber(v4[1]);
    a = `${a.slice(0, v4.index)}${Math.floor(n / 65536).toString(16)}:${(n % 65536).toString(16)}`;
  }
  const [head = '', tail] = a.split('::') as [string, string | undefined];
  const parse = (s: string) => (s === '' ? [] : s.split(':').map((g) => Number.parseInt(g, 16)));
  const h = parse(head);
  if (tail === undefined) return h;
  const t = parse(tail);
  return [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
}

/**
 * True when `address` (an IP literal) is not a public unicast address: loopback, private
 * (RFC 1918, fc00::/7), link-local (169.254/16, fe80::/10), unspecified, carrier-grade NAT,
 * multicast or reserved. IPv6 forms that embed an IPv4 address (mapped, compatible, NAT64,
 * 6to4) are judged by that address. Anything that is not an IP literal counts as blocked.
 */
export function isNonPublicAddress(address: string): boolean {
  const family = isIP(address.split('%')[0] ?? '');
  if (family === 4) return BLOCKED_V4.some((block) => inV4Block(address, block));
  if (family !== 6) return true;
  const g = v6Groups(address);
  if (g.length !== 8 || g.some((x) => !Number.isInteger(x) || x < 0 || x > 0xffff)) return true;
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0] = g;
  const embedded = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  const first80Zero = g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0;
  if (first80Zero && g5 === 0 && g6 === 0 && (g7 === 0 || g7 === 1)) return true; // :: and ::1
  if (first80Zero && (g5 === 0xffff || g5 === 0)) return isNonPublicAddress(embedded(g6, g7)); // mapped / compatible
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) {
    return isNonPublicAddress(embedded(g6, g7)); // NAT64 (RFC 6052)
  }
  if (g0 === 0x2002) return isNonPublicAddress(embedded(g1, g2)); // 6to4 (RFC 3056)
  if ((g0 & 0xfe00) === 0xfc00) return true; // unique local fc00::/7
  if ((g0 & 0xffc0) === 0xfe80) return true; // link-local fe80::/10
  if ((g0 & 0xffc0) === 0xfec0) return true; // site-local fec0::/10 (deprecated, still private)
  if ((g0 & 0xff00) === 0xff00) return true; // multicast
  return false;
}

/** A host as written in a URL or a syslog config, without IPv6 brackets. */
function bareHost(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/**
 * Resolves `host` and refuses it when any of its addresses is not public, unless
 * `allowPrivateNetworks`. All addresses are checked (a name with one public and one private
 * record is refused); the first is returned to connect to.
 *
 * @throws DestinationRefusedError when the host does not resolve or is not allowed.
 * @example
 * const dest = await resolveDestination('siem.example.com', { allowPrivateNetworks: false });
 * tls.connect({ host: dest.address, servername: dest.servername, port: 6514 });
 */
export async function resolveDestination(
  host: string,
  opts: { allowPrivateNetworks: boolean },
): Promise<ResolvedDestination> {
  const name = bareHost(host);
  const literal = isIP(name);
  let addresses: { address: string; family: number }[];
  if (literal !== 0) {
    addresses = [{ address: name, family: literal }];
  } else {
    try {
      addresses = await lookup(name, { all: true, verbatim: true });
    } catch {
      throw new DestinationRefusedError('The destination host name could not be resolved.');
    }
    if (addresses.length === 0) throw new DestinationRefusedError('The destination host name could not be resolved.');
  }
  if (!opts.allowPrivateNetworks && addresses.some((a) => isNonPublicAddress(a.address))) {
    throw new DestinationRefusedError(
      'The destination is on a loopback, private, link-local or otherwise non-public network, which audit sinks may not reach.',
    );
  }
  const [first] = addresses as [{ address: string; family: number }];
  return { address: first.address, family: first.family === 6 ? 6 : 4, servername: literal === 0 ? name : undefined };
}
