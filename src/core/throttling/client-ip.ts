import { DEFAULT_IPV6_SUBNET_PREFIX, normalizeIp } from '@nestjs/throttler';

/**
 * The rate-limit key of a client address, the one every IP-keyed limit uses. IPv4 as is; an
 * IPv4-mapped IPv6 address (`::ffff:1.2.3.4`, how a dual-stack socket reports IPv4 clients) as
 * its IPv4; any other IPv6 address by its /64, the smallest block one subscriber is given, so
 * walking through a /64 (2^64 addresses) does not buy fresh counters. `normalizeIp` is
 * @nestjs/throttler's own grouping, which its default tracker applies and ours must not lose.
 */
export function ipKey(ip: string): string {
  return `ip:${ipGroup(ip)}`;
}

/** The client address as every IP-keyed limit groups it (see `ipKey`), without the key's prefix. */
export function ipGroup(ip: string): string {
  return normalizeIp(ip, DEFAULT_IPV6_SUBNET_PREFIX);
}
