import ipaddr from 'ipaddr.js';
import { ConfigError } from '../shared/settings.js';

type Address = ipaddr.IPv4 | ipaddr.IPv6;
type Range = [Address, number];

/** The networks one source's webhooks may come from. */
export class SourceRanges {
  private constructor(
    readonly setting: string,
    private readonly ranges: readonly Range[],
  ) {}

  /**
   * Parses a comma-separated list of IPv4/IPv6 CIDRs (a bare address is one host).
   * Anything malformed stops the instance at start-up with the setting named: a typo must
   * not silently open (or close) the endpoint.
   */
  static parse(setting: string, value: string): SourceRanges {
    const entries = value.split(',').map((entry) => entry.trim()).filter(Boolean);
    if (entries.length === 0) throw new ConfigError(setting, 'lists no range; unset it to accept every address');
    return new SourceRanges(setting, entries.map((entry) => parseRange(setting, entry)));
  }

  /** True when `address` (as text) lies in one of the ranges; false for anything unparseable. */
  includes(address: string | undefined): boolean {
    const parsed = address === undefined ? undefined : parseAddress(address);
    if (!parsed) return false;
    return this.ranges.some(([network, bits]) => parsed.kind() === network.kind() && parsed.match(network, bits));
  }
}

function parseRange(setting: string, entry: string): Range {
  const [address = '', bits, ...rest] = entry.split('/');
  const prefix = bits === undefined ? undefined : Number(bits);
  const parsed = rest.length === 0 && (bits === undefined || /^\d{1,3}$/.test(bits)) ? parseAddress(address) : undefined;
  const written = parsed && ipaddr.parse(address);
  const max = written?.kind() === 'ipv4' ? 32 : 128;
  if (!parsed || !written || (prefix !== undefined && prefix > max)) {
    throw new ConfigError(setting, `"${entry}" is not an IPv4 or IPv6 CIDR range (e.g. 35.234.176.0/20 or 2600:1900::/28)`);
  }
  // An IPv6 client address arrives as IPv4 when it is IPv4-mapped (see parseAddress), so
  // a range written as ::ffff:a.b.c.d/n is kept as the IPv4 range it stands for.
  if (written.kind() === 'ipv6' && parsed.kind() === 'ipv4') return [parsed, Math.max(0, (prefix ?? 128) - 96)];
  return [parsed, prefix ?? max];
}

/**
 * An address in canonical form: IPv4 only as four decimal parts (ipaddr.js also reads
 * forms such as 0x7f.1 that no platform writes), IPv4-mapped IPv6 (::ffff:1.2.3.4, what a
 * dual-stack socket reports for an IPv4 peer) as the IPv4 address it carries.
 */
function parseAddress(text: string): Address | undefined {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return ipaddr.IPv4.parse(text);
  if (!ipaddr.IPv6.isValid(text)) return undefined;
  const address = ipaddr.IPv6.parse(text);
  return address.isIPv4MappedAddress() ? address.toIPv4Address() : address;
}

/**
 * The client's address as Cloud Run delivers it. Google's front end appends the address
 * it accepted the connection from as the last `X-Forwarded-For` entry; everything to its
 * left was written by the client (or by proxies in front) and proves nothing
 * (https://cloud.google.com/functions/docs/reference/headers: "X-Forwarded-For: clientIp,
 * proxy1Ip, proxy2Ip"; https://cloud.google.com/load-balancing/docs/https#x-forwarded-for_header:
 * a Google load balancer appends "<client-ip>,<load-balancer-ip>" to what it received).
 * So the client is the entry `trustedHops` places before the last: 0 when requests reach
 * Cloud Run directly, 1 behind a Google external Application Load Balancer. Without the
 * header (a local run), the socket's peer is the client. Undefined when the header has
 * fewer entries than the hops: the address cannot be known.
 */
export function clientAddress(forwardedFor: string | undefined, socketAddress: string | undefined, trustedHops: number): string | undefined {
  if (forwardedFor === undefined || forwardedFor.trim() === '') return trustedHops === 0 ? socketAddress : undefined;
  const entries = forwardedFor.split(',');
  const entry = entries[entries.length - 1 - trustedHops];
  return entry?.trim() || undefined;
}
