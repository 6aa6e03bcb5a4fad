// AWS Signature Version 4 check for the SSM emulator: recomputes the signature of a request from the
// known dummy secret and compares it with the Authorization header (as AWS would, minus clock skew).
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

const AUTH = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();

export type SigRequest = { method: string; url: string; headers: IncomingHttpHeaders; body: Buffer };
export type SigCheck = { ok: true; accessKeyId: string } | { ok: false; status: number; type: string; message: string };

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

/** Verify a request against the secrets the emulator knows (by access key id), for service `ssm` in `region`. */
export function verifySigV4(req: SigRequest, secrets: ReadonlyMap<string, string>, region: string): SigCheck {
  const m = AUTH.exec(String(req.headers.authorization ?? ''));
  if (!m) return { ok: false, status: 403, type: 'MissingAuthenticationTokenException', message: 'Request is missing a valid SigV4 Authorization header' };
  const [, keyId, date, reqRegion, service, signed, signature] = m as unknown as string[];
  const secret = secrets.get(keyId!);
  if (!secret) return { ok: false, status: 400, type: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' };
  if (service !== 'ssm' || reqRegion !== region) {
    return { ok: false, status: 403, type: 'InvalidSignatureException', message: `Credential should be scoped to ${region}/ssm, not ${reqRegion}/${service}` };
  }
  const amzDate = String(req.headers['x-amz-date'] ?? '');
  const names = signed!.split(';');
  const headers = canonicalHeaders(req.headers, names);
  if (!amzDate.startsWith(date!) || !names.includes('host') || headers === undefined) {
    return { ok: false, status: 403, type: 'IncompleteSignatureException', message: 'x-amz-date or a signed header is missing' };
  }
  const [path = '/', query = ''] = req.url.split('?');
  const payload = String(req.headers['x-amz-content-sha256'] ?? sha256(req.body));
  if (payload !== 'UNSIGNED-PAYLOAD' && payload !== sha256(req.body)) {
    return { ok: false, status: 400, type: 'InvalidSignatureException', message: 'x-amz-content-sha256 does not match the body' };
  }
  const canonical = [req.method, path, canonicalQuery(query), headers, signed, payload].join('\n');
  const scope = `${date}/${reqRegion}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date!), reqRegion!), service!), 'aws4_request');
  const expected = Buffer.from(hmac(key, toSign).toString('hex'));
  if (!timingSafeEqual(expected, Buffer.from(signature!))) {
    return { ok: false, status: 403, type: 'InvalidSignatureException', message: 'The request signature we calculated does not match the signature you provided.' };
  }
  return { ok: true, accessKeyId: keyId! };
}
