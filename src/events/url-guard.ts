import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/**
 * Request forgery: a webhook URL must not make this server call into its own network. Unless private
 * targets are allowed (local setups, tests), a URL must be https and every address its host resolves
 * to must be public; delivery checks again on every connection, against DNS rebinding.
 */

const blocked = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], // "this" network
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, the cloud metadata services among them
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved and broadcast
] as const) {
  blocked.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7], // unique local, fd00:ec2::254 (a metadata address) among them
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local
  ['ff00::', 8], // multicast
  ['2001:db8::', 32], // documentation
] as const) {
  blocked.addSubnet(net, prefix, 'ipv6');
}

/** An IPv4 address carried inside an IPv6 one (mapped, or NAT64), which must be judged as IPv4. */
function embeddedIpv4(address: string): string | undefined {
  const lower = address.toLowerCase();
  const dotted = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted) return dotted[1];
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (!hex) return undefined;
  const high = Number.parseInt(hex[1] as string, 16);
  const low = Number.parseInt(hex[2] as string, 16);
  return [high >> 8, high & 255, low >> 8, low & 255].join('.');
}

/** True when the address is loopback, private, link-local, metadata, multicast or reserved. */
export function isPrivateAddress(address: string): boolean {
  const v4 = embeddedIpv4(address);
  if (v4) return blocked.check(v4, 'ipv4');
  const family = isIP(address);
  if (family === 4) return blocked.check(address, 'ipv4');
  if (family === 6) return blocked.check(address, 'ipv6');
  return true;
}

export class UnsafeUrl extends Error {}

/** The URL, parsed, if its form may be used; throws UnsafeUrl saying why not. */
export function parseWebhookUrl(text: string, allowPrivate: boolean): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UnsafeUrl('url must be an absolute URL');
  }
  if (url.protocol !== 'https:' && !(allowPrivate && url.protocol === 'http:')) {
    throw new UnsafeUrl(
      allowPrivate
        ? 'url must be http or https'
        : 'url must be https (LOYALTY_WEBHOOK_ALLOW_PRIVATE=1 allows http)',
    );
  }
  if (url.username || url.password) throw new UnsafeUrl('url must not hold a user name or password');
  if (url.hash) throw new UnsafeUrl('url must not hold a fragment');
  return url;
}

function hostOf(url: URL): string {
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
}

/**
 * The addresses the URL's host resolves to, all of them checked; throws UnsafeUrl when one is not
 * public (unless private targets are allowed) or when the host does not resolve.
 */
export async function resolveSafely(
  hostname: string,
  allowPrivate: boolean,
): Promise<{ address: string; family: number }[]> {
  const host = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
  const family = isIP(host);
  const addresses = family
    ? [{ address: host, family }]
    : await lookup(host, { all: true, verbatim: true }).catch((err: Error) => {
        throw new UnsafeUrl(
          `the host of url does not resolve (${(err as { code?: string }).code ?? err.message})`,
        );
      });
  if (addresses.length === 0) throw new UnsafeUrl('the host of url does not resolve');
  if (!allowPrivate) {
    const bad = addresses.find((a) => isPrivateAddress(a.address));
    if (bad) throw new UnsafeUrl(`url resolves to ${bad.address}, a loopback, private or link-local address`);
  }
  return addresses;
}

/**
 * Checks a URL given to the management API. A host that does not resolve now is accepted (DNS may be
 * down for a moment); delivery checks it again before every connection.
 */
export async function checkWebhookUrl(text: string, allowPrivate: boolean): Promise<URL> {
  const url = parseWebhookUrl(text, allowPrivate);
  if (allowPrivate) return url;
  const host = hostOf(url);
  if (isIP(host)) {
    if (isPrivateAddress(host))
      throw new UnsafeUrl(`url names ${host}, a loopback, private or link-local address`);
    return url;
  }
  if (host === 'localhost' || host.endsWith('.localhost')) throw new UnsafeUrl('url names a loopback host');
  try {
    await resolveSafely(host, false);
  } catch (err) {
    if (err instanceof UnsafeUrl && !/does not resolve/.test(err.message)) throw err;
  }
  return url;
}
