import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';

/**
 * The client address a per-address connection cap counts: the TCP peer, unless that peer is a
 * trusted proxy (TRUSTED_PROXIES), in which case X-Forwarded-For is read from the right and the
 * first address that is not itself a trusted proxy is the client. Entries left of it were written
 * by the client and may be forged, so they are never used. Without trusted proxies the header is
 * ignored entirely: anyone can send it.
 */
export class ClientAddressResolver {
  private readonly trusted = new BlockList();
  private readonly any: boolean;

  constructor(trustedProxies: readonly string[]) {
    for (const entry of trustedProxies) addEntry(this.trusted, entry);
    this.any = trustedProxies.length > 0;
  }

  resolve(req: IncomingMessage): string {
    const peer = normalize(req.socket.remoteAddress ?? '');
    if (!this.any || !this.isTrusted(peer)) return peer;
    const header = req.headers['x-forwarded-for'];
    // Several headers are joined in order, as proxies append to the last one.
    const hops = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',');
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = normalize(hops[i]!.trim());
      if (isIP(hop) === 0) return peer; // garbage from the client side: count the proxy's hop.
      if (!this.isTrusted(hop)) return hop;
    }
    return peer;
  }

  private isTrusted(address: string): boolean {
    const family = isIP(address);
    return family !== 0 && this.trusted.check(address, family === 4 ? 'ipv4' : 'ipv6');
  }
}

/** `::ffff:10.0.0.1` (a v4 peer on a dual-stack socket) is `10.0.0.1`. */
function normalize(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

function addEntry(list: BlockList, entry: string): void {
  const [ip, prefix] = entry.split('/');
  const family = isIP(ip ?? '') === 4 ? 'ipv4' : 'ipv6';
  if (prefix === undefined) list.addAddress(ip!, family);
  else list.addSubnet(ip!, Number(prefix), family);
}

/** Parses TRUSTED_PROXIES (`10.0.0.0/8,192.168.1.7,fd00::/8`); bad entries go to `problems`. */
export function parseTrustedProxies(raw: string | undefined, problems: string[]): string[] {
  if (raw === undefined) return [];
  const out: string[] = [];
  for (const entry of raw.split(',').map((s) => s.trim())) {
    if (entry === '') continue;
    const [ip, prefix, extra] = entry.split('/');
    const family = isIP(ip ?? '');
    const max = family === 4 ? 32 : 128;
    const prefixOk = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= max);
    if (family === 0 || !prefixOk || extra !== undefined) {
      problems.push(
        `TRUSTED_PROXIES entry ${JSON.stringify(entry)} is invalid: write IP addresses or CIDRs separated by commas, e.g. 10.0.0.0/8,192.168.1.7`,
      );
      continue;
    }
    out.push(entry);
  }
  return out;
}
