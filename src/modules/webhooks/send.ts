import { lookup } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/** What one POST to a receiver did. */
export interface SendResult {
  status: number | null;
  durationMs: number;
  error: string | null;
  /** Seconds the receiver asked to wait (Retry-After), when it did. */
  retryAfter?: number;
}

/** Addresses a webhook never reaches unless private networks are allowed: loopback, private, link-local (cloud metadata), unspecified, multicast. */
const PRIVATE = new BlockList();
for (const [net, prefix] of [['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.168.0.0', 16], ['224.0.0.0', 4], ['240.0.0.0', 4]] as const) PRIVATE.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8], ['::ffff:0:0', 96]] as const) PRIVATE.addSubnet(net, prefix, 'ipv6');

export const isPrivateAddress = (address: string) => PRIVATE.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');

/** A DNS lookup that refuses private addresses: checked on the address actually connected to, so DNS cannot point around it. */
const guardedLookup =
  (allowPrivate: boolean): LookupFunction =>
  (hostname, options, callback) =>
    lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const list = addresses as unknown as { address: string; family: number }[];
      const refused = allowPrivate ? undefined : list.find((a) => isPrivateAddress(a.address));
      if (refused) return callback(Object.assign(new Error(`${hostname} resolves to ${refused.address}, a private address (WEBHOOK_ALLOW_PRIVATE_NETWORKS)`), { code: 'EPRIVATE' }), '', 0);
      // (net asks for all addresses when it tries several families; http for one)
      if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: typeof list) => void)(null, list);
      callback(null, list[0].address, list[0].family);
    });

const MAX_RESPONSE_BYTES = 64 * 1024;

/**
 * POSTs a body to a receiver: at most `timeoutMs` in all, no redirect
 * followed, at most 64 KiB of the answer read. Never throws.
 */
export function postWebhook(url: string, body: string, headers: Record<string, string>, options: { timeoutMs: number; allowPrivate: boolean }): Promise<SendResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: Omit<SendResult, 'durationMs'>) => {
      if (settled) return;
      settled = true;
      resolve({ ...r, durationMs: Math.round(performance.now() - started) });
    };
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      return done({ status: null, error: 'not a URL' });
    }
    const literal = isIP(target.hostname.replace(/^\[|\]$/g, ''));
    if (literal && !options.allowPrivate && isPrivateAddress(target.hostname.replace(/^\[|\]$/g, ''))) return done({ status: null, error: `${target.hostname} is a private address (WEBHOOK_ALLOW_PRIVATE_NETWORKS)` });
    const client = target.protocol === 'https:' ? https : http;
    const req = client.request(
      target,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'user-agent': 'Loyalist-Webhooks/1', ...headers },
        lookup: guardedLookup(options.allowPrivate),
        timeout: options.timeoutMs,
      },
      (res) => {
        let read = 0;
        res.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > MAX_RESPONSE_BYTES) res.destroy();
        });
        const finish = () => {
          const retryAfter = Number(res.headers['retry-after']);
          done({ status: res.statusCode ?? null, error: null, ...(Number.isFinite(retryAfter) && retryAfter >= 0 ? { retryAfter } : {}) });
        };
        res.on('end', finish);
        res.on('close', finish);
        res.on('error', finish);
      },
    );
    const timer = setTimeout(() => {
      req.destroy(new Error(`no answer within ${options.timeoutMs} ms`));
    }, options.timeoutMs);
    req.on('timeout', () => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
    req.on('error', (err) => done({ status: null, error: err.message }));
    req.on('close', () => clearTimeout(timer));
    req.end(body);
  });
}
