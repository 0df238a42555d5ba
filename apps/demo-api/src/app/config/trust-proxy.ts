import { isIP } from 'node:net';

/**
 * Which proxies may name the client in `X-Forwarded-For`, in the form Express's
 * `trust proxy` setting takes (proxy-addr): `false` (none: the socket's peer is the
 * client), a number of hops in front of the app, or the proxies' addresses and CIDRs.
 */
export type TrustProxy = false | number | string[];

/** What TRUST_PROXY accepts, for the boot error. */
export const TRUST_PROXY_HINT =
  'TRUST_PROXY must be false, a number of proxy hops such as 1, or comma-separated proxy addresses or CIDRs ' +
  'such as 10.0.0.0/8,::1';

const MAX_HOPS = 99;

/** One proxy address or CIDR (`10.0.0.0/8`, `::1`, `fd00::/8`), as proxy-addr parses it. */
function isAddressOrCidr(entry: string): boolean {
  const slash = entry.indexOf('/');
  const address = slash < 0 ? entry : entry.slice(0, slash);
  const version = isIP(address);
  if (version === 0) return false;
  if (slash < 0) return true;
  const prefix = entry.slice(slash + 1);
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (version === 4 ? 32 : 128);
}

/**
 * Parses TRUST_PROXY; undefined when it is malformed. `true` is refused on purpose: it
 * trusts every hop, so any client could name itself in `X-Forwarded-For` and escape
 * per-address limits (name the proxies, or count the hops, instead).
 */
export function parseTrustProxy(raw: string | undefined): TrustProxy | undefined {
  if (raw === undefined || raw === 'false') return false;
  if (/^\d+$/.test(raw)) {
    const hops = Number(raw);
    if (hops > MAX_HOPS) return undefined;
    return hops === 0 ? false : hops;
  }
  const entries = raw.split(',').map((entry) => entry.trim());
  return entries.every(isAddressOrCidr) ? entries : undefined;
}
