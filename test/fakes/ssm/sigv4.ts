// AWS Signature Version 4 check for the SSM emulator: recomputes the signature of a request from the
// known dummy secret and compares it with the Authorization header (as AWS would, minus clock skew).
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

const AUTH = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();

export type Credentials = { readonly accessKeyId: string; readonly secretAccessKey: string };

function canonicalQuery(query: string): string {
  if (!query) return '';
  return query.split('&').map((p) => p.split('=')).sort(([a = ''], [b = '']) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v = '']) => `${k}=${v}`).join('&');
}

function canonicalHeaders(headers: IncomingHttpHeaders, names: string[]): string | undefined {
  let out = '';
  for (const name of names) {
    const v = headers[name];
    if (v === undefined) return undefined;
    out += `${name}:${(Array.isArray(v) ? v.join(',') : v).trim().replace(/\s+/g, ' ')}\n`;
  }
  return out;
}

/** Recompute the SigV4 signature of a request (service `ssm`) with the known secret; undefined when it matches,
 *  else why not. `url` is the request path with its query string. */
export function verifySigV4(method: string, url: string, headers: IncomingHttpHeaders, body: Buffer, creds: Credentials): string | undefined {
  const m = AUTH.exec(String(headers.authorization ?? ''));
  if (!m) return 'request is missing a valid AWS4-HMAC-SHA256 Authorization header';
  const [, keyId, date, region, service, signed, signature] = m as unknown as string[];
  if (keyId !== creds.accessKeyId) return 'The security token included in the request is invalid.';
  if (service !== 'ssm') return `credential scope names service ${service}, not ssm`;
  const amzDate = String(headers['x-amz-date'] ?? '');
  const names = signed!.split(';');
  const canon = canonicalHeaders(headers, names);
  if (!amzDate.startsWith(date!) || !names.includes('host') || canon === undefined) return 'x-amz-date, host or a signed header is missing';
  const [path = '/', query = ''] = url.split('?');
  const payload = String(headers['x-amz-content-sha256'] ?? sha256(body));
  if (payload !== 'UNSIGNED-PAYLOAD' && payload !== sha256(body)) return 'x-amz-content-sha256 does not match the body';
  const canonical = [method, path, canonicalQuery(query), canon, signed, payload].join('\n');
  const toSign = ['AWS4-HMAC-SHA256', amzDate, `${date}/${region}/${service}/aws4_request`, sha256(canonical)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${creds.secretAccessKey}`, date!), region!), service!), 'aws4_request');
  const expected = Buffer.from(hmac(key, toSign).toString('hex'));
  if (!timingSafeEqual(expected, Buffer.from(signature!))) return 'The request signature we calculated does not match the signature you provided.';
  return undefined;
}
